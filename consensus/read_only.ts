// Leader-side bookkeeping for linearizable reads (thesis §6.4): ReadIndex requests
// wait for a round of heartbeats, sent after they arrived, to be acknowledged by a
// majority; one round confirms every request queued before it (batching). The same
// rounds extend the optional leader lease (§6.4.1). Lives only inside a leader's role.
// Invariants: queue is ordered by round; a request is released only by a round > its arrival.

import type { LogIndex, NodeId } from './types.ts';
import type { ReadMode } from './options.ts';

export interface ReadRequest {
  readonly round: number;
  readonly index: LogIndex;
  readonly context: number;
  /** null for a read asked on this node. */
  readonly from: NodeId | null;
}

export class ReadTracker {
  /** The last heartbeat round broadcast. */
  round = 0;
  /** A round must be broadcast at the next Ready because a request is waiting for it. */
  roundWanted = false;
  readonly #sentAtTick = new Map<number, number>();
  readonly #acked = new Map<NodeId, number>();
  #queue: ReadRequest[] = [];
  /** Requests that arrived before the leader committed an entry of its term (§6.4 step 1). */
  waitingForTermCommit: Array<{ readonly context: number; readonly from: NodeId | null; readonly mode: ReadMode }> = [];
  /** The tick until which the lease (if enabled) lets the leader answer reads alone. */
  leaseUntilTick = -1;

  enqueue(index: LogIndex, context: number, from: NodeId | null): void {
    this.#queue.push({ round: this.round + 1, index, context, from });
    this.roundWanted = true;
  }

  /** Starts a new round at `tick`; returns its number, which heartbeats carry as their context. */
  startRound(tick: number, keepTicks: number): number {
    this.round++;
    this.roundWanted = false;
    this.#sentAtTick.set(this.round, tick);
    for (const [r, t] of this.#sentAtTick) {
      if (t >= tick - keepTicks) break;
      this.#sentAtTick.delete(r);
    }
    return this.round;
  }

  /**
   * Records `from` acknowledging `round`; returns the requests now confirmed by a
   * majority of `voters` (self counts as having acknowledged every round).
   */
  ack(self: NodeId, from: NodeId, round: number, voters: readonly NodeId[], leaseTicks: number): ReadRequest[] {
    if (round > (this.#acked.get(from) ?? 0)) this.#acked.set(from, round);
    const confirmed = this.confirmedRound(self, voters);
    const sentAt = this.#sentAtTick.get(confirmed);
    if (sentAt !== undefined && leaseTicks > 0) {
      this.leaseUntilTick = Math.max(this.leaseUntilTick, sentAt + leaseTicks);
    }
    return this.release(confirmed);
  }

  confirmedRound(self: NodeId, voters: readonly NodeId[]): number {
    if (voters.length === 0) return 0;
    const rounds = voters.map((v) => (v === self ? Number.MAX_SAFE_INTEGER : (this.#acked.get(v) ?? 0)));
    rounds.sort((a, b) => b - a);
    return rounds[Math.floor(voters.length / 2)]!;
  }

  /** Releases every queued request of a round <= `round`. */
  release(round: number): ReadRequest[] {
    let n = 0;
    while (n < this.#queue.length && this.#queue[n]!.round <= round) n++;
    if (n === 0) return [];
    const out = this.#queue.slice(0, n);
    this.#queue = this.#queue.slice(n);
    return out;
  }

  /** Everything still waiting, removed (leadership lost: each must be refused). */
  drain(): Array<{ readonly context: number; readonly from: NodeId | null }> {
    const out = [...this.waitingForTermCommit, ...this.#queue];
    this.waitingForTermCommit = [];
    this.#queue = [];
    return out;
  }

  pending(): number {
    return this.#queue.length + this.waitingForTermCommit.length;
  }
}
