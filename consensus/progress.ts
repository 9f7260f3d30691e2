// What a leader knows of one follower's log: match and next index, and the
// replication mode (thesis §10.2 pipelining; etcd's probe/replicate/snapshot).
// Exists only inside a leader's role. Invariant: match < next; in `replicate`
// mode the in-flight window is bounded in messages and bytes.

import type { LogIndex } from './types.ts';

export type ReplicationMode =
  /** One append at a time until the follower's match is found. */
  | { readonly kind: 'probe'; probeSent: boolean }
  /** Optimistic pipelining: next advances as appends are sent, bounded by the window. */
  | { readonly kind: 'replicate' }
  /** A snapshot is on its way; no appends until it is reported. */
  | { readonly kind: 'snapshot'; readonly pendingIndex: LogIndex };

/** A ring of the last index of each append in flight, with their total bytes. */
export class Inflights {
  readonly #lastIndex: Float64Array;
  readonly #bytes: Float64Array;
  #start = 0;
  count = 0;
  bytes = 0;
  readonly maxCount: number;
  readonly maxBytes: number;

  constructor(maxCount: number, maxBytes: number) {
    this.maxCount = maxCount;
    this.maxBytes = maxBytes;
    this.#lastIndex = new Float64Array(maxCount);
    this.#bytes = new Float64Array(maxCount);
  }

  full(): boolean {
    return this.count >= this.maxCount || this.bytes >= this.maxBytes;
  }

  add(lastIndex: LogIndex, bytes: number): void {
    if (this.count >= this.maxCount) throw new Error('inflights overflow');
    const at = (this.#start + this.count) % this.maxCount;
    this.#lastIndex[at] = lastIndex;
    this.#bytes[at] = bytes;
    this.count++;
    this.bytes += bytes;
  }

  /** Frees every append whose last index is <= `index` (acknowledged). */
  freeTo(index: LogIndex): void {
    while (this.count > 0 && this.#lastIndex[this.#start]! <= index) {
      this.bytes -= this.#bytes[this.#start]!;
      this.#start = (this.#start + 1) % this.maxCount;
      this.count--;
    }
  }

  freeFirst(): void {
    if (this.count === 0) return;
    this.bytes -= this.#bytes[this.#start]!;
    this.#start = (this.#start + 1) % this.maxCount;
    this.count--;
  }

  reset(): void {
    this.#start = 0;
    this.count = 0;
    this.bytes = 0;
  }
}

export class Progress {
  match: LogIndex = 0 as LogIndex;
  next: LogIndex;
  mode: ReplicationMode = { kind: 'probe', probeSent: false };
  /** Heard from since the last check-quorum round. */
  recentActive = true;
  /** The highest commit index sent to this follower, so a commit advance is announced promptly. */
  sentCommit: LogIndex = 0 as LogIndex;
  readonly inflights: Inflights;

  constructor(next: LogIndex, maxInflightMsgs: number, maxInflightBytes: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflightMsgs, maxInflightBytes);
  }

  becomeProbe(): void {
    // After a snapshot the follower is known to hold at least the snapshot's index.
    const from = this.mode.kind === 'snapshot' ? Math.max(this.match, this.mode.pendingIndex) : this.match;
    this.mode = { kind: 'probe', probeSent: false };
    this.next = (from + 1) as LogIndex;
    this.inflights.reset();
  }

  markProbeSent(): void {
    if (this.mode.kind === 'probe') this.mode.probeSent = true;
  }

  becomeReplicate(): void {
    this.mode = { kind: 'replicate' };
    this.next = (this.match + 1) as LogIndex;
    this.inflights.reset();
  }

  becomeSnapshot(index: LogIndex): void {
    this.mode = { kind: 'snapshot', pendingIndex: index };
    this.inflights.reset();
  }

  /** True when no append may be sent now. */
  paused(): boolean {
    switch (this.mode.kind) {
      case 'probe':
        return this.mode.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
      default: {
        const never: never = this.mode;
        throw new Error(`unknown mode ${JSON.stringify(never)}`);
      }
    }
  }

  /** An acknowledgement up to `index`; returns whether match advanced. */
  maybeUpdate(index: LogIndex): boolean {
    if (this.mode.kind === 'probe') this.mode.probeSent = false;
    if (index <= this.match) return false;
    this.match = index;
    if (this.next <= index) this.next = (index + 1) as LogIndex;
    return true;
  }

  /**
   * A rejection of the append at `rejected` with a hint of where the follower's log may
   * match; returns false when the rejection is stale (thesis §3.5 with fast backtracking).
   */
  maybeDecrTo(rejected: LogIndex, matchHint: LogIndex): boolean {
    if (this.mode.kind === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = (this.match + 1) as LogIndex;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1) as LogIndex;
    if (this.mode.kind === 'probe') this.mode.probeSent = false;
    return true;
  }
}
