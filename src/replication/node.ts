// The one loop that drives consensus/: timers → tick, proposals and reads → the
// core, Ready → persist (WAL, one fsync per batch) → send → apply (one SQLite
// transaction per batch, with the applied index) → advance. Implements the
// commands layer's Gateway. Single-threaded: a Ready is processed synchronously,
// so nothing reaches the core between ready() and advance().

import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import { existsSync, mkdirSync } from 'node:fs';
import type { Reply } from '../../protocol/index.ts';
import {
  Raft,
  applyConfigChange,
  bootstrapLog,
  sendableBeforePersist,
  decodeConfigChange,
  createPrng,
  nodeId as toNodeId,
  type Config,
  type Entry,
  type HardState,
  type LogIndex,
  type Logger,
  type Message,
  type NodeId,
  type Ready,
  type SnapshotMeta,
  type Term,
} from '../../consensus/index.ts';
import { applyEntry, type CommandLookup } from '../commands/apply.ts';
import { errors, isRedisError, type RedisError } from '../commands/errors.ts';
import type { Gateway, Proposal } from '../commands/gateway.ts';
import { EntryDecodeError, decodePayload, encodeBatch, encodePayload, restampPayload } from '../state/entry_codec.ts';
import { ForwardedWrites } from '../state/forwarded.ts';
import { nodeAddresses } from '../commands/cluster_cmds.ts';
import { Forwarder, type ForwardAnswer } from './forwarding.ts';
import { noObservers, type Observers } from '../observe.ts';
import { renameSync } from 'node:fs';
import { Keyspace, RECLAIM_ROWS, StateDatabase, StreamStore, createSnapshot, inspectSnapshot, restoreFrom, streamValueHooks } from '../state/index.ts';
import { WalStorage, type FsyncPolicy } from './wal/index.ts';
import { ApplyWaiters, ProposalWaiters, type ProposalOutcome } from './waiters.ts';
import { KeyWaiters, type TouchedKey, type WaitOutcome } from './key_waiters.ts';
import { StateCheckpointer } from './state_checkpointer.ts';
import { FsyncPlacement } from './fsync_placement.ts';
import type { Session } from '../net/session.ts';

export interface NodeOptions {
  readonly dir: string;
  readonly nodeId: string;
  /** Founding voters when the data directory is new (default: this node alone). */
  readonly bootstrap?: readonly string[];
  /** Start with an empty log and wait to be added by a running cluster (no bootstrap). */
  readonly join?: boolean;
  readonly tickMs?: number;
  readonly fsync?: FsyncPolicy;
  /** Take a snapshot and compact the log once this many entries were applied since the last one. */
  readonly snapshotEntries?: number;
  /** Bound of the key-row cache (state/row_cache.ts) in bytes. */
  readonly rowCacheBytes?: number;
  /** Sends Raft messages to peers (cluster); absent on a single node. */
  readonly send?: (m: Message) => void;
  /** Sends a write to the leader (cluster); absent on a single node. */
  readonly forward?: (to: NodeId, seq: bigint, payload: Uint8Array, retry: number) => boolean;
  readonly logger?: Logger;
  readonly lookup: CommandLookup;
  /** Metrics hooks (fsync latency, proposals, forwards). */
  readonly observe?: Observers;
  /** Called when this node learns of a new leader (Sentinel's +switch-master). */
  readonly onLeaderChange?: (previous: string | null, leader: string | null) => void;
}

const SNAPSHOT_FILE = 'snapshot.db';
const EXPIRE_EVERY_MS = 100;
const EXPIRE_KEYS_MAX = 200;
/** How often a leader looks for released streams whose rows are still to be removed. */
const RECLAIM_EVERY_MS = 100;
const READ_TIMEOUT_MS = 5000;
const UNKNOWN_GRACE_MS = 5000;
/** State writes are committed to SQLite at most this long after they were applied... */
const STATE_COMMIT_MS = 5000;
/**
 * ...or once nothing was applied for this long. An open batch transaction keeps the WAL
 * from restarting (its snapshot dates from its start); committed when the node goes idle,
 * the next batch finds the WAL copied by the worker and restarts it at no cost. Left open
 * through a 1.6 s lull after a burst of writes, the next commit had to wait 31 ms for the
 * worker instead (measured 2026-12-05)...
 */
const STATE_IDLE_COMMIT_MS = 500;
/** ...or once this many entries were applied in the open state transaction... */
const STATE_COMMIT_ENTRIES = 100_000;
/**
 * ...or once stream rows of this many bytes were written to SQLite (StreamStore
 * bytesWritten; key rows are kept in memory and written back, so they do not count).
 * Past SQLite's page cache a transaction spills pages to the WAL, and when it writes a
 * spilled page again, COMMIT re-reads and re-checksums every frame from there on (perf:
 * pread and walChecksumBytes): 108-122 ms for 300 000 XADDs of 1 KiB in one commit, at
 * most 18 ms with a commit per 16 000 of them (~16 MiB; same wall time in all); a batch
 * that reclaimed 300 000 such rows committed in 123 ms. Measured 2026-12-05. Counting
 * every entry's bytes instead cost SET at pipeline 16 12 % (each commit saves the dirty
 * key rows as the key overlay).
 */
