// Deduplication of forwarded writes: a follower re-sends a write to the (new) leader
// with the same (origin, seq) after a timeout or a leader change; the first apply
// records its reply, and any later apply of the same id returns that reply without
// executing again. Deterministic; pruned by applied index so the table stays bounded.

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

  constructor(state: StateDatabase) {
    this.#state = state;
    const sql = state.sqlite;
    this.#get = sql.prepare('SELECT reply FROM forwarded WHERE origin = ? AND seq = ?').pluck();
    this.#put = sql.prepare('INSERT INTO forwarded (origin, seq, applied_index, reply) VALUES (?, ?, ?, ?)');
    this.#prune = sql.prepare('DELETE FROM forwarded WHERE applied_index < ?');
  }

  /** The reply recorded for (origin, seq), or null if that write was never applied. */
  seen(origin: string, seq: bigint): Buffer | null {
    return (this.#get.get(origin, seq) as Buffer | undefined) ?? null;
  }

  record(origin: string, seq: bigint, index: LogIndex, reply: Buffer): void {
    this.#state.assertInTransaction('forwarded write');
    this.#put.run(origin, seq, index, reply);
    if (index % 4096 === 0) this.#prune.run(index - FORWARDED_KEEP_ENTRIES);
  }
}
