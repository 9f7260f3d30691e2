// Owns the rows of `keys` and `tombstones` and the invariants that tie them together:
// a key's `id` comes from a counter (meta `next_key_id`) when it starts to exist, is kept
// while it exists (overwrites included) and never reused; every removal writes a tombstone
// at the removing index (a live row's own stamp takes precedence over it); values of types stored
// outside `keys.value` are released through their hooks exactly when their row stops holding them.
// Write-back: a write changes the in-memory copy of the row (row_cache.ts) and SQLite gets
// it when `flush` runs (before every commit and before a query over many keys; the rows
// dirty longest go earlier, a few at a time, once writing them all would stall the node
// too long or they outgrow the copy's bound), so a key written many times between
// commits costs one row write. Rows with a deadline go at once: the expiry index must see them.

import type { LogIndex } from '../../consensus/index.ts';
import type { StateDatabase } from './database.ts';
import type { Statement } from './sqlite.ts';
import { RowCache, type DirtyRow } from './row_cache.ts';

/** A Redis data type as stored in `keys.type` ('string' today; 'stream' and others later). */
export type KeyType = string;
export const STRING_TYPE: KeyType = 'string';

/** A key's row. `expiresAtMs` is an absolute deadline; the key is gone once `nowMs > expiresAtMs`. */
export interface KeyEntry {
  readonly type: KeyType;
  /** The string's bytes; for types kept in other tables, a reference those tables own. */
  readonly value: Buffer | null;
  readonly expiresAtMs: number | null;
  /** SCAN identity (see file comment). */
  readonly id: number;
  /** Raft index of the entry that last wrote this key. */
  readonly modIndex: number;
}

/**
 * For a type whose data lives in other tables and `keys.value` holds a reference: how to
 * free that data and how to deep-copy it (COPY). Both run inside the applying
 * transaction and must be deterministic. RENAME and MOVE move the reference unchanged.
 */
export interface ExternalValueHooks {
  release(value: Buffer | null): void;
  clone(value: Buffer | null): Buffer | null;
}

export type ValueHooks = Readonly<Record<KeyType, ExternalValueHooks>>;

/** Redis `keyIsExpired`: `now > when`, so a key is still readable at its deadline ms. */
export function isExpired(entry: KeyEntry, nowMs: number): boolean {
  return entry.expiresAtMs !== null && entry.expiresAtMs < nowMs;
}

/** The dirty rows may take this long to write back at once (a commit does)... */
const DIRTY_FLUSH_MS_MAX = 150;
/** ...beyond it, the rows dirty longest are written back, this long's worth at a time (at least PARTIAL_FLUSH_ROWS_MIN rows). */
const PARTIAL_FLUSH_MS = 15;
const PARTIAL_FLUSH_ROWS_MIN = 64;
/** The cost of writing back one row until one is measured (a hot table; a cold one costs ~10x). */
const ROW_WRITE_US_DEFAULT = 5;

export function assertDeadline(expiresAtMs: number | null): void {
  if (expiresAtMs !== null && !Number.isSafeInteger(expiresAtMs)) {
    throw new Error(`expiry deadline ${expiresAtMs} is not a safe integer (the command layer must bound it)`);
  }
}

export class KeyRows {
  readonly state: StateDatabase;
  readonly #hooks: ValueHooks;
  readonly #select: Statement;
  readonly #upsert: Statement;
  readonly #update: Statement;
  readonly #delete: Statement;
  /** The id the next created key gets; written to meta before each commit. */
  #nextId: number;
  /** #nextId when each open transaction began (a rollback goes back to it). */
  readonly #nextIdAtBegin: number[] = [];
  /** Rows per db, counted once (lazily) and kept up to date by create/remove. */
  #rowCounts: Map<number, number> | null = null;
  readonly #countRows: Statement;
  readonly #writeTombstone: Statement;
  readonly #tombstone: Statement;
  readonly #clock: (() => number) | undefined;
  /** What writing back one row costs, in µs (measured when there is a clock). */
  #rowWriteUs = ROW_WRITE_US_DEFAULT;
  /** Recently used rows, and rows written since the last flush (write-back). */
  readonly #cache: RowCache;