const STATE_COMMIT_BYTES = 16 * 1024 * 1024;
/**
 * A commit by time or size first writes this many of the key rows dirty longest to `keys` (1-60 ms):
 * rows no longer written stop riding in the key overlay, and an idle keyspace drains.
 */
const COMMIT_WRITE_BACK_ROWS = 1000;
/**
 * Writes proposed in one event loop turn go to the log as one entry (one index, one
 * record, one waiter list), up to this many payload bytes; a larger payload goes alone.
 * Well under a NATS message (1 MiB by default), which carries a follower's append.
 */
const BATCH_BYTES_MAX = 256 * 1024;

export class RaftNode implements Gateway {
  readonly id: NodeId;
  readonly raft: Raft;
  readonly wal: WalStorage;
  state: StateDatabase;
  ks: Keyspace;
  readonly #opts: NodeOptions;
  readonly #logger: Logger;
  readonly #proposals = new ProposalWaiters();
  readonly #applyWaiters = new ApplyWaiters();
  readonly #keyWaiters = new KeyWaiters();
  #forwarded: ForwardedWrites;
  readonly #forwarder: Forwarder | null;
  /** This process's forwarding identity: node id plus a random run id. */
  #origin = '';
  readonly #observe: Observers;
  /** Forwards this leader is proposing, by origin id: a re-sent forward joins the first. */
  readonly #forwardsInFlight = new Map<string, Promise<ForwardAnswer>>();
  #knownLeader: string | null = null;
  #announced = false;
  #announcing = false;
  /** Where clients reach this node; announced through the log once a leader is known. */
  #addresses: { readonly resp: string; readonly http: string } | null = null;
  /** Learners added with RAFT ADD that the leader promotes to voters once caught up. */
  readonly #autoPromote = new Set<string>();
  /** Snapshot files received from the leader, by index, waiting for their Ready. */
  readonly snapshotFiles = new Map<number, string>();
  /** Reads that need a ReadIndex round, batched per loop turn. */
  #readBatch: Array<{ minIndex: number; resolve: (e: RedisError | null) => void }> = [];
  /** Reads that accept the leader's lease (RAFT CONSISTENCY lease). */
  #leaseBatch: Array<{ minIndex: number; resolve: (e: RedisError | null) => void }> = [];
  readonly #readRounds = new Map<number, { batch: RedisReadBatch; deadlineMs: number }>();
  #nextReadContext = 1;
  #scheduled = false;
  /** Payloads proposed this turn, to go to the log as one entry at `index` (see #flushBatch). */
  #batch: { readonly index: LogIndex; readonly term: Term; readonly parts: Uint8Array[]; bytes: number } | null = null;
  #timers: NodeJS.Timeout[] = [];
  #lastStampMs = 0;
  #expireInFlight = false;
  #reclaimInFlight = false;
  #checkpointer: StateCheckpointer;
  #appliedConfigs: Array<{ index: number; config: Config }>;
  #sinceSnapshot = 0;
  #snapshotting: Promise<void> | null = null;
  lastSave = { ms: Date.now(), ok: true, index: 0 };
  #closed = false;
  #batchEntries = 0;
  /** Bytes of stream rows written in the open state transaction (STATE_COMMIT_BYTES). */
  #batchBytes = 0;
  #batchOpenedMs = 0;
  /** When the last entries were applied (STATE_IDLE_COMMIT_MS). */
  #lastApplyMs = 0;
  /** The fsync of the outstanding Ready, while it runs. */
  #persisting: Promise<void> | null = null;
  /** Entries up to here are durable in our log (written and fsync'd by completed Readies). */
  #durableIndex = 0;
  /** fdatasyncs of the log for Readies (INFO raft_log_fsyncs). */
  logFsyncs = 0;
  /** Commits of the state's batch transaction (INFO raft_state_commits). */
  stateCommits = 0;
  /** Whether an fsync that could run on the event loop does (see #handleReady). */
  readonly #fsyncPlacement = new FsyncPlacement();

