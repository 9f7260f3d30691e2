// MULTI/EXEC/DISCARD/WATCH/UNWATCH and RESET. Queued commands stay on the client's
// node; EXEC sends them as one log entry, applied atomically, with the watched keys
// checked at apply time against their modification stamps (so a transaction is
// correct wherever the client is connected).

import type { Reply } from '../../protocol/index.ts';
import type { Session } from '../net/session.ts';
import { NoReply } from '../net/types.ts';
import { encodePayload, type QueuedCommand, type Watch } from '../state/entry_codec.ts';
import { lower } from './args.ts';
import { stateOf, type TxState } from './session_state.ts';
import { errors, isRedisError } from './errors.ts';
import type { Gateway } from './gateway.ts';
import { OK, simple } from './replies.ts';
import type { CommandSpec, LocalCtx, LocalResult } from './spec.ts';
import { defineCommand } from './spec.ts';

const tx = (session: Session): TxState => stateOf(session).tx;

/** Commands that run even inside MULTI instead of being queued. */
const NOT_QUEUED = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);

export function inMulti(session: Session): boolean {
  return tx(session).queued !== null;
}

/** Marks the transaction as failed (an unknown command or bad arity while queueing). */
export function flagTransaction(session: Session): void {
  const t = tx(session);
  if (t.queued) t.dirty = true;
}

/** If the session is in MULTI and `name` is to be queued: queues it and returns the reply. */
export function maybeQueue(session: Session, spec: CommandSpec, args: readonly Buffer[]): Reply | null {
  const t = tx(session);
  if (!t.queued || NOT_QUEUED.has(spec.name)) return null;
  if (spec.flags.includes('no_multi')) {
    t.dirty = true;
    return errors.notAllowedInMulti().reply();
  }
  // Arguments may be views into the socket's buffer: keep copies.
  t.queued.push({ spec, args: args.map((a) => Buffer.from(a)) });
  return simple('QUEUED');
}

/** EXEC refused before running (wrong arity): the transaction and its watches are dropped. */
export function abortTransaction(session: Session): void {
  endTransaction(session);
}

function endTransaction(session: Session): void {
  const t = tx(session);
  t.queued = null;
  t.dirty = false;
  t.watches.clear();
  session.flags.delete('x');
}

export interface TxDeps {
  readonly gateway: Gateway;
  /** Runs a local command queued in MULTI, at EXEC time. */
  runLocal(ctx: LocalCtx, spec: CommandSpec, args: readonly Buffer[]): LocalResult;
  /** The log index of this session's last proposed write (read-your-writes for WATCH). */
  lastWrite(session: Session): number;
}

export function transactionCommands(deps: TxDeps): readonly CommandSpec[] {
  const docs = (summary: string, since: string) => ({ summary, since, group: 'transactions', complexity: 'O(1)' });
  const flags = ['noscript', 'loading', 'stale', 'fast', 'allow_busy'] as const;

  const multi = defineCommand<null>({
    name: 'multi', arity: 1, flags: [...flags], keys: null, aclCategories: ['fast', 'transaction'],
    docs: docs('Starts a transaction.', '1.2.0'),
    parse: () => null,
    exec: {
      kind: 'local',
      run: ({ session }) => {
        const t = tx(session);
        if (t.queued) return errors.nestedMulti().reply();
        t.queued = [];
        t.dirty = false;
        session.flags.add('x');
        return OK;
      },
    },
  });

  const exec = defineCommand<null>({
    name: 'exec', arity: 1, flags: ['noscript', 'loading', 'stale', 'skip_slowlog'], keys: null, aclCategories: ['slow', 'transaction'],
    docs: docs('Executes all commands in a transaction.', '1.2.0'),
    parse: () => null,
    exec: { kind: 'local', run: (ctx) => runExec(ctx, deps) },
  });

  const discard = defineCommand<null>({
    name: 'discard', arity: 1, flags: [...flags], keys: null, aclCategories: ['fast', 'transaction'],
    docs: docs('Discards a transaction.', '2.0.0'),
    parse: () => null,
    exec: {
      kind: 'local',
      run: ({ session }) => {
        if (!inMulti(session)) return errors.discardWithoutMulti().reply();
        endTransaction(session);
        return OK;
      },
    },
  });

  const watch = defineCommand<readonly Buffer[]>({
    name: 'watch', arity: -2, flags: [...flags], keys: { first: 1, last: -1, step: 1 }, aclCategories: ['fast', 'transaction'],
    docs: docs('Monitors changes to keys to determine the execution of a transaction.', '2.2.0'),
    parse: (a) => a.slice(1).map((k) => Buffer.from(k)),
    exec: {
      kind: 'local',
      run: async ({ session }, keys) => {
        if (inMulti(session)) return errors.watchInMulti().reply();
        const e = await deps.gateway.readBarrier(deps.lastWrite(session));
        if (e) return e.reply();
        const ks = deps.gateway.keyspace();
        const stamp = deps.gateway.appliedIndex();
        const t = tx(session);
        const now = Date.now();
        for (const key of keys) {
          const id = `${session.db}:${key.toString('base64')}`;
          if (!t.watches.has(id)) t.watches.set(id, { db: session.db, key, stamp, existed: ks.exists(session.db, key, now) });
        }
        return OK;
      },
    },
  });

  const unwatch = defineCommand<null>({
    name: 'unwatch', arity: 1, flags: [...flags], keys: null, aclCategories: ['fast', 'transaction'],
    docs: docs('Forgets about watched keys of a transaction.', '2.2.0'),
    parse: () => null,
    exec: { kind: 'local', run: ({ session }) => { tx(session).watches.clear(); return OK; } },
  });

  const reset = defineCommand<null>({
    name: 'reset', arity: 1, flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'], keys: null, aclCategories: ['fast', 'connection'],
    docs: { summary: 'Resets the connection.', since: '6.2.0', group: 'connection', complexity: 'O(1)' },
    parse: () => null,
    exec: {
      kind: 'local',
      run: ({ session, server }) => {
        endTransaction(session);
        session.db = 0;
        session.protocol = 2;
        session.name = '';
        session.flags.clear();
        const state = stateOf(session);
        state.replyMode = 'on';
        state.consistency = 'linearizable';
        if (server.requirePass !== null) session.authenticated = false;
        return simple('RESET');
      },
    },
  });

  return [multi, exec, discard, watch, unwatch, reset];
}

