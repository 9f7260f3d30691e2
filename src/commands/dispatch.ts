// The command table and the one place a command is checked and routed: unknown
// command, arity, authentication, MULTI queueing, then local / read (after a
// linearizable read barrier) / write (proposed to the log, answered when applied).
// Per client, a read waits for the client's own earlier writes (read-your-writes).

import type { Reply } from '../../protocol/index.ts';
import type { Session } from '../net/session.ts';
import { NoReply, type ExecResult, type Executor } from '../net/types.ts';
import { encodePayload } from '../state/entry_codec.ts';
import { lower } from './args.ts';
import { touchedKeys, type Touched } from './apply.ts';
import { commandCommand } from './command_info.ts';
import { connectionCommands, replyFilter } from './connection.ts';
import { errors, isRedisError, type RedisError } from './errors.ts';
import type { Gateway } from './gateway.ts';
import { keyCommands } from './keys.ts';
import type { ServerContext } from './server_context.ts';
import { serverCommands } from './server_cmds.ts';
import { raftCommands } from './raft_admin.ts';
import { clusterCommands } from './cluster_cmds.ts';
import { PubSubHub, SUBSCRIBED_MODE_COMMANDS, pubsubCommands } from './pubsub.ts';
import { sentinelCommands } from './sentinel.ts';
import { arityOk, type CommandSpec, type LocalCtx, type LocalResult } from './spec.ts';
import { stringCommands } from './strings.ts';
import { stateOf, type CommandSessionState } from './session_state.ts';
import { noObservers, type Observers } from '../observe.ts';
import { streamCommands } from './stream_family.ts';
import { abortTransaction, beginExec, flagTransaction, inMulti, maybeQueue, transactionCommands, type TxDeps } from './transactions.ts';

const noop = (): void => {};

/** How a command orders against its session's others: see #ordered. */
type GateKind = 'read' | 'proposed' | 'other';

/** Local commands that wait (for a read point or the log) and so take their turn among keyspace commands. */
const ASYNC_LOCALS = new Set(['watch', 'save', 'xread', 'xreadgroup', 'raft']);

export interface CommandStat {
  calls: number;
  usec: number;
  failed: number;
}

export class CommandTable {
  readonly #byName = new Map<string, CommandSpec>();

