// Where the cluster's nodes are and which one leads, learned from any reachable node
// (RAFT NODES: every node's id, role, leadership and announced RESP address), and which
// nodes failed recently. Knows no commands and holds no connections of its own: probing
// a node is injected. At most one refresh runs at a time.

import { formatAddress, parseAddress, type Address } from './options.ts';

export interface Member {
  readonly id: string;
  /** null until the node announced where clients reach it. */
  readonly addr: Address | null;
  readonly voter: boolean;
  readonly leader: boolean;
  /** The node that answered this RAFT NODES is this one. */
  readonly self: boolean;
}

/** Sends RAFT NODES to one node and resolves its raw reply (rejects when unreachable). */
export type Probe = (addr: Address) => Promise<unknown>;

const PROBES_MAX = 16;

const truthy = (v: unknown): boolean => v === true || v === 1 || v === '1' || v === 'true';

/** One RAFT NODES row: a RESP3 map, which ioredis hands over flattened ([k, v, k, v...]) or as an object. */
function row(x: unknown): Member | null {
  let f: Record<string, unknown>;
  if (Array.isArray(x)) {
    f = {};
    for (let i = 0; i + 1 < x.length; i += 2) f[String(x[i])] = x[i + 1];
  } else if (x !== null && typeof x === 'object') f = x as Record<string, unknown>;
  else return null;
  if (typeof f['id'] !== 'string') return null;
  let addr: Address | null = null;
  try {
    addr = typeof f['addr'] === 'string' && f['addr'] !== '' ? parseAddress(f['addr']) : null;
  } catch {
    addr = null; // an address we cannot parse is as good as none
  }
  return { id: f['id'], addr, voter: f['role'] === 'voter', leader: truthy(f['leader']), self: truthy(f['self']) };
}

/** Parses a RAFT NODES reply; rows it cannot read are left out. */
export function parseRaftNodes(reply: unknown): Member[] {
  if (!Array.isArray(reply)) return [];
  return reply.map(row).filter((m): m is Member => m !== null);
}

export interface TopologyOptions {
  readonly seeds: readonly Address[];
  readonly probe: Probe;
  readonly failureMemoryMs: number;
  /** How long target() waits (answers null) for a reachable leader before naming another node. */
  readonly leaderWaitMs: number;
  readonly now?: () => number;
}

export class Topology {
  readonly #seeds: readonly Address[];
  readonly #probe: Probe;
  readonly #memoryMs: number;
  readonly #leaderWaitMs: number;
  readonly #now: () => number;
  /** Since when no reachable leader is known (null while one is). */
  #leaderlessSince: number | null;
  #members: readonly Member[] = [];
  #leader: Address | null = null;
  readonly #failedUntil = new Map<string, number>();
  #refreshing: Promise<void> | null = null;

  constructor(o: TopologyOptions) {
    this.#seeds = o.seeds;
    this.#probe = o.probe;
    this.#memoryMs = o.failureMemoryMs;
    this.#leaderWaitMs = o.leaderWaitMs;
    this.#now = o.now ?? (() => performance.now());
    this.#leaderlessSince = this.#now();
  }

  members(): readonly Member[] {
    return this.#members;
  }

  /** The leader's address as last learned (it may have failed since). */
  leader(): Address | null {
    return this.#leader;
  }

  noteFailure(a: Address): void {
    this.#failedUntil.set(formatAddress(a), this.#now() + this.#memoryMs);
    if (this.#leader !== null && formatAddress(this.#leader) === formatAddress(a)) this.#leaderlessSince ??= this.#now();
  }

  failedRecently(a: Address): boolean {
    const until = this.#failedUntil.get(formatAddress(a));
    return until !== undefined && until > this.#now();
  }

  /** True while the leader is unknown or unreachable: the caller should refresh soon. */
  degraded(): boolean {
    return this.#leader === null || this.failedRecently(this.#leader);
  }

  /** Every address known: members (voters first), then seeds; no duplicates. */
  addresses(): Address[] {
    const seen = new Set<string>();
    const out: Address[] = [];
    const ordered = [...this.#members.filter((m) => m.voter), ...this.#members.filter((m) => !m.voter)];
    for (const a of [...ordered.map((m) => m.addr), ...this.#seeds]) {
      if (a === null || seen.has(formatAddress(a))) continue;
      seen.add(formatAddress(a));
      out.push(a);
    }
    return out;
  }

  /**
   * Where to send commands: the leader unless it failed recently. Without one, null (wait
   * and retry) for up to leaderWaitMs, since an election usually names a new leader
   * sooner than a follower could forward a backlog; after that another node (it forwards
   * writes to whichever leader comes next), the least recently failed if all did.
   */
  target(): Address | null {
    if (this.#leader !== null && !this.failedRecently(this.#leader)) {
      this.#leaderlessSince = null;
      return this.#leader;
    }
    const since = (this.#leaderlessSince ??= this.#now());
    if (this.#now() - since < this.#leaderWaitMs) return null;
    const all = this.addresses();
    const fine = all.find((a) => !this.failedRecently(a));
    if (fine) return fine;
    const until = (a: Address): number => this.#failedUntil.get(formatAddress(a)) ?? 0;
    return all.reduce((best, a) => (until(a) < until(best) ? a : best));
  }

  /** Asks every known node (in parallel) for RAFT NODES; resolves when all answered or failed. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    const targets = this.addresses().slice(0, PROBES_MAX);
    const answers = await Promise.all(
      targets.map(async (a) => {
        try {
          return parseRaftNodes(await this.#probe(a));
        } catch {
          this.noteFailure(a);
          return null;
        }
      }),
    );
    const views = answers.filter((v): v is Member[] => v !== null && v.length > 0);
    if (views.length === 0) return;
    this.#adopt(views);
  }

  /** The leader most nodes name (a node's claim about itself breaks ties); members from that view. */
  #adopt(views: readonly Member[][]): void {
    const votes = new Map<string, { addr: Address; n: number; view: Member[] }>();
    for (const v of views) {
      const l = v.find((m) => m.leader && m.addr !== null);
      if (!l) continue;
      const key = formatAddress(l.addr!);
      const e = votes.get(key) ?? { addr: l.addr!, n: 0, view: v };
      e.n += l.self ? 1.5 : 1;
      if (l.self) e.view = v;
      votes.set(key, e);
    }
    const best = [...votes.values()].sort((a, b) => b.n - a.n)[0];
    this.#leader = best?.addr ?? null;
    this.#members = best?.view ?? views.reduce((a, b) => (b.length > a.length ? b : a));
  }
}
