// A deterministic world of simulated Raft nodes: it drives each node's Ready cycle
// (persist, send, apply, advance) against in-memory "disks", a faulty network and
// crashes that lose whatever was not yet persisted. Everything random comes from
// one seed. Safety is checked after every step; a violation throws.

import {
  MemoryStorage,
  Raft,
  applyConfigChange,
  sendableBeforePersist,
  decodeConfigChange,
  emptyConfig,
  nodeId,
  type Config,
  type Entry,
  type LogIndex,
  type NodeId,
  type RaftOptions,
  type ReadState,
  type Ready,
  type Term,
} from '../../consensus/index.ts';
import { KvMachine, decodeCommand } from './kv_machine.ts';
import type { KvOutput } from '../support/linearizability.ts';
import { Network } from './network.ts';
import { Rng } from './rng.ts';
import { SafetyChecker } from './safety.ts';

/** Where a crash during a Ready cycle strikes: before anything persisted, after the snapshot only, or after persisting. */
export type CrashPoint = 'beforePersist' | 'afterSnapshot' | 'afterPersist';

export class SimNode {
  readonly id: NodeId;
  /** The disk: survives crashes. */
  readonly storage: MemoryStorage;
  snapshotData: Uint8Array;
  /** Recent snapshots by index: a Ready left pending may send one the node has since replaced. */
  readonly snapshotHistory = new Map<number, Uint8Array>();
  /** Volatile state, lost on crash. */
  raft: Raft | null = null;
  kv = new KvMachine();
  appliedConfig: Config = emptyConfig;
  readonly incomingSnapshots = new Map<LogIndex, Uint8Array>();
  crashDuringNextReady: CrashPoint | null = null;
  /** Crash at this point of the next Ready that installs a snapshot. */
  crashOnSnapshotInstall: CrashPoint | null = null;
  snapshotsInstalled = 0;
  /** A Ready whose persistence is still running (asynchronous persistence). */
  pendingReady: { readonly rd: Ready; readonly completeAt: number } | null = null;

  constructor(id: NodeId, storage: MemoryStorage) {
    this.id = id;
    this.storage = storage;
    this.snapshotData = new KvMachine().snapshot();
  }

  get alive(): boolean {
    return this.raft !== null;
  }
}

export interface WorldOptions {
  readonly seed: number;
  readonly voters: number;
  /** Nodes started with an empty log, to be added later. */
  readonly spares?: number;
  /** Compact the log once this many applied entries are in it (0 = never). */
  readonly snapshotEvery?: number;
  readonly raft?: Partial<Omit<RaftOptions, 'id' | 'storage' | 'prng'>>;
  /** Drivers whose fsync completes later: inputs reach the node between ready() and advance(). */
  readonly asyncPersist?: boolean;
}

export interface WorldHooks {
  /** `output` is the state machine's answer to a KV command (null for no-ops and config entries). */
  onApplied?(node: SimNode, e: Entry, output: KvOutput | null): void;
  onReadState?(node: SimNode, rs: ReadState): void;
  onCrash?(node: SimNode): void;
}

export class World {
  readonly rng: Rng;
  readonly net: Network;
  readonly safety = new SafetyChecker();
  readonly nodes = new Map<NodeId, SimNode>();
  readonly ids: NodeId[] = [];
  readonly opts: WorldOptions;
  hooks: WorldHooks = {};
  now = 0;
  /** Bumped on every event: the real-time order of client calls and returns. */
  clock = 0;
  readonly #snapshotReports: Array<{ from: NodeId; to: NodeId; ok: boolean }> = [];

  constructor(opts: WorldOptions) {
    this.opts = opts;
    this.rng = new Rng(opts.seed);
    this.net = new Network(this.rng.fork());
    const voters = Array.from({ length: opts.voters }, (_, i) => nodeId(`n${i + 1}`));
    const spares = Array.from({ length: opts.spares ?? 0 }, (_, i) => nodeId(`n${opts.voters + i + 1}`));
    for (const id of voters) this.#add(id, MemoryStorage.bootstrap(voters));
    for (const id of spares) this.#add(id, new MemoryStorage());
    for (const id of this.ids) this.restart(id);
  }

  node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  raft(id: NodeId): Raft {
    const r = this.node(id).raft;
    if (!r) throw new Error(`node ${id} is down`);
    return r;
  }

  live(): SimNode[] {
    return this.ids.map((id) => this.node(id)).filter((n) => n.alive);
  }

  /** The live leader with the highest term, if any. */
  leader(): NodeId | null {
    let best: Raft | null = null;
    for (const n of this.live()) {
      const r = n.raft!;
      if (r.role.kind === 'leader' && (best === null || r.term > best.term)) best = r;
    }
    return best?.id ?? null;
  }

  /** One tick: every live node ticks, due messages are delivered in random order. */
  tick(): void {
    this.now++;
    for (const n of this.live()) {
      const pending = n.pendingReady;
      if (pending && pending.completeAt <= this.now) {
        n.pendingReady = null;
        this.#complete(n, n.raft!, pending.rd);
        this.process(n);
      }
    }
    for (const n of this.live()) {
      n.raft!.tick();
      this.process(n);
    }
    for (const env of this.net.due(this.now)) {
      const n = this.nodes.get(env.msg.to);
      if (!n?.raft) continue;
      if (env.msg.type === 'snapshot' && env.snapshotData) n.incomingSnapshots.set(env.msg.snapshot.index, env.snapshotData);
      n.raft.step(env.msg);
      this.process(n);
    }
  }

  run(ticks: number): void {
    for (let i = 0; i < ticks; i++) this.tick();
  }

