// Owns reading many keys at once: SCAN, KEYS, RANDOMKEY, DBSIZE, INFO keyspace and the
// expired-key sample for active expiry. Read-only and deterministic given its arguments.
// Invariant: iteration is in key id order, and ids are kept while a key exists and only
// grow, so a SCAN cursor (the next id to visit) never skips a key present throughout.

import { globMatch, isMatchAll } from './glob.ts';
import { deadlineFromSql, EXPIRES_AT_EXACT, type Deadline } from './deadline.ts';
import type { KeyType } from './key_rows.ts';
import type { Sqlite, Statement } from './sqlite.ts';

export interface DbKey {
  readonly db: number;
  readonly key: Buffer;
}

/** One SCAN reply: `cursor` 0 means the iteration is complete. */
export interface ScanPage {
  readonly cursor: number;
  readonly keys: Buffer[];
}

/** One `dbN:keys=..,expires=..,avg_ttl=..` line of INFO keyspace (only dbs with live keys). */
export interface KeyspaceDbInfo {
  readonly db: number;
  readonly keys: number;
  readonly expires: number;
  /** Mean remaining time to live of the keys with a deadline, in ms (0 if none). */
  readonly avgTtlMs: number;
}

export interface IterRow {
  readonly key: Buffer;
  /** null: not read (rows read for a SCAN without TYPE, or for RANDOMKEY). */
  readonly type: KeyType | null;
  readonly expiresAtMs: Deadline | null;
  readonly id: number;
  /** Examined but not a key any more (deleted or created again since SQLite got it). */
  readonly gone?: true;
}

/** A key SQLite holds, as KEYS reads it. */
export interface KeyRow {
  readonly key: Buffer;
  readonly id: number;
  /** Its deadline in SQLite has passed. */
  readonly expired: boolean;
}

export class KeyIteration {
  readonly #scanPage: Statement;
  readonly #scanIds: Statement;
  readonly #keyIds: Statement;
  readonly #keyRange: Statement;
  readonly #keyRangeFrom: Statement;
  readonly #expiredIn: Statement;
  readonly #idBounds: Statement;
  readonly #expired: Statement;

