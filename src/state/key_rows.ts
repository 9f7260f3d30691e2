// Owns the rows of `keys` and `tombstones` and the invariants that tie them together:
// a key's `id` comes from a counter (meta `next_key_id`) when it starts to exist, is kept
// while it exists (overwrites included) and never reused; every removal writes a tombstone
// at the removing index (a live row's own stamp takes precedence over it); values of types stored
// outside `keys.value` are released through their hooks exactly when their row stops holding them.
// Write-back: a write changes the in-memory copy of the row (row_cache.ts); `keys` gets it
// later (before a query over many keys; the rows dirty longest when the copies outgrow
// their bound, and a few before every timed commit), so a key written many times costs one row
// write. A commit saves the rows still dirty as one overlay (key_overlay.ts) instead:
// a few MiB written in order, not thousands of B-tree writes that would stall the node.
// Rows with a deadline go to `keys` at once: the expiry index must see them.

import type { LogIndex } from '../../consensus/index.ts';
import type { StateDatabase } from './database.ts';
import type { Statement } from './sqlite.ts';
import { RowCache, type DirtyRow, type FreshRow } from './row_cache.ts';
import { assertDeadline, deadlineFromSql, EXPIRES_AT_EXACT, type Deadline } from './deadline.ts';
import { KeyCounts } from './key_counts.ts';
import { applyOverlay, OverlayWriter } from './key_overlay.ts';

/** A Redis data type as stored in `keys.type` ('string' today; 'stream' and others later). */
export type KeyType = string;
export const STRING_TYPE: KeyType = 'string';

/** A key's row. `expiresAtMs` is an absolute deadline; the key is gone once `nowMs > expiresAtMs`. */
export interface KeyEntry {
  readonly type: KeyType;
  /** The string's bytes; for types kept in other tables, a reference those tables own. */
  readonly value: Buffer | null;
  readonly expiresAtMs: Deadline | null;
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

/** When dirty rows keep the copies over their bound, this many of those dirty longest go to `keys` (~0.5 ms hot, ~8 ms cold). */
const PARTIAL_FLUSH_ROWS = 128;
/** The key overlay is rewritten whole once it holds more than this and more than twice the dirty rows. */
const OVERLAY_REWRITE_BYTES_MIN = 16 * 1024 * 1024;


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
  /** Rows and deadlines per db, for DBSIZE and INFO keyspace (key_counts.ts). */
  readonly #counts: KeyCounts;
  readonly #writeTombstone: Statement;
  readonly #tombstone: Statement;
  readonly #clearOverlay: Statement;
  readonly #saveChunk: Statement;
  /** Bytes the key overlay holds (records of the commits since it was last rewritten whole). */
  #overlayBytes = 0;
  #overlayNextSeq = 1;
  /** Keys written to `keys` since the last commit, as `db:name`: their overlay records (if any) are stale. */
  #wroteToKeys = new Map<string, { readonly db: number; readonly name: string }>();
  /** The next commit rewrites the overlay whole (after a rollback or a bulk delete, which the records cannot tell). */
  #rewriteOverlay = false;
  /** Recently used rows, and rows written since the last flush (write-back). */
  readonly #cache: RowCache;

