// Deduplication of forwarded writes: a follower re-sends a write to the (new) leader
// with the same (origin, seq) after a timeout or a leader change; the first apply
// records its reply, and any later apply of the same id returns that reply without
// executing again. Deterministic; pruned by applied index so the table stays bounded.
// Invariant: for each origin it knows, #maxSeq is at least the highest seq the table
// holds for it, so a seq above it was never recorded and needs no lookup.

import type { LogIndex } from '../../consensus/index.ts';
import type { StateDatabase } from './database.ts';
import type { Statement } from './sqlite.ts';

/** Forwards older than this many entries are forgotten (a retry never comes that late). */
export const FORWARDED_KEEP_ENTRIES = 1_000_000;

export class ForwardedWrites {
  readonly #state: StateDatabase;
  readonly #get: Statement;
  readonly #put: Statement;
  readonly #prune: Statement;
  readonly #maxOf: Statement;
  /**
   * Per origin, an upper bound of the seqs recorded (-1n: none). An origin's seqs grow, so
   * a first forward (nearly every one) is answered here without a lookup. Pruning and
   * rolled-back records leave it too high, which only costs a lookup: never wrong.
   */
  readonly #maxSeq = new Map<string, bigint>();

  constructor(state: StateDatabase) {
    this.#state = state;
    const sql = state.sqlite;
    this.#get = sql.prepare('SELECT reply FROM forwarded WHERE origin = ? AND seq = ?').pluck();
    this.#put = sql.prepare('INSERT INTO forwarded (origin, seq, applied_index, reply) VALUES (?, ?, ?, ?)');
    this.#prune = sql.prepare('DELETE FROM forwarded WHERE applied_index < ?');
    this.#maxOf = sql.prepare('SELECT MAX(seq) FROM forwarded WHERE origin = ?').pluck();
  }

  /** The reply recorded for (origin, seq), or null if that write was never applied. */
  seen(origin: string, seq: bigint): Buffer | null {
    if (seq > this.#upperBound(origin)) return null;
    return (this.#get.get(origin, seq) as Buffer | undefined) ?? null;
  }

  record(origin: string, seq: bigint, index: LogIndex, reply: Buffer): void {
    this.#state.assertInTransaction('forwarded write');
    this.#put.run(origin, seq, index, reply);
    if (seq > this.#upperBound(origin)) this.#maxSeq.set(origin, seq);
    if (index % 4096 === 0) this.#prune.run(index - FORWARDED_KEEP_ENTRIES);
  }

  #upperBound(origin: string): bigint {
    let max = this.#maxSeq.get(origin);
    if (max === undefined) {
      const found = this.#maxOf.get(origin) as number | bigint | null;
      max = found === null ? -1n : BigInt(found);
      this.#maxSeq.set(origin, max);
    }
    return max;
  }
}
