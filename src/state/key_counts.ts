// Owns the per-db counts DBSIZE and INFO keyspace answer from: rows, rows with a
// deadline, and the sum of those deadlines (expired rows included; the keyspace subtracts
// those). Counted from SQLite when the state opens (`load`: no row is held in memory
// then), then kept by the writes (`adjust`) and bulk deletes (`emptied`); after a
// rollback (`forget`) the next question counts again, after the caller writes its rows
// back.

import { deadlineFromSql, EXPIRES_AT_EXACT, type Deadline } from './deadline.ts';
import type { Sqlite, Statement } from './sqlite.ts';

export interface DbCounts {
  rows: number;
  /** Rows with a deadline. */
  count: number;
  deadlineSum: bigint;
}

const NO_ROWS: Readonly<DbCounts> = Object.freeze({ rows: 0, count: 0, deadlineSum: 0n });

export class KeyCounts {
  #counts: Map<number, DbCounts> | null = null;
  readonly #countRows: Statement;
  readonly #deadlines: Statement;
  readonly #beforeCounting: () => void;

  /** `beforeCounting` makes SQLite's `keys` current (writes rows held in memory back). */
  constructor(sql: Sqlite, beforeCounting: () => void) {
    this.#countRows = sql.prepare('SELECT db, count(*) AS n FROM keys GROUP BY db');
    this.#deadlines = sql.prepare(`SELECT db, ${EXPIRES_AT_EXACT} AS at FROM keys INDEXED BY keys_by_expiry WHERE expires_at IS NOT NULL`);
    this.#beforeCounting = beforeCounting;
  }

  of(db: number): Readonly<DbCounts> {
    return this.#load().get(db) ?? NO_ROWS;
  }

  dbsWithRows(): number[] {
    return [...this.#load()].filter(([, c]) => c.rows > 0).map(([db]) => db);
  }

  forget(): void {
    this.#counts = null;
  }

  /** Counts now unless known (one scan of `keys`; ~50 ms for a million rows). */
  load(): void {
    this.#load();
  }

  /** Every row of `db` (null: of every db) was deleted. */
  emptied(db: number | null): void {
    if (this.#counts === null) return;
    if (db === null) this.#counts.clear();
    else this.#counts.delete(db);
  }

  /** A write added `rows` rows to `db` (-1, 0 or 1) and changed a row's deadline from `before` to `after`. */
  adjust(db: number, rows: number, before: Deadline | null, after: Deadline | null): void {
    if (this.#counts === null || (rows === 0 && before === after)) return;
    let c = this.#counts.get(db);
    if (c === undefined) this.#counts.set(db, (c = { rows: 0, count: 0, deadlineSum: 0n }));
    c.rows += rows;
    if (before !== null) {
      c.count--;
      c.deadlineSum -= BigInt(before);
    }
    if (after !== null) {
      c.count++;
      c.deadlineSum += BigInt(after);
    }
  }

  /** Counts rows (one scan of `keys`) and deadlines (of the expiry index) unless known. */
  #load(): Map<number, DbCounts> {
    if (this.#counts !== null) return this.#counts;
    this.#beforeCounting();
    const counts = new Map<number, DbCounts>();
    for (const r of this.#countRows.all() as Array<{ db: number; n: number }>) counts.set(r.db, { rows: r.n, count: 0, deadlineSum: 0n });
    for (const r of this.#deadlines.iterate() as Iterable<{ db: number; at: number | string }>) {
      const c = counts.get(r.db)!;
      c.count++;
      c.deadlineSum += BigInt(deadlineFromSql(r.at)!);
    }
    this.#counts = counts;
    return counts;
  }
}