  /** Lays the overlay the last commit saved into `keys` (so all rows start clean). */
  constructor(state: StateDatabase, hooks: ValueHooks = {}, cacheBytesMax?: number) {
    this.state = state;
    this.#hooks = hooks;
    applyOverlay(state);
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
        this.#counts.forget();
        this.#rewriteOverlay = true;
      },
      beforeCommit: () => {
        this.#saveOverlay();
        if (this.#nextId !== state.meta('next_key_id')) state.setMeta('next_key_id', this.#nextId);
      },
    });
    const sql = state.sqlite;
    this.#select = sql.prepare(
      `SELECT type, value, ${EXPIRES_AT_EXACT} AS expiresAtMs, id, mod_index AS modIndex FROM keys WHERE db = ? AND key = ?`,
    );
    this.#upsert = sql.prepare(
      'INSERT INTO keys (db, key, type, value, expires_at, id, mod_index) VALUES (?, ?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (db, key) DO UPDATE SET type = excluded.type, value = excluded.value, ' +
        'expires_at = excluded.expires_at, id = excluded.id, mod_index = excluded.mod_index',
    );
    this.#delete = sql.prepare('DELETE FROM keys WHERE db = ? AND key = ?');
    this.#update = sql.prepare('UPDATE keys SET type = ?, value = ?, expires_at = ?, mod_index = ? WHERE db = ? AND key = ?');
    this.#counts = new KeyCounts(sql, () => this.flush());
    this.#writeTombstone = sql.prepare(
      'INSERT INTO tombstones (db, key, mod_index) VALUES (?, ?, ?) ' +
        'ON CONFLICT (db, key) DO UPDATE SET mod_index = excluded.mod_index',
    );
    this.#tombstone = sql.prepare('SELECT mod_index FROM tombstones WHERE db = ? AND key = ?').pluck();
    this.#clearOverlay = sql.prepare('DELETE FROM key_overlay');
    this.#saveChunk = sql.prepare('INSERT INTO key_overlay (seq, data) VALUES (?, ?)');
    // Now, while no row is held in memory: counted later, they would be written back first.
    this.#counts.load();
  }

  /**
   * Makes the overlay say what this commit holds: by appending the records of what changed
   * since the last commit (rows written since and dirty now; 'keys' for keys written to
   * `keys` since), or, when the overlay has grown to more than twice the dirty rows (or
   * after a rollback or bulk delete), by rewriting it whole from the dirty rows. So a
   * commit's cost follows what changed, not how many rows are dirty.
   */
  #saveOverlay(): void {
    const whole = this.#rewriteOverlay || this.#overlayBytes > Math.max(OVERLAY_REWRITE_BYTES_MIN, 2 * this.#cache.dirtyBytes);
    const w = new OverlayWriter();
    if (whole) {
      if (this.#overlayBytes > 0) this.#clearOverlay.run();
      this.#overlayBytes = 0;
      this.#overlayNextSeq = 1;
      this.#cache.forEachDirty((db, name, entry, text) => w.add(db, name, entry, text));
      this.#cache.takeChanged(() => {});
    } else {
      for (const { db, name } of this.#wroteToKeys.values()) w.add(db, name, 'keys');
      this.#cache.takeChanged((db, name, entry, text) => w.add(db, name, entry, text));
    }
    this.#wroteToKeys.clear();
    this.#rewriteOverlay = false;
    for (const chunk of w.finish()) {
      this.#saveChunk.run(this.#overlayNextSeq++, chunk);
      this.#overlayBytes += chunk.length;
    }
  }

  /**
   * Write every row changed since the last flush to `keys`. After it, SQLite's `keys`
   * table is the keyspace as applied so far: run it before any query that reads many rows
   * of `keys` directly. Inside the open state transaction if there is one; else (a read
   * after a commit that left rows dirty, as the overlay) in one of its own, which changes
   * nothing the last commit did not hold already: those rows are unchanged since it.
   */
  flush(): void {
    if (this.#cache.dirtyCount === 0) return;
    if (this.state.inTransaction) this.#writeBack(Infinity);
    else this.state.transaction(() => this.#writeBack(Infinity));
  }

  /**
   * Writes up to `max` of the rows dirty longest to `keys` (in the open state transaction):
   * the node does so with each timed commit, so rows no longer written stop riding in the
   * overlay, and an idle keyspace drains into `keys`.
   */
  writeBackOldest(max: number): void {
    this.#writeBack(max);
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
    const rows = this.#cache.takeDirty(max);
    rows.sort((a, b) => a.db - b.db || Buffer.compare(a.key, b.key));
    for (const row of rows) this.#writeBackRow(row);
  }

  /**
   * When the dirty rows keep the copies over their bound (eviction takes clean rows
   * only), the rows dirty longest go to `keys`, a bounded number at a time, so no single
   * write stalls the node long (rows of a large table, cold in SQLite's cache, cost ~30 µs
   * each; hot ones ~3 µs).
   */
  #relieve(): void {
    if (this.#cache.overBudget) this.#writeBack(PARTIAL_FLUSH_ROWS);
  }

  /**
   * The cheapest statement for what SQLite holds: nothing for a key created and removed
   * since, an UPDATE that leaves the id (and so the unique id index) alone for a row it
   * has with the same id (~40 % cheaper than the upsert), else the upsert or DELETE.
   */
  #writeBackRow(row: DirtyRow): void {
    const { db, key, entry: e, persistedId } = row;
    if (e === null && persistedId === null) {
      // `keys` has no row: nothing to write, but an overlay record of the key is stale now.
      this.#noteWroteToKeys(db, key);
      return;
    }
    if (e !== null && persistedId === e.id && this.#update.run(e.type, e.value, e.expiresAtMs, e.modIndex, db, key).changes === 1) {
      this.#noteWroteToKeys(db, key);
      return;
    }
    this.#writeRow(db, key, e);
  }

  #writeRow(db: number, key: Buffer, e: KeyEntry | null): void {
    this.#noteWroteToKeys(db, key);
    if (e === null) this.#delete.run(db, key);
    else this.#upsert.run(db, key, e.type, e.value, e.expiresAtMs, e.id, e.modIndex);
  }

  #noteWroteToKeys(db: number, key: Buffer): void {
    const name = key.toString('latin1');
    this.#wroteToKeys.set(`${db}:${name}`, { db, name });
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

  /** The row the cache holds for the key (null: known absent), undefined if it holds none (then SQLite's is current). */
  cachedRow(db: number, key: Buffer): KeyEntry | null | undefined {
    return this.#cache.get(db, key);
  }

  /** Rows held only in memory with an id SQLite may not hold, id >= `fromId`, in id order (RowCache.freshRows). */
  freshRows(db: number, fromId: number, limit: number): FreshRow[] {
    return this.#cache.freshRows(db, fromId, limit);
  }

  /** The lowest and highest id among freshRows of `db`; null if none. */
  freshIdBounds(db: number): { readonly low: number; readonly high: number } | null {
    return this.#cache.freshIdBounds(db);
  }

  /** The row as stored, even if logically expired. */
  raw(db: number, key: Buffer): KeyEntry | null {
    const cached = this.#cache.get(db, key);
    if (cached !== undefined) return cached;
    const row = this.#select.get(db, key) as (Omit<KeyEntry, 'expiresAtMs'> & { expiresAtMs: number | string | null }) | undefined;
    const entry = row === undefined ? null : typeof row.expiresAtMs === 'string' ? { ...row, expiresAtMs: deadlineFromSql(row.expiresAtMs) } : (row as KeyEntry);
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
  create(db: number, key: Buffer, type: KeyType, value: Buffer | null, expiresAtMs: Deadline | null, index: LogIndex): void {
    this.state.assertInTransaction('key write');
    assertDeadline(expiresAtMs);
    const id = this.#nextId++;
    this.#store(db, key, { type, value, expiresAtMs, id, modIndex: index });
    this.#counts.adjust(db, 1, null, expiresAtMs);
  }

  /** Replace the contents of the existing row `old` of `key`, keeping its id. */
  overwrite(
    db: number,
    key: Buffer,
    old: KeyEntry,
    type: KeyType,
    value: Buffer | null,
    expiresAtMs: Deadline | null,
    index: LogIndex,
  ): void {
    this.state.assertInTransaction('key write');
    assertDeadline(expiresAtMs);
    this.release(old);
    this.#store(db, key, { type, value, expiresAtMs, id: old.id, modIndex: index });
    this.#counts.adjust(db, 0, old.expiresAtMs, expiresAtMs);
  }

  /** `old` if given (the live row) is overwritten in place, else the key is created. */
  put(
    db: number,
    key: Buffer,
    old: KeyEntry | null,
    type: KeyType,
    value: Buffer | null,
    expiresAtMs: Deadline | null,
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
    this.#counts.adjust(db, -1, entry.expiresAtMs, null);
    this.#writeTombstone.run(db, key, index);
  }

  setExpiresAt(db: number, key: Buffer, expiresAtMs: Deadline | null, index: LogIndex): void {
    this.state.assertInTransaction('key write');
    assertDeadline(expiresAtMs);
    const entry = this.raw(db, key);
    if (entry === null) throw new Error('setExpiresAt of a key without a row');
    this.#counts.adjust(db, 0, entry.expiresAtMs, expiresAtMs);
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
    return this.#counts.of(db).rows;
  }

  /** Rows of `db` with a deadline and the sum of their deadlines, expired ones included; O(1) as rowCount. */
  volatileRows(db: number): { readonly count: number; readonly deadlineSum: bigint } {
    return this.#counts.of(db);
  }

  /** The dbs that hold at least one row. */
  dbsWithRows(): number[] {
    return this.#counts.dbsWithRows();
  }

  /** After the rows of `db` (null: every db) were deleted in bulk (FLUSHDB/FLUSHALL, after a flush): read rows afresh. */
  bulkDeleted(db: number | null): void {
    this.#counts.emptied(db);
    this.#cache.clear();
    this.#rewriteOverlay = true;
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