  add(specs: readonly CommandSpec[]): void {
    for (const s of specs) {
      if (this.#byName.has(s.name)) throw new Error(`command ${s.name} defined twice`);
      this.#byName.set(s.name, s);
    }
  }
  get(name: string): CommandSpec | undefined {
    return this.#byName.get(name);
  }
  all(): CommandSpec[] {
    return [...this.#byName.values()];
  }
}

export class Dispatcher implements Executor {
  readonly table = new CommandTable();
  /** Pub/Sub of this node (also used for Sentinel's +switch-master). */
  readonly pubsub = new PubSubHub();
  readonly stats = new Map<string, CommandStat>();
  readonly #gateway: Gateway;
  readonly #server: ServerContext;
  readonly #txDeps: TxDeps;

  constructor(gateway: Gateway, server: ServerContext, extra: readonly CommandSpec[] = []) {
    this.#gateway = gateway;
    this.#server = server;
    this.table.add(stringCommands);
    this.table.add(keyCommands);
    this.table.add(connectionCommands);
    this.table.add(serverCommands);
    this.table.add(raftCommands);
    this.table.add(clusterCommands);
    this.table.add(pubsubCommands(this.pubsub));
    this.table.add(sentinelCommands);
    const lastWrite = (s: Session): number => stateOf(s).lastWrite;
    const noteWrite = (s: Session, i: number): void => {
      const st = stateOf(s);
      st.lastWrite = Math.max(i, st.lastWrite);
    };
    this.table.add(streamCommands({ gateway, lastWrite, noteWrite }));
    this.#txDeps = { gateway, runLocal: (ctx, spec, args) => this.#runLocal(ctx, spec, args), lastWrite };
    this.table.add(transactionCommands(this.#txDeps));
    this.table.add([commandCommand(() => this.table.all(), (n) => this.table.get(n))]);
    this.table.add(extra);
  }

  lookup = (name: string): CommandSpec | undefined => this.table.get(name);

  sessionClosed(session: Session): void {
    this.pubsub.drop(session);
    this.#gateway.sessionClosed?.(session);
  }

  execute(session: Session, args: Buffer[], name: string = lower(args[0]!)): ExecResult | Promise<ExecResult> {
    // Internal commands (`raftis.*`) are proposed by raftis itself; clients cannot call them.
    const spec = name.includes('.') ? undefined : this.table.get(name);
    const isClientReply = name === 'client' && args.length === 3 && lower(args[1]!) === 'reply';
    const send = isClientReply ? 'send' : replyFilter(session);
    const started = performance.now();
    const result = this.#dispatch(session, spec, args);
    if (result instanceof Promise) return result.then((r) => this.#account(spec, started, send, r));
    return this.#account(spec, started, send, result);
  }

  #account(spec: CommandSpec | undefined, started: number, send: 'send' | 'suppress', r: ExecResult): ExecResult {
    if (spec !== undefined) this.#count(spec.name, performance.now() - started, r);
    return send === 'send' ? r : NoReply;
  }

  /**
   * Per client, a keyspace command starts only after the ones before it took effect: a
   * write once proposed (the log orders it), a read or an asynchronous local command
   * (WATCH, EXEC, SAVE) once it has run. So a pipelined read never sees a write the same
   * client sent after it, and a read waits for an earlier write held behind a read.
   * One exception: a read behind nothing but reads starts at once, so its read point is
   * requested in the same round as theirs, and runs once they have run (`after`): a
   * pipeline of GETs on a cluster costs one ReadIndex round, not one per GET.
   * Synchronous local commands (SELECT, HELLO, CLIENT...) run at once; keyspace
   * commands capture the session's db when they arrive, so ordering is preserved.
   */
  #ordered(
    session: Session,
    kind: GateKind,
    run: (after: Promise<void> | undefined) => ExecResult | Promise<ExecResult>,
  ): ExecResult | Promise<ExecResult> {
    const st = stateOf(session);
    const prev = st.gate;
    const prevReads = prev !== undefined && st.gateIsReads;
    // A read behind reads only starts now (its read point is requested with theirs, so a
    // pipeline of reads shares one ReadIndex round); it still runs after them (`after`).
    const startNow = prev === undefined || (kind === 'read' && prevReads);
    const result = startNow ? run(prev) : prev.then(() => run(undefined));
    let gate: Promise<void> | undefined;
    if (result instanceof Promise && kind !== 'proposed') gate = result.then(noop, noop);
    else if (prev) gate = prev.then(noop);
    if (gate) this.#setGate(st, gate, kind === 'read' && (prev === undefined || prevReads));
    return result;
  }

  /** Later commands of the client wait for `gate` (and it is forgotten once it settled). */
  #setGate(st: CommandSessionState, gate: Promise<void>, reads: boolean): void {
    st.gate = gate;
    st.gateIsReads = reads;
    void gate.then(() => {
      if (st.gate === gate) st.gate = undefined;
    });
  }

  #dispatch(session: Session, spec: CommandSpec | undefined, args: readonly Buffer[]): ExecResult | Promise<ExecResult> {
    if (spec === undefined) {
      session.lastCommand = 'NULL';
      flagTransaction(session);
      return errors.unknownCommand(args[0]!, args.slice(1)).reply();
    }
    if (!arityOk(spec.arity, args.length)) {
      if (spec.name === 'exec' && inMulti(session)) {
        abortTransaction(session);
        return errors.custom(`EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command`).reply();
      }
      flagTransaction(session);
      return errors.wrongArity(spec.name).reply();
    }
    if (this.#server.requirePass !== null && !session.authenticated && !spec.flags.includes('no_auth')) {
      flagTransaction(session);
      return errors.noAuth().reply();
    }
    if (this.pubsub.inSubscribedMode(session)) {
      if (!SUBSCRIBED_MODE_COMMANDS.has(spec.name)) {
        return errors.custom(`ERR Can't execute '${spec.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`).reply();
      }
      if (spec.name === 'ping') {
        // In RESP2 subscribed mode PING answers as a message: ["pong", message].
        return { type: 'array', items: [{ type: 'bulk', value: 'pong' }, { type: 'bulk', value: args[1] ?? '' }] };
      }
    }
    const queued = maybeQueue(session, spec, args);
    if (queued) return queued;
    const db = session.db;
    switch (spec.exec.kind) {
      case 'local':
        if (spec.name === 'exec') {
          const body = beginExec({ session, server: this.#server }, this.#txDeps);
          return typeof body === 'function' ? this.#ordered(session, 'other', body) : body;
        }
        if (spec.name === 'reset') this.pubsub.drop(session);
        if (!ASYNC_LOCALS.has(spec.name)) return this.#runLocal({ session, server: this.#server }, spec, args);
        return this.#ordered(session, 'other', () => this.#runLocal({ session, server: this.#server }, spec, args));
      case 'read':
        // Nothing of the client's is pending (the common case): no closure, no gate unless it waits.
        if (stateOf(session).gate === undefined) {
          const r = this.#read(session, spec, args, db, undefined);
          if (r instanceof Promise) this.#setGate(stateOf(session), r.then(noop, noop), true);
          return r;
        }
        return this.#ordered(session, 'read', (after) => this.#read(session, spec, args, db, after));
      case 'write':
        // Writes keep their order by being sent in order (to the log, or forwarded to the
        // leader in order); a forwarded write's index is known only from its reply, so
        // later reads of this client wait for that reply (see #read).
        if (stateOf(session).gate === undefined) return this.#write(session, spec, args, db);
        return this.#ordered(session, 'proposed', () => this.#write(session, spec, args, db));
      default: {
        const never: never = spec.exec;
        throw new Error(`unknown exec ${JSON.stringify(never)}`);
      }
    }
  }

  #runLocal(ctx: LocalCtx, spec: CommandSpec, args: readonly Buffer[]): LocalResult {
    if (spec.exec.kind !== 'local') throw new Error(`${spec.name} is not local`);
    const p = spec.parse(args);
    return isRedisError(p) ? p.reply() : spec.exec.run(ctx, p);
  }

  /** A read; `after` (earlier reads of the session still waiting) must settle before it runs. */
  #read(session: Session, spec: CommandSpec, args: readonly Buffer[], db: number, after: Promise<void> | undefined): Reply | Promise<Reply> {
    const forwarded = stateOf(session).forwardedWrite;
    if (forwarded) return forwarded.then(() => this.#readNow(session, spec, args, db, after));
    return this.#readNow(session, spec, args, db, after);
  }

  #readNow(session: Session, spec: CommandSpec, args: readonly Buffer[], db: number, after: Promise<void> | undefined): Reply | Promise<Reply> {
    if (spec.exec.kind !== 'read') throw new Error(`${spec.name} is not a read`);
    const p = spec.parse(args);
    if (isRedisError(p)) return p.reply();
    const run = spec.exec.run;
    const st = stateOf(session);
    const minIndex = st.lastWrite;
    const level = st.consistency;
    const runNow = (): Reply => run({ ks: this.#gateway.keyspace(), db, nowMs: Date.now(), random: Math.random }, p);
    const ready = this.#gateway.readReady(minIndex) || (level === 'stale' && this.#gateway.appliedIndex() >= minIndex);
    // Served at once: no promise, the reply goes out with this read's batch.
    if (ready && after === undefined) return runNow();
    const point: Promise<RedisError | null> = ready
      ? Promise.resolve(null)
      : level === 'stale'
        ? this.#gateway.appliedAtLeast(minIndex).then(() => null)
        : this.#gateway.readBarrier(minIndex, level === 'lease' ? 'lease' : 'linearizable');
    const settled = after === undefined ? point : Promise.all([point, after]).then(([e]) => e);
    return settled.then((e) => (e ? e.reply() : runNow()));
  }

  #write(session: Session, spec: CommandSpec, args: readonly Buffer[], db: number): Reply | Promise<Reply> {
    // Parse before proposing: argument errors never enter the log.
    const p = spec.parse(args);
    if (isRedisError(p)) return p.reply();
    const proposal = this.#gateway.propose((timeMs) =>
      encodePayload({ kind: 'commands', timeMs, watches: [], transaction: false, commands: [{ db, args }] }),
    );
    if (isRedisError(proposal)) return proposal.reply();
    const st = stateOf(session);
    if (proposal.index > 0) {
      st.lastWrite = proposal.index;
      // Blocked XREADGROUPs on these keys propose now, into the same log entry.
      if ((this.#gateway.wakeOnProposalWaiters ?? 0) > 0) {
        const keys: Touched[] = [];
        touchedKeys(spec, db, args, keys);
        this.#gateway.proposedKeys?.(keys);
      }
    } else {
      // Forwarded: its index is known from the leader's reply, which may arrive before this
      // node applied it. Reads of this client wait for the reply, then for that index.
      const done = (proposal.appliedAt ?? proposal.result.then(() => 0)).then((index) => {
        if (index > st.lastWrite) st.lastWrite = index;
      }, noop);
      st.forwardedWrite = done;
      void done.then(() => {
        if (st.forwardedWrite === done) st.forwardedWrite = undefined;
      });
    }
    return proposal.result;
  }

  /** Metrics hooks; the server installs real ones when metrics are served. */
  observe: Observers = noObservers();

  #count(name: string | null, ms: number, r: ExecResult): void {
    if (name === null) return;
    this.observe.command(name, ms / 1000, r !== NoReply && r.type === 'error');
    let s = this.stats.get(name);
    if (!s) {
      s = { calls: 0, usec: 0, failed: 0 };
      this.stats.set(name, s);
    }
    s.calls++;
    s.usec += ms * 1000;
    if (r !== NoReply && r.type === 'error') s.failed++;
  }
}