  constructor(opts: NodeOptions) {
    this.#opts = opts;
    this.id = toNodeId(opts.nodeId);
    this.#logger = opts.logger ?? { debug() {}, info() {}, warn() {} };
    mkdirSync(opts.dir, { recursive: true });
    const raftDir = join(opts.dir, 'raft');
    const walOpts = { fsync: opts.fsync ?? 'always' };
    this.wal = WalStorage.open(raftDir, walOpts);
    const init = this.wal.initialState();
    const founders = opts.bootstrap ?? [opts.nodeId];
    // A node that is not a founding voter starts empty and waits to be added (RAFT ADD), as with --join.
    const founding = !opts.join && founders.includes(opts.nodeId);
    if (this.wal.lastIndex() === 0 && init.hardState.term === 0 && init.snapshot.index === 0 && founding) {
      // A new log (also one left empty by a crash during the first start): write the founding membership.
      const b = bootstrapLog(founders.map(toNodeId));
      this.wal.persist({ entries: b.entries, hardState: b.hardState });
    }
    // Everything recovery found is durable (it fsyncs the tail it keeps).
    this.#durableIndex = this.wal.lastIndex();
    // Not locked exclusively: the checkpoint worker opens the file too.
    this.state = StateDatabase.open(join(opts.dir, 'state.db'), { exclusiveLock: false });
    const snap = this.wal.snapshot();
    if (this.state.applied().index < snap.index) this.#restoreState(snap.index);
    this.#checkpointer = this.#startCheckpointer();
    this.ks = new Keyspace(this.state, streamValueHooks(this.state), opts.rowCacheBytes);
    this.#forwarded = new ForwardedWrites(this.state);
    this.#origin = `${opts.nodeId}/${randomBytes(8).toString('hex')}`;
    this.#observe = opts.observe ?? noObservers();
    const forward = opts.forward;
    this.#forwarder = forward
      ? new Forwarder({
          leader: () => this.raft.leader(),
          send: (to, seq, payload, retry) => {
            this.#observe.forwarded(retry === 0 ? 'sent' : 'retried');
            return forward(to, seq, payload, retry);
          },
        })
      : null;
    this.#appliedConfigs = [{ index: snap.index, config: snap.config }];
    this.lastSave.index = snap.index;
    this.raft = new Raft({ id: this.id, storage: this.wal, prng: createPrng(randomInt(2 ** 31)), logger: this.#logger });
  }

  start(): void {
    const st = this.raft.status();
    if (st.config.voters.length === 1 && st.config.voters[0] === this.id) this.raft.campaign('vote', false);
    this.#process();
    const tickMs = this.#opts.tickMs ?? 50;
    this.#timers.push(setInterval(() => this.#onTick(), tickMs));
    this.#timers.push(setInterval(() => this.#activeExpire(), EXPIRE_EVERY_MS));
    this.#timers.push(setInterval(() => this.#reclaimStreams(), RECLAIM_EVERY_MS));
  }

  // ---- Gateway ----

  keyspace(): Keyspace {
    return this.ks;
  }

  appliedIndex(): number {
    return this.raft.log.applied;
  }

  propose(build: (timeMs: number) => Uint8Array): Proposal | RedisError {
    if (this.#closed) return errors.tryAgain('the server is shutting down');
    if (this.raft.role.kind !== 'leader') {
      if (this.#forwarder === null || this.raft.leader() === null) return this.#noLeaderError();
      return this.#forward(build(0));
    }
    // Entry time never goes backwards, so TTLs and stream IDs derived from it are monotonic.
    this.#lastStampMs = Math.max(this.#lastStampMs, Date.now());
    const queued = this.#enqueue(build(this.#lastStampMs));
    if (isRedisError(queued)) return queued;
    return { index: queued.index, result: queued.outcome.then((o) => o.reply) };
  }

  /**
   * Adds a leader's payload to this turn's batch, which is proposed as one entry when the
   * loop next runs (#flushBatch). The batch's index is known now: this leader's log grows
   * only through its batches (config changes flush the batch first), so it is the next one.
   */
  #enqueue(data: Uint8Array): { readonly index: LogIndex; readonly outcome: Promise<ProposalOutcome> } | RedisError {
    const r = this.raft;
    if (r.role.kind !== 'leader') return this.#noLeaderError();
    if (r.role.transferee !== null) return errors.tryAgain('the write was refused (transferring); retry');
    if (this.#batch !== null && this.#batch.bytes + data.length > BATCH_BYTES_MAX) this.#flushBatch();
    this.#batch ??= { index: (r.log.lastIndex() + 1) as LogIndex, term: r.term, parts: [], bytes: 0 };
    this.#batch.parts.push(data);
    this.#batch.bytes += data.length;
    this.#observe.proposed(1);
    this.#schedule();
    return { index: this.#batch.index, outcome: this.#proposals.addOutcome(this.#batch.index, this.#batch.term) };
  }

  /** Proposes this turn's batch as one entry; if the core refuses it, none of its writes happened. */
  #flushBatch(): void {
    const batch = this.#batch;
    if (batch === null) return;
    this.#batch = null;
    const res = this.raft.propose(encodeBatch(batch.parts));
    if (!res.ok) {
      const why = res.reason === 'not-leader' ? this.#noLeaderError() : errors.tryAgain(`the write was refused (${res.reason}); retry`);
      this.#proposals.refused(batch.index, why.reply());
      return;
    }
    if (res.index !== batch.index || res.term !== batch.term) {
      throw new Error(`batch proposed at ${res.index}/${res.term}, expected ${batch.index}/${batch.term}`);
    }
  }

  readReady(minIndex: number): boolean {
    const r = this.raft;
    return (
      !this.#closed &&
      r.role.kind === 'leader' &&
      this.#soleVoter() &&
      r.log.term(r.log.committed) === r.term &&
      r.log.applied >= Math.max(r.log.committed, minIndex)
    );
  }

  /** Whether writes made now go to another node (the caller then waits for their reply to order later reads). */
  forwarding(): boolean {
    return this.raft.role.kind !== 'leader';
  }

  #forward(data: Uint8Array): Proposal {
    const p = decodePayload(data);
    if (p.kind !== 'commands') throw new Error(`cannot forward a ${p.kind} entry`);
    const seq = this.#forwarder!.nextSeq();
    // The origin names this process, not only this node: sequence numbers restart with
    // the process, and a restarted node must never match an id it used before.
    const payload = encodePayload({ ...p, origin: { node: this.#origin, seq } });
    this.#logger.debug('forwarding a write to the leader', { requestId: `${this.#origin}:${seq}`, leader: this.raft.leader(), term: this.raft.term });
    const outcome = this.#forwarder!.forward(seq, payload, Date.now());
    const appliedAt = outcome.then((o) => o.index);
    return { index: -1, result: outcome.then((o) => o.reply), appliedAt };
  }

  /** Leader side of forwarding: propose a follower's write once per id and answer with its reply. */
  handleForward(from: string, seq: bigint, payload: Uint8Array): Promise<ForwardAnswer> {
    // In-flight forwards are matched by the id inside the payload (it names the sender's process).
    let key = `${from}:${seq}`;
    try {
      const p = decodePayload(payload);
      if (p.kind === 'commands' && p.origin) key = `${p.origin.node}:${p.origin.seq}`;
    } catch (e) {
      if (!(e instanceof EntryDecodeError)) throw e;
      return Promise.resolve({ status: 'refused', index: 0, reply: errors.custom('ERR malformed forwarded write').reply() });
    }
    const inFlight = this.#forwardsInFlight.get(key);
    if (inFlight) return inFlight;
    if (this.#closed || this.raft.role.kind !== 'leader') {
      return Promise.resolve({ status: 'not-leader', index: 0, reply: this.#noLeaderError().reply() });
    }
    this.#lastStampMs = Math.max(this.#lastStampMs, Date.now());
    this.#observe.forwarded('received');
    const queued = this.#enqueue(restampPayload(payload, this.#lastStampMs));
    // Refused only when not leader or handing leadership over: the sender retries elsewhere.
    if (isRedisError(queued)) return Promise.resolve({ status: 'not-leader', index: 0, reply: queued.reply() });
    this.#logger.debug('proposed a forwarded write', { requestId: key, from, index: queued.index });
    const answer = queued.outcome.then((o): ForwardAnswer =>
      o.kind === 'applied' ? { status: 'applied', index: o.index, reply: o.reply } : { status: 'not-leader', index: 0, reply: o.reply },
    );
    this.#forwardsInFlight.set(key, answer);
    void answer.then(() => this.#forwardsInFlight.delete(key));
    return answer;
  }

  /** RAFT ADD/PROMOTE/REMOVE: one membership step, answered when applied. */
  changeMembership(kind: 'addLearner' | 'addVoter' | 'promote' | 'remove', node: string): Promise<Reply> {
    if (this.raft.role.kind !== 'leader') return Promise.resolve(this.#notLeaderFor('RAFT membership changes').reply());
    this.#flushBatch();
    const res = this.raft.proposeConfigChange({ kind, node: toNodeId(node) });
    if (!res.ok) {
      const why =
        res.reason === 'config-change-pending'
          ? errors.custom('ERR another membership change is still in progress (or this leader has not committed an entry of its term yet); retry')
          : res.reason === 'config-change-invalid'
            ? errors.custom(`ERR ${kind} ${node} does not change the membership (or would leave no voter)`)
            : errors.tryAgain(`the change was refused (${res.reason}); retry`);
      return Promise.resolve(why.reply());
    }
    if (kind === 'addLearner') this.#autoPromote.add(node);
    if (kind === 'remove') this.#autoPromote.delete(node);
    this.#schedule();
    return this.#proposals.add(res.index, res.term).then((r) => (r.type === 'null' ? { type: 'simple', value: 'OK' } : r));
  }

  /** RAFT TRANSFER: hand leadership to a caught-up voter. */
  transferLeadership(node: string): Reply {
    if (this.raft.role.kind !== 'leader') return this.#notLeaderFor('RAFT TRANSFER').reply();
    if (!this.raft.config().voters.includes(toNodeId(node))) return errors.custom(`ERR ${node} is not a voter`).reply();
    this.#flushBatch();
    this.raft.transferLeadership(toNodeId(node));
    this.#schedule();
    return { type: 'simple', value: 'OK' };
  }

  #notLeaderFor(what: string): RedisError {
    const leader = this.raft.leader();
    return leader === null ? errors.clusterDown('no leader elected yet; retry') : errors.tryAgain(`${what} run on the leader, ${leader}`);
  }

  /** Sets where clients reach this node (after the listeners are bound); announced at the next tick. */
  announceAt(addresses: { readonly resp: string; readonly http: string }): void {
    this.#addresses = addresses;
    this.#announced = false;
    this.#announce();
  }

  /** Resolves once this node's addresses are in the replicated state (bounded by `timeoutMs`). */
  async announced(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#announced && !this.#closed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
      this.#announce();
    }
    return this.#announced;
  }

  /** Every node's announced addresses, as the replicated state has them. */
  nodeAddresses(): ReturnType<ReturnType<typeof nodeAddresses>['all']> {
    return nodeAddresses(this.state).all();
  }

  /** Records this node's addresses in the replicated state, once, when they changed. */
  #announce(): void {
    const me = this.#addresses;
    if (!me || this.#announced || this.#announcing || this.raft.leader() === null) return;
    const known = nodeAddresses(this.state).get(this.id);
    if (known && known.resp === me.resp && known.http === me.http) {
      this.#announced = true;
      return;
    }
    const args = ['raftis.announce', this.id, me.resp, me.http].map((x) => Buffer.from(x));
    const p = this.propose((timeMs) => encodePayload({ kind: 'commands', timeMs, watches: [], transaction: false, commands: [{ db: 0, args }] }));
    if (!('result' in p)) return;
    this.#announcing = true;
    void p.result.then((r) => {
      this.#announcing = false;
      if (r.type === 'simple') this.#announced = true;
    });
  }

  /** Promotes learners added with RAFT ADD once they hold everything committed. */
  #promoteCaughtUp(): void {
    if (this.#autoPromote.size === 0 || this.raft.role.kind !== 'leader') return;
    const st = this.raft.status();
    for (const id of this.#autoPromote) {
      if (!st.config.learners.includes(toNodeId(id))) {
        if (!st.config.voters.includes(toNodeId(id))) continue;
        this.#autoPromote.delete(id);
        continue;
      }
      const peer = st.peers.find((p) => p.id === id);
      if (!peer || peer.match < st.commit) continue;
      this.#flushBatch();
      const res = this.raft.proposeConfigChange({ kind: 'promote', node: toNodeId(id) });
      if (res.ok) {
        this.#autoPromote.delete(id);
        this.#logger.info('promoting caught-up learner', { node: id });
        this.#schedule();
      }
      return; // one change at a time
    }
  }

  /** The transport finished (ok) or gave up sending a snapshot to `to`. */
  reportSnapshot(to: NodeId, ok: boolean): void {
    if (this.#closed) return;
    this.raft.reportSnapshot(to, ok);
    this.#schedule();
  }

  /** A leader's answer to one of our forwards. */
  forwardAnswered(seq: bigint, answer: ForwardAnswer): void {
    this.#forwarder?.answer(seq, answer, Date.now());
  }

  /** Resolves once this node applied `index` (stale reads still read their own writes). */
  appliedAtLeast(index: number): Promise<void> {
    if (this.raft.log.applied >= index) return Promise.resolve();
    return this.#applyWaiters.add(index).then(() => undefined);
  }

  readBarrier(minIndex: number, consistency: 'linearizable' | 'lease' = 'linearizable'): Promise<RedisError | null> {
    if (this.#closed) return Promise.resolve(errors.tryAgain('the server is shutting down'));
    const r = this.raft;
    if (r.role.kind === 'leader' && this.#soleVoter() && r.log.term(r.log.committed) === r.term) {
      // The only voter is the leader: its commit index needs no confirmation round.
      const target = Math.max(r.log.committed, minIndex);
      if (r.log.applied >= target) return Promise.resolve(null);
      return this.#applyWaiters.add(target);
    }
    if (r.leader() === null) return Promise.resolve(this.#noLeaderError());
    return new Promise((resolve) => {
      (consistency === 'lease' ? this.#leaseBatch : this.#readBatch).push({ minIndex, resolve });
      this.#schedule();
    });
  }

  waitForKeys(
    keys: ReadonlyArray<{ readonly db: number; readonly key: Buffer }>,
    timeoutMs: number | null,
    session: Session | null,
    wakeOnProposal = false,
  ): Promise<WaitOutcome> {
    if (this.#closed) return Promise.resolve('closed');
    return this.#keyWaiters.wait(keys, timeoutMs, session, wakeOnProposal);
  }

  get wakeOnProposalWaiters(): number {
    return this.#keyWaiters.onProposal;
  }

  /** A write to `keys` was proposed on this node (a leader): wakes the waiters that asked for it. */
  proposedKeys(keys: readonly TouchedKey[]): void {
    this.#keyWaiters.proposed(keys);
  }

  /** A client disconnected: release its blocked reads. */
  sessionClosed(session: Session): void {
    this.#keyWaiters.sessionClosed(session);
  }

  get blockedClients(): number {
    return this.#keyWaiters.size;
  }

  // ---- the loop ----

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#process();
    });
  }

  #onTick(): void {
    const now = Date.now();
    if (this.#batchEntries > 0 && (now - this.#batchOpenedMs >= STATE_COMMIT_MS || now - this.#lastApplyMs >= STATE_IDLE_COMMIT_MS)) {
      this.#commitWritingBack();
    }
    this.raft.tick();
    this.#proposals.expire(now);
    this.#forwarder?.tick(now);
    this.#promoteCaughtUp();
    this.#announce();
    for (const [ctx, round] of this.#readRounds) {
      if (round.deadlineMs > now) continue;
      this.#readRounds.delete(ctx);
      for (const w of round.batch) w.resolve(errors.tryAgain('no read point from the leader in time; retry'));
    }
    this.#process();
  }

  /** Delivers a message from a peer (cluster transport). */
  step(m: Message): void {
    this.raft.step(m);
    this.#schedule();
  }

  #process(): void {
    if (this.#closed) return;
    this.#flushBatch();
    for (const mode of ['readIndex', 'lease'] as const) {
      const batch = mode === 'lease' ? this.#leaseBatch : this.#readBatch;
      if (batch.length === 0) continue;
      if (mode === 'lease') this.#leaseBatch = [];
      else this.#readBatch = [];
      const ctx = this.#nextReadContext++;
      this.#readRounds.set(ctx, { batch, deadlineMs: Date.now() + READ_TIMEOUT_MS });
      this.raft.readIndex(ctx, mode);
    }
    // While a Ready's fsync runs in the thread pool, inputs go into the core and the next
    // Ready batches them (the Ready contract allows inputs before advance()).
    for (let guard = 0; this.#persisting === null && this.raft.hasReady(); guard++) {
      if (guard > 10_000) throw new Error('Ready loop did not settle');
      this.#handleReady(this.raft.ready());
    }
    this.#applyWaiters.release(this.raft.log.applied);
    this.#maybeSnapshot();
  }

  #handleReady(rd: Ready): void {
    const send = this.#opts.send;
    // The leader's appends go out first, so followers persist while we do (Ready contract).
    if (send) for (const m of rd.messages) if (sendableBeforePersist(m)) send(m);
    if (rd.snapshot) {
      this.#installSnapshot(rd.snapshot);
      this.wal.persist({ entries: rd.entries, hardState: rd.hardState });
      this.#durableIndex = this.wal.lastIndex();
      return this.#finishReady(rd);
    }
    if (rd.entries.length === 0 && rd.hardState === null) return this.#finishReady(rd);
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1]?.index ?? 0;
    if (rd.entries.length === 0 && !this.#termOrVoteChanged(rd.hardState) && lastCommitted <= this.#durableIndex) {
      // Only the commit index moved. It need not be durable before anything goes on (a
      // lost one is learned again from the log's leader; etcd's MustSync rule): written
      // now, durable with the next fsync. A leader got here once per round of acks, and
      // a follower per heartbeat that moved its commit index, each with an fsync.
      this.wal.write({ entries: [], hardState: rd.hardState });
      return this.#finishReady(rd);
    }
    // Committed entries already durable here (written by an earlier Ready, not replaced by
    // this one) are applied and answered now, while this Ready's unrelated fsync runs, not
    // after it: on a leader they are those its followers just acknowledged.
    const firstNew = rd.entries[0]?.index ?? Infinity;
    let early = 0;
    while (early < rd.committedEntries.length) {
      const index = rd.committedEntries[early]!.index;
      if (index >= firstNew || index > this.#durableIndex) break;
      early++;
    }
    const late = early === 0 ? rd : { ...rd, committedEntries: rd.committedEntries.slice(early) };
    if ((!send || !rd.messages.some(sendableBeforePersist)) && this.#fsyncPlacement.inline(performance.now())) {
      // Nothing travels while the disk works (a single node, or a follower whose answers
      // wait for it): fsync on this thread, as Redis does with appendfsync always. It
      // blocks ~0.2 ms; the requests that arrive meanwhile make the next batch larger,
      // and the thread-pool round trip (tens of µs of CPU per fsync) is saved. Slow
      // fsyncs (a busy disk) would stall everything, reads included: then the thread pool
      // does them for a while (fsync_placement.ts).
      if (early > 0) this.#apply(rd.committedEntries.slice(0, early));
      this.wal.write({ entries: rd.entries, hardState: rd.hardState });
      const syncStart = performance.now();
      this.wal.syncNow();
      const syncMs = performance.now() - syncStart;
      this.#observe.fsyncSeconds(syncMs / 1000);
      this.logFsyncs++;
      this.#fsyncPlacement.observe(syncStart, syncMs);
      if (rd.entries.length > 0) this.#durableIndex = this.wal.lastIndex();
      return this.#finishReady(late);
    }
    // A leader's appends are on their way: write now, fsync in the thread pool, so the
    // event loop keeps reading requests and messages (and NATS flushes the appends
    // above) while the disks of the leader and its followers work at the same time.
    this.wal.write({ entries: rd.entries, hardState: rd.hardState });
    const written = this.wal.lastIndex();
    const syncStart = performance.now();
    const persisting = this.wal.syncAsync().then(
      () => {
        this.#observe.fsyncSeconds((performance.now() - syncStart) / 1000);
        this.logFsyncs++;
        this.#persisting = null;
        if (rd.entries.length > 0) this.#durableIndex = written;
        if (this.#closed) return;
        this.#finishReady(late);
        this.#process();
      },
      (e: unknown) => {
        // The log cannot be trusted to match memory any more: stop, loudly (restart recovers from disk).
        process.nextTick(() => {
          throw e;
        });
      },
    );
    this.#persisting = persisting;
    // Applied while the fsync runs: the disk and the CPU work at the same time.
    if (early > 0) this.#apply(rd.committedEntries.slice(0, early));
  }

  #termOrVoteChanged(hs: HardState | null): boolean {
    if (hs === null) return false;
    const now = this.wal.initialState().hardState;
    return hs.term !== now.term || hs.vote !== now.vote;
  }

  /** The rest of a Ready once it is durable: send, apply, answer reads, advance. */
  #finishReady(rd: Ready): void {
    const send = this.#opts.send;
    if (send) for (const m of rd.messages) if (!sendableBeforePersist(m)) send(m);
    if (rd.committedEntries.length > 0) this.#apply(rd.committedEntries);
    for (const rs of rd.readStates) {
      const round = this.#readRounds.get(rs.context);
      if (!round) continue;
      this.#readRounds.delete(rs.context);
      for (const w of round.batch) {
        if (rs.index === null) w.resolve(this.#noLeaderError());
        else void this.#applyWaiters.add(Math.max(rs.index, w.minIndex)).then(w.resolve);
      }
    }
    if (rd.softState && rd.softState.role !== 'leader') this.#proposals.leadershipLost(Date.now(), UNKNOWN_GRACE_MS);
    // A new leader: re-send pending forwards to it now rather than after their timeout.
    if (rd.softState?.leader) this.#forwarder?.leaderChanged(Date.now());
    if (rd.softState && rd.softState.leader !== this.#knownLeader) {
      const previous = this.#knownLeader;
      this.#knownLeader = rd.softState.leader;
      this.#opts.onLeaderChange?.(previous, rd.softState.leader);
    }
    this.raft.advance();
  }

  #apply(entries: readonly Entry[]): void {
    const skipTo = this.state.applied().index;
    const results: Array<[LogIndex, Term, Array<Reply | null>]> = [];
    // Keys are collected only for waiters there are now: none can start waiting before notify below.
    const touched: TouchedKey[] | null = this.#keyWaiters.waiting ? [] : null;
    const last = entries[entries.length - 1]!;
    this.#lastApplyMs = Date.now();
    if (this.#batchEntries === 0) this.#batchOpenedMs = this.#lastApplyMs;
    const streams = StreamStore.of(this.state);
    const streamBytesBefore = streams.bytesWritten;
    this.state.beginBatch();
    this.state.transaction(() => {
      for (const e of entries) {
        if (e.type === 'config') this.#applyConfig(e);
        if (e.index <= skipTo) continue; // applied before a restart
        const replies = e.type === 'normal' ? applyEntry(this.#opts.lookup, this.ks, e.index, e.data, touched, this.#forwarded) : [null];
        results.push([e.index, e.term, replies]);
      }
      if (last.index > skipTo) this.state.setApplied(last.index, last.term);
    });
    this.#sinceSnapshot += entries.length;
    this.#batchEntries += entries.length;
    this.#batchBytes += streams.bytesWritten - streamBytesBefore;
    // While a snapshot copies the file, only committed pages may be in it.
    if (this.#snapshotting !== null || this.#batchEntries >= STATE_COMMIT_ENTRIES) this.#commitState();
    else if (this.#batchBytes >= STATE_COMMIT_BYTES) this.#commitWritingBack();
    for (const [index, term, replies] of results) this.#proposals.applied(index, term, replies);
    if (touched !== null) this.#keyWaiters.notify(touched);
    this.wal.releaseCached(this.#cacheNeededBelow(last.index));
  }

  /**
   * The log index through which no one needs cached entries: `applied` here, and on a
   * leader also every follower's match (a follower behind gets its entries from the cache).
   * A single node's stream queue at 10 000 msg/s: full GCs of the server every ~0.75 s
   * while applied entries stayed in the 16 MiB cache, every ~1.5 s once they leave it
   * (p99 8.2 and 6.8 ms → 5.4 and 6.0 ms; measured 2026-12-05).
   */
  #cacheNeededBelow(applied: number): number {
    const r = this.raft.role;
    let through = applied;
    if (r.kind === 'leader') for (const [id, p] of r.progress) if (id !== this.id) through = Math.min(through, p.match);
    return through;
  }

  /** A commit by time or size: first the key rows dirty longest go to `keys`. */
  #commitWritingBack(): void {
    this.ks.rows.writeBackOldest(COMMIT_WRITE_BACK_ROWS);
    this.#commitState();
  }

  #commitState(): void {
    if (this.state.sqlite.inTransaction) this.stateCommits++;
    this.state.commitBatch();
    this.#batchEntries = 0;
    this.#batchBytes = 0;
    // Not while a snapshot copies (it commits per apply then, and its reads pin the WAL).
    if (this.#snapshotting === null) this.#checkpointer.afterCommit();
    else this.#checkpointer.limitTruncation();
  }

  #applyConfig(e: Entry): void {
    const prev = this.#appliedConfigs[this.#appliedConfigs.length - 1]!;
    if (e.index <= prev.index) return;
    this.#appliedConfigs.push({ index: e.index, config: applyConfigChange(prev.config, decodeConfigChange(e.data)) });
  }

  #configAt(index: number): Config {
    let c = this.#appliedConfigs[0]!.config;
    for (const x of this.#appliedConfigs) if (x.index <= index) c = x.config;
    return c;
  }

  // ---- expiry, snapshots ----

  #activeExpire(): void {
    if (this.#expireInFlight || this.raft.role.kind !== 'leader') return;
    const keys = this.ks.expiredKeys(EXPIRE_KEYS_MAX, Date.now());
    if (keys.length === 0) return;
    const p = this.propose((timeMs) => encodePayload({ kind: 'expire', timeMs, keys }));
    if ('result' in p) {
      this.#expireInFlight = true;
      void p.result.then(() => (this.#expireInFlight = false));
    }
  }

  /**
   * Lazy free: while released streams still have rows (stream_store.ts), propose one
   * bounded 'reclaim' entry at a time, the next as soon as the last one applied, so other
   * writes interleave and no entry stalls the loop for long.
   */
  #reclaimStreams(): void {
    if (this.#reclaimInFlight || this.raft.role.kind !== 'leader' || this.#closed) return;
    if (StreamStore.of(this.state).garbageCount() === 0) return;
    const p = this.propose((timeMs) => encodePayload({ kind: 'reclaim', timeMs, rows: RECLAIM_ROWS }));
    if (!('result' in p)) return;
    this.#reclaimInFlight = true;
    void p.result.then(
      () => {
        this.#reclaimInFlight = false;
        setImmediate(() => this.#reclaimStreams());
      },
      () => (this.#reclaimInFlight = false),
    );
  }

  #maybeSnapshot(): void {
    const every = this.#opts.snapshotEntries ?? 100_000;
    if (this.#snapshotting === null && this.#sinceSnapshot >= every) void this.snapshot();
  }

  /** SAVE/BGSAVE and log compaction: a consistent copy of the state, then the log before it is dropped. */
  snapshot(): Promise<void> {
    if (this.#snapshotting) return this.#snapshotting;
    this.#sinceSnapshot = 0;
    this.#commitState();
    const run = async (): Promise<void> => {
      try {
        const file = await createSnapshot(this.state, join(this.#opts.dir, SNAPSHOT_FILE));
        const index = file.appliedIndex;
        const term = this.wal.term(index);
        if (term !== undefined && index > this.wal.snapshot().index) {
          this.wal.compact({ index, term, config: this.#configAt(index) });
          this.#appliedConfigs = this.#appliedConfigs.filter((c, i) => i === this.#appliedConfigs.length - 1 || c.index > index);
        }
        this.lastSave = { ms: Date.now(), ok: true, index };
      } catch (e) {
        this.lastSave = { ...this.lastSave, ok: false };
        this.#logger.warn('snapshot failed', { error: String(e) });
      } finally {
        this.#snapshotting = null;
      }
    };
    this.#snapshotting = run();
    return this.#snapshotting;
  }

  get snapshotInProgress(): boolean {
    return this.#snapshotting !== null;
  }

  /**
   * A snapshot from the leader replaces our state. Order for crash safety: the received
   * file becomes snapshot.db, then the log records the snapshot (dropping what it
   * covers), then state.db is restored from snapshot.db. A crash between the last two
   * is repaired at start: state.db behind the log's snapshot is restored from snapshot.db.
   */
  #installSnapshot(meta: SnapshotMeta): void {
    const received = this.snapshotFiles.get(meta.index);
    if (received === undefined) throw new Error(`snapshot ${meta.index} to install was never received`);
    this.#commitState();
    const path = join(this.#opts.dir, SNAPSHOT_FILE);
    renameSync(received, path);
    this.snapshotFiles.delete(meta.index);
    this.wal.persist({ snapshot: meta, entries: [] });
    this.#checkpointer.stop();
    this.state = restoreFrom(this.state, path);
    this.#checkpointer = this.#startCheckpointer();
    this.ks = new Keyspace(this.state, streamValueHooks(this.state), this.#opts.rowCacheBytes);
    this.#forwarded = new ForwardedWrites(this.state);
    this.#appliedConfigs = [{ index: meta.index, config: meta.config }];
    this.#sinceSnapshot = 0;
    this.lastSave = { ms: Date.now(), ok: true, index: meta.index };
    this.#logger.info('installed snapshot from the leader', { index: meta.index, term: meta.term });
  }

  #startCheckpointer(): StateCheckpointer {
    return new StateCheckpointer(this.state, {
      onFailure: (e) => this.#logger.warn('background checkpoints stopped; SQLite checkpoints on commit again', { error: String(e) }),
    });
  }

  #restoreState(needed: number): void {
    const path = join(this.#opts.dir, SNAPSHOT_FILE);
    if (!existsSync(path) || inspectSnapshot(path).appliedIndex < needed) {
      throw new Error(`state.db is behind the compacted log (needs index ${needed}) and no usable ${SNAPSHOT_FILE}: restore this node from a peer`);
    }
    this.state = restoreFrom(this.state, path);
  }

  /** The snapshot file a leader streams to a follower that is behind its log. */
  snapshotPath(): string {
    return join(this.#opts.dir, SNAPSHOT_FILE);
  }

  #soleVoter(): boolean {
    const v = this.raft.config().voters;
    return v.length === 1 && v[0] === this.id;
  }

  #noLeaderError(): RedisError {
    const leader = this.raft.leader();
    return leader === null ? errors.clusterDown('no leader elected yet; retry') : errors.tryAgain(`not the leader; the leader is ${leader}`);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    if (this.#snapshotting) await this.#snapshotting;
    for (let i = 0; i < 1000 && this.#persisting !== null; i++) await this.#persisting;
    this.#process();
    for (let i = 0; i < 1000 && this.#persisting !== null; i++) await this.#persisting;
    this.#commitState();
    this.#closed = true;
    this.#proposals.failAll();
    this.#forwarder?.failAll();
    this.#keyWaiters.closeAll();
    this.#applyWaiters.failAll(errors.tryAgain('the server is shutting down'));
    this.wal.close();
    this.#checkpointer.stop();
    this.state.close();
  }
}

type RedisReadBatch = Array<{ minIndex: number; resolve: (e: RedisError | null) => void }>;