async function runExec(ctx: LocalCtx, deps: TxDeps): Promise<Reply> {
  const body = beginExec(ctx, deps);
  return typeof body === 'function' ? body() : body;
}

/**
 * EXEC in two halves. Now (when the command arrives): leave MULTI and take the queue,
 * so the commands pipelined behind EXEC are not queued. Later (its turn among the
 * client's keyspace commands): propose the entry and build the reply.
 */
export function beginExec(ctx: LocalCtx, deps: TxDeps): Reply | (() => Promise<Reply>) {
  const { session } = ctx;
  const t = tx(session);
  if (!t.queued) return errors.execWithoutMulti().reply();
  const queued = t.queued;
  const watches = [...t.watches.values()];
  const dirty = t.dirty;
  endTransaction(session);
  if (dirty) return errors.execAbort().reply();

  // Split: keyspace commands go to the log as one entry; SELECT and other local commands
  // run here, in their place among the replies.
  let db = session.db;
  const logged: QueuedCommand[] = [];
  const slots: Array<{ logged: true } | { logged: false; reply: () => LocalResult }> = [];
  for (const q of queued) {
    if (q.spec.exec.kind !== 'local') {
      logged.push({ db, args: q.args });
      slots.push({ logged: true });
    } else if (q.spec.name === 'select') {
      const v = q.spec.parse(q.args);
      if (!isRedisError(v)) db = v as number;
      slots.push({ logged: false, reply: () => (isRedisError(v) ? v.reply() : OK) });
    } else {
      const spec = q.spec;
      const args = q.args;
      slots.push({ logged: false, reply: () => deps.runLocal(ctx, spec, args) });
    }
  }
  // Set now, not after the entry applies: commands pipelined behind EXEC run before it settles.
  const dbBefore = session.db;
  session.db = db;
  // An aborted EXEC (a WATCHed key changed) or one never applied ran no queued SELECT either.
  // Commands already pipelined behind it did run in `db`: only the dispatcher could hold them.
  const undoSelect = (): void => {
    if (session.db === db) session.db = dbBefore;
  };
  return () => finishExec(deps, logged, watches, slots, undoSelect);
}

async function finishExec(
  deps: TxDeps,
  logged: readonly QueuedCommand[],
  watches: readonly Watch[],
  slots: ReadonlyArray<{ logged: true } | { logged: false; reply: () => LocalResult }>,
  undoSelect: () => void,
): Promise<Reply> {
  let fromLog: readonly Reply[] = [];
  if (logged.length > 0 || watches.length > 0) {
    const proposal = deps.gateway.propose((timeMs) => encodePayload({ kind: 'commands', timeMs, watches, transaction: true, commands: logged }));
    if (isRedisError(proposal)) {
      undoSelect();
      return proposal.reply();
    }
    const result = await proposal.result;
    if (result.type === 'null-array' || result.type === 'error') {
      undoSelect();
      return result;
    }
    if (result.type !== 'array') throw new Error(`EXEC apply returned ${result.type}`);
    fromLog = result.items;
  }
  const out: Reply[] = [];
  let i = 0;
  for (const s of slots) {
    if (s.logged) out.push(fromLog[i++]!);
    else {
      const r = await s.reply();
      out.push(r === NoReply ? OK : r);
    }
  }
  return { type: 'array', items: out };
}

export const queuedName = (args: readonly Buffer[]): string => lower(args[0]!);