  /** Ticks until `cond` holds; returns the ticks taken, or throws after `maxTicks`. */
  runUntil(cond: () => boolean, maxTicks: number, what: string): number {
    for (let i = 0; i <= maxTicks; i++) {
      if (cond()) return i;
      this.tick();
    }
    throw new Error(`liveness: ${what} not reached within ${maxTicks} ticks (seed ${this.opts.seed})`);
  }

  /** Drives one node's Ready cycles until it has nothing more to do. */
  process(n: SimNode): void {
    for (let guard = 0; n.pendingReady === null && n.raft?.hasReady(); guard++) {
      if (guard > 1000) throw new Error(`${n.id}: Ready loop did not settle`);
      if (this.#cycle(n, n.raft)) break;
    }
    const r = n.raft;
    if (!r) return;
    this.safety.observe(r, n.storage.lastIndex());
    this.#flushSnapshotReports();
    this.#maybeCompact(n, r);
  }

  crash(id: NodeId): void {
    const n = this.node(id);
    if (!n.raft) return;
    n.raft = null;
    n.incomingSnapshots.clear();
    n.crashDuringNextReady = null;
    n.pendingReady = null;
    this.safety.crashed(id);
    this.hooks.onCrash?.(n);
  }

  restart(id: NodeId): void {
    const n = this.node(id);
    if (n.raft) return;
    const snap = n.storage.snapshot();
    n.kv = KvMachine.restore(n.snapshotData);
    n.appliedConfig = snap.config;
    n.raft = new Raft({ ...this.opts.raft, id, storage: n.storage, prng: this.rng.fork() });
    this.process(n);
  }

  #add(id: NodeId, storage: MemoryStorage): void {
    this.ids.push(id);
    this.nodes.set(id, new SimNode(id, storage));
  }

  /** Returns true when the Ready was left pending (asynchronous persistence). */
  #cycle(n: SimNode, r: Raft): boolean {
    const rd = r.ready();
    // A leader's appends may leave before its own persist (Ready contract): a crash below
    // then loses the leader's copy while followers may already hold the entries.
    const early = rd.messages.filter(sendableBeforePersist);
    for (const m of early) this.net.send(m, this.now, null);
    if (this.opts.asyncPersist && this.rng.chance(0.5)) {
      // The driver's fsync runs in the background: inputs keep arriving until it completes.
      n.pendingReady = { rd, completeAt: this.now + this.rng.int(0, 2) };
      return true;
    }
    this.#complete(n, r, rd);
    return false;
  }

  /** Persist, send, apply and advance a Ready whose early messages already left. */
  #complete(n: SimNode, r: Raft, rd: Ready): void {
    let crash = n.crashDuringNextReady;
    if (rd.snapshot && n.crashOnSnapshotInstall) {
      crash = n.crashOnSnapshotInstall;
      n.crashOnSnapshotInstall = null;
    }
    if (crash === 'beforePersist') return this.crash(n.id);
    if (rd.snapshot) {
      const data = n.incomingSnapshots.get(rd.snapshot.index);
      if (!data) throw new Error(`${n.id}: snapshot ${rd.snapshot.index} to install was never received`);
      n.storage.applySnapshot(rd.snapshot);
      n.snapshotData = data;
      n.kv = KvMachine.restore(data);
      n.appliedConfig = rd.snapshot.config;
      n.snapshotsInstalled++;
    }
    if (crash === 'afterSnapshot') return this.crash(n.id);
    n.storage.append(rd.entries);
    this.safety.persisted(n.id, rd.entries, (i) => n.storage.term(i));
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    if (crash === 'afterPersist') return this.crash(n.id);
    for (const m of rd.messages) {
      if (sendableBeforePersist(m)) continue;
      const data = m.type === 'snapshot' ? this.#snapshotBytes(n, m.snapshot.index) : null;
      const sent = this.net.send(m, this.now, data);
      if (m.type === 'snapshot') this.#snapshotReports.push({ from: n.id, to: m.to, ok: sent });
    }
    for (const e of rd.committedEntries) {
      this.safety.applied(n.id, e);
      let output: KvOutput | null = null;
      if (e.type === 'config') n.appliedConfig = applyConfigChange(n.appliedConfig, decodeConfigChange(e.data));
      else if (e.data.length > 0) output = n.kv.apply(decodeCommand(e.data));
      this.hooks.onApplied?.(n, e, output);
    }
    for (const rs of rd.readStates) this.hooks.onReadState?.(n, rs);
    r.advance();
  }

  #snapshotBytes(n: SimNode, index: LogIndex): Uint8Array {
    if (n.storage.snapshot().index === index) return n.snapshotData;
    const older = n.snapshotHistory.get(index);
    if (!older) throw new Error(`${n.id}: asked to send snapshot ${index}, holds ${n.storage.snapshot().index}`);
    return older;
  }

  #flushSnapshotReports(): void {
    while (this.#snapshotReports.length > 0) {
      const rep = this.#snapshotReports.shift()!;
      const r = this.nodes.get(rep.from)?.raft;
      if (r) r.reportSnapshot(rep.to, rep.ok);
    }
  }

  #maybeCompact(n: SimNode, r: Raft): void {
    const every = this.opts.snapshotEvery ?? 0;
    const applied = r.log.applied;
    if (every <= 0 || applied - n.storage.firstIndex() + 1 < every) return;
    n.snapshotData = n.kv.snapshot();
    n.snapshotHistory.set(applied, n.snapshotData);
    for (const k of [...n.snapshotHistory.keys()].slice(0, -4)) n.snapshotHistory.delete(k);
    n.storage.compact({ index: applied, term: n.storage.term(applied) as Term, config: n.appliedConfig });
  }
}