  constructor(sql: Sqlite) {
    const columns = 'key, type, expires_at AS expiresAtMs, id';
    this.#scanPage = sql.prepare(`SELECT ${columns} FROM keys WHERE db = ? AND id >= ? ORDER BY id LIMIT ?`);
    this.#scanIds = sql.prepare('SELECT key, id FROM keys INDEXED BY keys_by_id WHERE db = ? AND id >= ? ORDER BY id LIMIT ?').raw();
    // The id index holds (db, id, key): read alone, it answers without the table's rows and
    // their values (~2.5x faster over 600 000 keys than reading each row for its deadline).
    this.#keyIds = sql.prepare('SELECT key, id FROM keys INDEXED BY keys_by_id WHERE db = ? ORDER BY id').raw();
    const expired = '(expires_at IS NOT NULL AND expires_at < @now)';
    this.#keyRange = sql.prepare(`SELECT key, id, ${expired} FROM keys WHERE db = @db AND key >= @low AND key < @high`).raw();
    this.#keyRangeFrom = sql.prepare(`SELECT key, id, ${expired} FROM keys WHERE db = @db AND key >= @low`).raw();
    // The expiry index, named: left to itself the planner walks all of the db's rows.
    this.#expiredIn = sql.prepare(
      `SELECT key, ${EXPIRES_AT_EXACT} AS at FROM keys INDEXED BY keys_by_expiry WHERE expires_at < @now AND db = @db`,
    );
    // Two subqueries: SQLite finds a lone min() or max() at an end of the index, but
    // computes both of them in one query by reading every row of the db.
    this.#idBounds = sql.prepare('SELECT (SELECT min(id) FROM keys WHERE db = @db) AS low, (SELECT max(id) FROM keys WHERE db = @db) AS high');
    this.#expired = sql.prepare(
      'SELECT db, key FROM keys INDEXED BY keys_by_expiry WHERE expires_at < ? ORDER BY expires_at, db, key LIMIT ? OFFSET ?',
    );
  }

  /**
   * SCAN: examine up to `count` rows from id `cursor` on (0 = from the start), then
   * filter out expired keys, keys not matching `match`, and keys not of `type`; so a
   * page may hold fewer than `count` keys, even none, before the end. A key present
   * for the whole iteration is returned at least once (exactly once, in fact: ids are
   * unique and visited in increasing order); keys created meanwhile may or may not be.
   */
  scan(db: number, cursor: number, count: number, match: Buffer | null, type: KeyType | null, nowMs: number): ScanPage {
    if (!Number.isSafeInteger(count) || count < 1) throw new Error(`scan count ${count} must be a positive integer`);
    // One row more than examined tells where the next page starts (and that there is one).
    return scanPage(this.scanRows(db, cursor, count + 1), count, match, type, nowMs);
  }

  /**
   * Up to `limit` of `db`'s rows in SQLite from id `cursor` on, in id order (SCAN's rows).
   * With `withType` false, from the id index alone (no row's table entry, which holds its
   * value, is read: ~3x faster per row), without types, and with a deadline only for the
   * rows past it at `nowMs` (from the expiry index; the others get null: live at `nowMs`).
   */
  scanRows(db: number, cursor: number, limit: number, withType = true, nowMs = 0): IterRow[] {
    if (withType) return this.#scanPage.all(db, cursor, limit) as IterRow[];
    const rows = this.#scanIds.all(db, cursor, limit) as Array<[Buffer, number]>;
    const at = rows.length === 0 ? null : this.#expiredByName(db, nowMs);
    return rows.map(([key, id]) => ({ key, id, type: null, expiresAtMs: at === null ? null : (at.get(key.toString('latin1')) ?? null) }));
  }

  /**
   * KEYS's rows: every key of `db` SQLite holds starting with `prefix` (all of them when
   * empty), with its id and whether its deadline has passed. A prefix reads only its
   * range of the primary key; no prefix, the id index and the expired rows of the expiry
   * index (few: active expiry removes them). In no particular order.
   */
  keyRows(db: number, prefix: Buffer, end: Buffer | null, nowMs: number): KeyRow[] {
    if (prefix.length > 0) {
      const rows = (end === null ? this.#keyRangeFrom : this.#keyRange).all({ db, low: prefix, high: end, now: nowMs }) as Array<[Buffer, number, 0 | 1]>;
      return rows.map(([key, id, expired]) => ({ key, id, expired: expired === 1 }));
    }
    const at = this.#expiredByName(db, nowMs);
    const rows = this.#keyIds.all(db) as Array<[Buffer, number]>;
    return rows.map(([key, id]) => ({ key, id, expired: at !== null && at.has(key.toString('latin1')) }));
  }

  /** expiredIn's rows by key (latin1), for rows read without their deadline; null if none. */
  #expiredByName(db: number, nowMs: number): Map<string, Deadline> | null {
    const expired = this.expiredIn(db, nowMs);
    return expired.length === 0 ? null : new Map(expired.map((r) => [r.key.toString('latin1'), r.at]));
  }

  /**
   * The rows of `db` SQLite holds with a deadline before `nowMs`, with their deadlines:
   * every row whose deadline has passed is among them (a row with a deadline is in
   * SQLite as it is), and so may be rows a newer one in memory replaced. Few: active
   * expiry removes them. From the expiry index.
   */
  expiredIn(db: number, nowMs: number): Array<{ readonly key: Buffer; readonly at: Deadline }> {
    const rows = this.#expiredIn.all({ db, now: nowMs }) as Array<{ key: Buffer; at: number | string }>;
    return rows.map((r) => ({ key: r.key, at: deadlineFromSql(r.at)! }));
  }

  /** The lowest and highest id of `db`'s rows in SQLite; null if it has none. */
  idBounds(db: number): { readonly low: number; readonly high: number } | null {
    const bounds = this.#idBounds.get({ db }) as { low: number | null; high: number | null };
    return bounds.low === null || bounds.high === null ? null : { low: bounds.low, high: bounds.high };
  }

  /** Up to `limit` keys whose deadline has passed, earliest deadline first, from the `offset`-th (uses the expiry index). */
  expiredKeys(limit: number, nowMs: number, offset = 0): DbKey[] {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new Error(`expiredKeys limit ${limit} is invalid`);
    return this.#expired.all(nowMs, limit, offset) as DbKey[];
  }
}

/**
 * A SCAN page from `rows` (at most count + 1, in id order): the first `count` are
 * examined, less the expired ones, those not matching `match` and those not of `type`;
 * the next page starts at the id of the row after them (0: none, the end).
 */
export function scanPage(rows: readonly IterRow[], count: number, match: Buffer | null, type: KeyType | null, nowMs: number): ScanPage {
  const next = rows.length > count ? rows[count]!.id : 0;
  const usePattern = match !== null && !isMatchAll(match);
  const keys: Buffer[] = [];
  for (const row of rows.slice(0, count)) {
    if (row.gone === true) continue;
    if (row.expiresAtMs !== null && row.expiresAtMs < nowMs) continue;
    if (usePattern && !globMatch(match, row.key)) continue;
    if (type !== null && row.type !== type) continue;
    keys.push(row.key);
  }
  return { cursor: next, keys };
}