  /**
   * `clock` (ms, monotonic; the node passes performance.now) measures what writing rows
   * back costs, to pace it; it never decides what is written. Without it the cost is
   * taken as ROW_WRITE_US_DEFAULT.
   */
  constructor(state: StateDatabase, hooks: ValueHooks = {}, cacheBytesMax?: number, clock?: () => number) {
    this.state = state;
    this.#clock = clock;
    this.#hooks = hooks;
    this.#cache = new RowCache(cacheBytesMax);
    this.#nextId = state.meta('next_key_id');
    state.onTransaction({
      begin: () => {
        this.#cache.begin();
        this.#nextIdAtBegin.push(this.#nextId);
      },
      commit: () => {
        this.#cache.commit();
        this.#nextIdAtBegin.pop();
      },
      rollback: () => {
        // SQLite undid the writes (and flushes) of the transaction: so does the cache.
        this.#cache.rollback();
        this.#nextId = this.#nextIdAtBegin.pop()!;
        this.#rowCounts = null;
      },
      beforeCommit: () => {
        this.flush();
        if (this.#nextId !== state.meta('next_key_id')) state.setMeta('next_key_id', this.#nextId);
      },
    });
    const sql = state.sqlite;
    this.#select = sql.prepare(
      'SELECT type, value, expires_at AS expiresAtMs, id, mod_index AS modIndex FROM keys WHERE db = ? AND key = ?',
    );
    this.#upsert = sql.prepare(
      'INSERT INTO keys (db, key, type, value, expires_at, id, mod_index) VALUES (?, ?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (db, key) DO UPDATE SET type = excluded.type, value = excluded.value, ' +
        'expires_at = excluded.expires_at, id = excluded.id, mod_index = excluded.mod_index',
    );
    this.#delete = sql.prepare('DELETE FROM keys WHERE db = ? AND key = ?');
    this.#update = sql.prepare('UPDATE keys SET type = ?, value = ?, expires_at = ?, mod_index = ? WHERE db = ? AND key = ?');
    this.#countRows = sql.prepare('SELECT db, count(*) AS n FROM keys GROUP BY db');
    this.#writeTombstone = sql.prepare(
      'INSERT INTO tombstones (db, key, mod_index) VALUES (?, ?, ?) ' +
        'ON CONFLICT (db, key) DO UPDATE SET mod_index = excluded.mod_index',
    );
    this.#tombstone = sql.prepare('SELECT mod_index FROM tombstones WHERE db = ? AND key = ?').pluck();
  }

  /**
   * Write every row changed since the last flush to SQLite (inside the open state
   * transaction). After it, SQLite's `keys` table is the keyspace as applied so far:
   * run it before any query that reads many rows of `keys` directly.
   */
  flush(): void {
    this.#writeBack(Infinity);
  }

  /** Rows changed since SQLite last got them. */
  get dirtyCount(): number {
    return this.#cache.dirtyCount;
  }

  /**
   * Writes up to `max` dirty rows to SQLite, those dirty longest first, in key order (a
   * B-tree walked in order costs about half as much per row as random inserts).
   */
  #writeBack(max: number): void {
    if (this.#cache.dirtyCount === 0) return;
    this.state.assertInTransaction('key flush');
    const startMs = this.#clock?.() ?? 0;
    const rows = this.#cache.takeDirty(max);
    rows.sort((a, b) => a.db - b.db || Buffer.compare(a.key, b.key));
    for (const row of rows) this.#writeBackRow(row);
    if (this.#clock !== undefined && rows.length >= 64) {
      const us = ((this.#clock() - startMs) * 1000) / rows.length;
      this.#rowWriteUs = this.#rowWriteUs * 0.7 + us * 0.3;
    }
  }

  /**
   * Keeps a flush short: once the dirty rows would take longer than DIRTY_FLUSH_MS_MAX to
   * write (by the cost measured so far), or hold the copy over its bound, the rows dirty
   * longest are written, PARTIAL_FLUSH_MS worth at a time. A commit writes all dirty rows
   * at once and a node serves nothing meanwhile (a leader stalled that long loses its
   * followers' trust): rows of a large table, cold in SQLite's cache, cost ~30 µs each,
   * hot ones ~3 µs.
   */
  #relieve(): void {
    const n = this.#cache.dirtyCount;
    if (!this.#cache.overBudget && n * this.#rowWriteUs <= DIRTY_FLUSH_MS_MAX * 1000) return;
    this.#writeBack(Math.max(PARTIAL_FLUSH_ROWS_MIN, Math.floor((PARTIAL_FLUSH_MS * 1000) / this.#rowWriteUs)));
  }

  /**
   * The cheapest statement for what SQLite holds: nothing for a key created and removed
   * since, an UPDATE that leaves the id (and so the unique id index) alone for a row it
   * has with the same id (~40 % cheaper than the upsert), else the upsert or DELETE.
   */
  #writeBackRow(row: DirtyRow): void {
    const { db, key, entry: e, persistedId } = row;
    if (e === null && persistedId === null) return;
    if (e !== null && persistedId === e.id && this.#update.run(e.type, e.value, e.expiresAtMs, e.modIndex, db, key).changes === 1) return;
    this.#writeRow(db, key, e);
  }

  #writeRow(db: number, key: Buffer, e: KeyEntry | null): void {
    if (e === null) this.#delete.run(db, key);
    else this.#upsert.run(db, key, e.type, e.value, e.expiresAtMs, e.id, e.modIndex);
  }

  /** Record the row's new contents: in SQLite now if it has a deadline, else at the next flush. */
  #store(db: number, key: Buffer, e: KeyEntry | null): void {
    if (e !== null && e.expiresAtMs !== null) {
      this.#writeRow(db, key, e);
      this.#cache.set(db, key, e);
    } else {
      this.#cache.write(db, key, e);
    }
    this.#relieve();
  }

  /** The row as stored, even if logically expired. */
  raw(db: number, key: Buffer): KeyEntry | null {
    const cached = this.#cache.get(db, key);
    if (cached !== undefined) return cached;
    const entry = (this.#select.get(db, key) as KeyEntry | undefined) ?? null;
    this.#cache.set(db, key, entry);
    return entry;
  }

  /** The row if the key exists at `nowMs` (read-only: an expired row is left for expiry). */
  live(db: number, key: Buffer, nowMs: number): KeyEntry | null {
    const entry = this.raw(db, key);
    return entry === null || isExpired(entry, nowMs) ? null : entry;
  }

  /**
   * For writes (Redis `lookupKeyWrite`): the live row, or null after removing the row
   * (with its tombstone at `index`) if it had expired.
   */
  liveForWrite(db: number, key: Buffer, nowMs: number, index: LogIndex): KeyEntry | null {
    const entry = this.raw(db, key);
    if (entry === null) return null;
    if (!isExpired(entry, nowMs)) return entry;
    this.remove(db, key, entry, index, 'release');
    return null;
  }

  /**
   * Make `key` exist (it must not have a row) with a fresh id from the counter: unique and
   * increasing in apply order, so the same on every replica. A stale tombstone of the key
   * may stay: modStamp prefers the live row's own stamp, and pruning removes it later.
   */
  create(db: number, key: Buffer, type: KeyType, value: Buffer | null, expiresAtMs: number | null, index: LogIndex): void {
    this.state.assertInTransaction('key write');
    assertDeadline(expiresAtMs);
    const id = this.#nextId++;
    this.#store(db, key, { type, value, expiresAtMs, id, modIndex: index });
    this.#adjustCount(db, 1);
  }

  /** Replace the contents of the existing row `old` of `key`, keeping its id. */
  overwrite(
    db: number,
    key: Buffer,
    old: KeyEntry,
    type: KeyType,
    value: Buffer | null,
    expiresAtMs: number | null,
    index: LogIndex,
  ): void {
    this.state.assertInTransaction('key write');
    assertDeadline(expiresAtMs);
    this.release(old);
    this.#store(db, key, { type, value, expiresAtMs, id: old.id, modIndex: index });
  }

  /** `old` if given (the live row) is overwritten in place, else the key is created. */
  put(
    db: number,
    key: Buffer,
    old: KeyEntry | null,
    type: KeyType,
    value: Buffer | null,
    expiresAtMs: number | null,
    index: LogIndex,
  ): void {
    if (old === null) this.create(db, key, type, value, expiresAtMs, index);
    else this.overwrite(db, key, old, type, value, expiresAtMs, index);
  }

  /**
   * Delete the row `entry` of `key` and tombstone it at `index`. 'moved': its value now
   * belongs to another row (RENAME, MOVE), so external data is not released.
   */
  remove(db: number, key: Buffer, entry: KeyEntry, index: LogIndex, value: 'release' | 'moved'): void {
    this.state.assertInTransaction('key write');
    if (value === 'release') this.release(entry);
    this.#store(db, key, null);
    this.#adjustCount(db, -1);
    this.#writeTombstone.run(db, key, index);
  }

  setExpiresAt(db: number, key: Buffer, expiresAtMs: number | null, index: LogIndex): void {
    this.state.assertInTransaction('key write');
    assertDeadline(expiresAtMs);
    const entry = this.raw(db, key);
    if (entry === null) throw new Error('setExpiresAt of a key without a row');
    if (expiresAtMs !== null) this.#store(db, key, { type: entry.type, value: entry.value, expiresAtMs, id: entry.id, modIndex: index });
    else this.#patch(db, key, { expiresAtMs, modIndex: index });
  }

  /** Record a write to the key's data held elsewhere (e.g. XADD) without changing the row. */
  touch(db: number, key: Buffer, index: LogIndex): void {
    this.state.assertInTransaction('key write');
    this.#patch(db, key, { modIndex: index });
  }

  /** A change of a row's deadline (to none) or write index, without rebuilding its value. */
  #patch(db: number, key: Buffer, fields: Pick<KeyEntry, 'modIndex'> & Partial<Pick<KeyEntry, 'expiresAtMs'>>): void {
    if (!this.#cache.patch(db, key, fields, true)) {
      // Not cached: SQLite has the row as it is.
      const e = this.raw(db, key);
      if (e === null) throw new Error('a patch of a key without a row');
      const expiresAtMs = fields.expiresAtMs === undefined ? e.expiresAtMs : fields.expiresAtMs;
      this.#store(db, key, { type: e.type, value: e.value, expiresAtMs, id: e.id, modIndex: fields.modIndex });
      return;
    }
    this.#relieve();
  }

  /** Rows of `db`, expired ones included: O(1) after the first call (which counts once). */
  rowCount(db: number): number {
    if (this.#rowCounts === null) {
      this.flush();
      this.#rowCounts = new Map();
      for (const r of this.#countRows.all() as Array<{ db: number; n: number }>) this.#rowCounts.set(r.db, r.n);
    }
    return this.#rowCounts.get(db) ?? 0;
  }

  /** The dbs that hold at least one row. */
  dbsWithRows(): number[] {
    this.rowCount(0);
    return [...this.#rowCounts!].filter(([, n]) => n > 0).map(([db]) => db);
  }

  /** After rows were deleted in bulk (FLUSHDB/FLUSHALL, after a flush): count again when next asked, read rows afresh. */
  bulkDeleted(): void {
    this.#rowCounts = null;
    this.#cache.clear();
  }

  #adjustCount(db: number, by: number): void {
    if (this.#rowCounts !== null) this.#rowCounts.set(db, (this.#rowCounts.get(db) ?? 0) + by);
  }

  /** Index at which the key last stopped existing, if remembered. */
  tombstone(db: number, key: Buffer): number | null {
    return (this.#tombstone.get(db, key) as number | undefined) ?? null;
  }

  /** The value to store in a copy of `entry` (a deep copy for external types). */
  cloneValue(entry: KeyEntry): Buffer | null {
    const hooks = this.#hooks[entry.type];
    return hooks === undefined ? entry.value : hooks.clone(entry.value);
  }

  /** Types whose rows need their hooks run before a bulk delete (flush). */
  get externalTypes(): readonly KeyType[] {
    return Object.keys(this.#hooks);
  }

  release(entry: KeyEntry): void {
    this.#hooks[entry.type]?.release(entry.value);
  }
}
