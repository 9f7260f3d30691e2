// Owns the generic key operations of the state machine (strings, expiry, DEL, RENAME,
// COPY, MOVE, FLUSH*, WATCH stamps) on top of key_rows.ts; iteration is in key_iteration.ts.
// Invariants: deterministic (time is the caller's `nowMs`, the entry's leader stamp;
// randomness is the caller's `r`); every write runs inside a state transaction and
// stamps what it changes with the entry's `index`; a key whose deadline passed reads as absent.

import type { LogIndex } from '../../consensus/index.ts';
import type { StateDatabase } from './database.ts';
import { KeyIteration, scanPage, type DbKey, type IterRow, type KeyspaceDbInfo, type ScanPage } from './key_iteration.ts';
import type { Deadline } from './deadline.ts';
import { isExpired, KeyRows, STRING_TYPE, type KeyEntry, type KeyType, type ValueHooks } from './key_rows.ts';
import type { Statement } from './sqlite.ts';
import { globLiteralPrefix, globMatch, globPrefixEnd, isMatchAll } from './glob.ts';

/** Rows RANDOMKEY examines per step while looking for a live key. */
const RANDOM_KEY_PAGE = 64;

/** The deadline a write leaves on its key: absolute ms, none, or the key's current one (KEEPTTL). */
export type ExpiryUpdate = Deadline | null | 'keep';

export type RenameResult = 'renamed' | 'no_such_key' | 'same_key' | 'target_exists';
export type CopyResult = 'copied' | 'no_such_key' | 'same_object' | 'target_exists';
export type MoveResult = 'moved' | 'no_such_key' | 'same_object' | 'target_exists';

export class Keyspace {
  readonly state: StateDatabase;
  readonly rows: KeyRows;
  readonly #iteration: KeyIteration;
  readonly #externalInDb: Statement;
  readonly #externalAll: Statement;
  readonly #clearDb: readonly Statement[];
  readonly #clearAll: readonly Statement[];
  readonly #pruneTombstones: Statement;

  /**
   * Statements are bound to `state`'s connection: build a new Keyspace after a restore.
   * `rowCacheBytes` bounds the in-memory copy of recently used rows (row_cache.ts).
   */
  constructor(state: StateDatabase, hooks: ValueHooks = {}, rowCacheBytes?: number) {
    this.state = state;
    this.rows = new KeyRows(state, hooks, rowCacheBytes);
    this.#iteration = new KeyIteration(state.sqlite);
    const sql = state.sqlite;
    this.#externalInDb = sql.prepare('SELECT type, value FROM keys WHERE db = ? AND type = ? ORDER BY key');
    this.#externalAll = sql.prepare('SELECT type, value FROM keys WHERE type = ? ORDER BY db, key');
    // A flush tombstones the keys it removes (Redis touches the watched keys that existed),
    // and keeps older tombstones: a key deleted after a WATCH and before the flush still counts.
    const tombstoneRows = 'INSERT INTO tombstones (db, key, mod_index) SELECT db, key, ? FROM keys';
    const upsert = ' ON CONFLICT (db, key) DO UPDATE SET mod_index = excluded.mod_index';
    this.#clearDb = [sql.prepare(`${tombstoneRows} WHERE db = ?${upsert}`), sql.prepare('DELETE FROM keys WHERE db = ?')];
    this.#clearAll = [sql.prepare(`${tombstoneRows} WHERE true${upsert}`), sql.prepare('DELETE FROM keys')];
    this.#pruneTombstones = sql.prepare('DELETE FROM tombstones WHERE mod_index < ?');
  }

  // ---- point reads (never write; an expired row is simply not seen) ----

  lookup(db: number, key: Buffer, nowMs: number): KeyEntry | null {
    return this.rows.live(db, key, nowMs);
  }

  exists(db: number, key: Buffer, nowMs: number): boolean {
    return this.rows.live(db, key, nowMs) !== null;
  }

  /** The key's type, or null where Redis TYPE answers "none". */
  typeOf(db: number, key: Buffer, nowMs: number): KeyType | null {
    return this.rows.live(db, key, nowMs)?.type ?? null;
  }

  /**
   * WATCH stamp: the largest Raft index known to have changed `key` — its last write if
   * it exists (expired or not), else when it was removed, and no less than the last
   * FLUSHDB of its db or FLUSHALL; 0 if nothing is known. A key was touched after a
   * WATCH taken at applied index w iff `modStamp > w`, provided `tombstoneHorizon() <= w`
   * (otherwise its tombstone may be pruned: abort conservatively). Whether the key
   * expired in between is the caller's check (Redis 7 aborts EXEC on that too).
   */
  modStamp(db: number, key: Buffer): number {
    const row = this.rows.raw(db, key);
    const own = row !== null ? row.modIndex : (this.rows.tombstone(db, key) ?? 0);
    return own;
  }

  /** Tombstones with an index below this may have been pruned. */
  tombstoneHorizon(): number {
    return this.state.meta('tombstone_horizon');
  }

  // ---- iteration (key_iteration.ts): counts, and SQLite's rows merged with those only in memory ----

  /**
   * DBSIZE, counting only live keys: the db's row count (kept by KeyRows, so no flush)
   * less its rows past their deadline. O(expired rows), which active expiry keeps few.
   */
  dbSize(db: number, nowMs: number): number {
    return this.rows.rowCount(db) - this.#expired(db, nowMs).count;
  }

  /**
   * KEYS without writing rows back first: SQLite's keys (only those starting with the
   * pattern's literal prefix, when it has one), each as the row in memory has it now, and
   * the rows held only in memory. In no particular order, as Redis's.
   */
  keys(db: number, pattern: Buffer, nowMs: number): Buffer[] {
    const all = isMatchAll(pattern);
    const prefix = all ? Buffer.alloc(0) : globLiteralPrefix(pattern);
    const fresh = this.rows.freshRows(db, 0, Infinity);
    const freshIds = new Set(fresh.map((f) => f.entry.id));
    const out: Buffer[] = [];
    for (const { key, id, expired } of this.#iteration.keyRows(db, prefix, globPrefixEnd(prefix), nowMs)) {
      const now = this.rows.cachedRow(db, key);
      if (now === undefined) {
        if (expired) continue;
      } else if (now === null || now.id !== id || isExpired(now, nowMs) || freshIds.has(id)) {
        // Deleted since SQLite got it, created again (among the fresh rows, with its new
        // id), expired, or among the fresh rows with this id: not from here.
        continue;
      }
      if (all || globMatch(pattern, key)) out.push(key);
    }
    for (const { key, entry } of fresh) {
      if (!isExpired(entry, nowMs) && (all || globMatch(pattern, key))) out.push(key);
    }
    return out;
  }

  /**
   * SCAN without writing rows back first (after a burst of writes to many keys that took
   * ~0.8 s): SQLite's rows of the id range, each as the row in memory has it now (gone,
   * or created again with a new id: skipped), merged in id order with the rows held only
   * in memory. Every id of a page's range is looked at in both, so a key present for the
   * whole iteration is still returned (its id never changes).
   */
  scan(db: number, cursor: number, count: number, match: Buffer | null, type: KeyType | null, nowMs: number): ScanPage {
    if (!Number.isSafeInteger(count) || count < 1) throw new Error(`scan count ${count} must be a positive integer`);
    return scanPage(this.#rowsFrom(db, cursor, count + 1, type !== null, nowMs), count, match, type, nowMs);
  }

  /**
   * Up to `limit` rows of `db` from id `fromId` on, in id order: SQLite's as the rows in
   * memory have them now (`gone` if deleted or created again since), merged with the rows
   * held only in memory. No row is written back. Without `withType`, rows only in SQLite
   * come without their type and with a deadline only if it passed by `nowMs`
   * (KeyIteration.scanRows).
   */
  #rowsFrom(db: number, fromId: number, limit: number, withType: boolean, nowMs: number): IterRow[] {
    // `limit` of each: the limit-th id of the merge is among them.
    const stored = this.#iteration.scanRows(db, fromId, limit, withType, nowMs);
    const fresh = this.rows.freshRows(db, fromId, limit);
    const rows: IterRow[] = [];
    let i = 0;
    let j = 0;
    while (rows.length < limit && (i < stored.length || j < fresh.length)) {
      const s = stored[i];
      const f = fresh[j];
      if (f !== undefined && (s === undefined || f.entry.id <= s.id)) {
        rows.push({ key: f.key, type: f.entry.type, expiresAtMs: f.entry.expiresAtMs, id: f.entry.id });
        j++;
        if (s !== undefined && s.id === f.entry.id) i++;
        continue;
      }
      i++;
      const now = this.rows.cachedRow(db, s!.key);
      if (now === undefined) rows.push(s!);
      else if (now !== null && now.id === s!.id) rows.push({ key: s!.key, type: now.type, expiresAtMs: now.expiresAtMs, id: s!.id });
      // Deleted since SQLite got it, or created again (with a new id, among the fresh rows):
      // examined, not returned.
      else rows.push({ ...s!, gone: true });
    }
    return rows;
  }

  /**
   * SCAN over the rows SQLite holds alone, not merged with the rows in memory as `scan`
   * does: keys written since the last flush may be missing or shown as they were. For
   * monitoring that looks again anyway (the admin's stream watcher, 10 000 rows a
   * second), so that it skips the lookup of each row in memory.
   */
  scanFlushed(db: number, cursor: number, count: number, match: Buffer | null, type: KeyType | null, nowMs: number): ScanPage {
    return this.#iteration.scan(db, cursor, count, match, type, nowMs);
  }

  /**
   * RANDOMKEY, deterministic in `r` ∈ [0, 1): the first live key at or after the id at
   * fraction `r` of the db's id range (SQLite's and the rows only in memory), wrapping
   * around; null if the db has no live key. Keys after a gap in ids are likelier picks;
   * Redis's choice is not uniform either. No row is written back (as for SCAN).
   */
  randomKey(db: number, nowMs: number, r: number): Buffer | null {
    if (!(r >= 0 && r < 1)) throw new Error(`randomKey r=${r} is not in [0, 1)`);
    const stored = this.#iteration.idBounds(db);
    const fresh = this.rows.freshIdBounds(db);
    const low = Math.min(stored?.low ?? Infinity, fresh?.low ?? Infinity);
    const high = Math.max(stored?.high ?? -Infinity, fresh?.high ?? -Infinity);
    if (low > high) return null;
    const from = low + Math.floor(r * (high - low + 1));
    return this.#firstLive(db, from, nowMs) ?? this.#firstLive(db, low, nowMs);
  }

  #firstLive(db: number, fromId: number, nowMs: number): Buffer | null {
    for (let cursor = fromId; ; ) {
      const rows = this.#rowsFrom(db, cursor, RANDOM_KEY_PAGE + 1, false, nowMs);
      for (const row of rows.slice(0, RANDOM_KEY_PAGE)) {
        if (row.gone !== true && (row.expiresAtMs === null || row.expiresAtMs >= nowMs)) return row.key;
      }
      if (rows.length <= RANDOM_KEY_PAGE) return null;
      cursor = rows[RANDOM_KEY_PAGE]!.id;
    }
  }

  /**
   * INFO keyspace: live keys and live keys with a deadline per db (that have keys), in db
   * order, with their mean time to live. From KeyRows' counts less the expired rows, as
   * dbSize: no flush, no scan.
   */
  keyspaceInfo(nowMs: number): KeyspaceDbInfo[] {
    const out: KeyspaceDbInfo[] = [];
    for (const db of this.rows.dbsWithRows().sort((a, b) => a - b)) {
      const expired = this.#expired(db, nowMs);
      const keys = this.rows.rowCount(db) - expired.count;
      if (keys <= 0) continue;
      const volatile = this.rows.volatileRows(db);
      const expires = volatile.count - expired.count;
      const avgTtlMs = expires === 0 ? 0 : Number((volatile.deadlineSum - expired.deadlineSum) / BigInt(expires) - BigInt(nowMs));
      out.push({ db, keys, expires, avgTtlMs });
    }
    return out;
  }

  /** The rows of `db` whose deadline has passed, and the sum of those deadlines. */
  #expired(db: number, nowMs: number): { count: number; deadlineSum: bigint } {
    let count = 0;
    let deadlineSum = 0n;
    for (const { key, at } of this.#iteration.expiredIn(db, nowMs)) {
      // SQLite's row may have been replaced by a newer one in memory (without a deadline, or gone).
      const row = this.rows.raw(db, key);
      if (row === null || row.expiresAtMs !== at || !isExpired(row, nowMs)) continue;
      count++;
      deadlineSum += BigInt(at);
    }
    return { count, deadlineSum };
  }

  /**
   * Up to `limit` expired keys, earliest deadline first, without a flush (the leader asks
   * every 100 ms): SQLite's candidates, less those whose newer row in memory has no
   * deadline any more. A row with a deadline is always in SQLite as it is (key_rows.ts).
   */
  expiredKeys(limit: number, nowMs: number): DbKey[] {
    const out: DbKey[] = [];
    for (let offset = 0; out.length < limit; offset += limit) {
      const page = this.#iteration.expiredKeys(limit, nowMs, offset);
      for (const k of page) {
        const row = this.rows.raw(k.db, k.key);
        if (row !== null && isExpired(row, nowMs) && out.length < limit) out.push(k);
      }
      if (page.length < limit) break;
    }
    return out;
  }

  // ---- writes (inside a state transaction; `index` is the applying entry's) ----

  /** SET: store a string, replacing any value of any type; the key keeps its id if it existed. */
  setString(db: number, key: Buffer, value: Buffer, expiry: ExpiryUpdate, nowMs: number, index: LogIndex): void {
    this.setValue(db, key, STRING_TYPE, value, expiry, nowMs, index);
  }

  /**
   * Store `value` of `type` at `key`, releasing the old value's external data. A
   * deadline in the past is stored as given (as Redis 7 SET PXAT does): the key then reads
   * as absent and active expiry removes it.
   */
  setValue(
    db: number,
    key: Buffer,
    type: KeyType,
    value: Buffer | null,
    expiry: ExpiryUpdate,
    nowMs: number,
    index: LogIndex,
  ): void {
    const old = this.rows.liveForWrite(db, key, nowMs, index);
    const expiresAtMs = expiry === 'keep' ? (old?.expiresAtMs ?? null) : expiry;
    this.rows.put(db, key, old, type, value, expiresAtMs, index);
  }

  /** Mark a live key as written at `index` (its data changed in another table). */
  touch(db: number, key: Buffer, nowMs: number, index: LogIndex): boolean {
    if (this.rows.liveForWrite(db, key, nowMs, index) === null) return false;
    this.rows.touch(db, key, index);
    return true;
  }

  /** DEL/UNLINK of one key: true if it existed (an expired key is removed but counts as absent). */
  delete(db: number, key: Buffer, nowMs: number, index: LogIndex): boolean {
    const entry = this.rows.liveForWrite(db, key, nowMs, index);
    if (entry === null) return false;
    this.rows.remove(db, key, entry, index, 'release');
    return true;
  }

  /**
   * EXPIRE family and PERSIST, returning Redis's reply as a boolean. A number is an absolute
   * deadline: false if the key is absent, else true, and a deadline `<= nowMs` deletes the
   * key (Redis `checkAlreadyExpired`). null removes the deadline: true only if there was
   * one. NX/XX/GT/LT are the caller's to decide from `lookup` first.
   */
  setExpiry(db: number, key: Buffer, expiresAtMs: Deadline | null, nowMs: number, index: LogIndex): boolean {
    const entry = this.rows.liveForWrite(db, key, nowMs, index);
    if (entry === null) return false;
    if (expiresAtMs === null) {
      if (entry.expiresAtMs === null) return false;
      this.rows.setExpiresAt(db, key, null, index);
    } else if (expiresAtMs <= nowMs) {
      this.rows.remove(db, key, entry, index, 'release');
    } else {
      this.rows.setExpiresAt(db, key, expiresAtMs, index);
    }
    return true;
  }

  /**
   * RENAME (`mode` 'replace') and RENAMENX ('nx'): move value and deadline from `src` to
   * `dst`. `dst` keeps its id if it existed, else gets a new one; `src` is tombstoned.
   * Redis checks `src` before anything else and treats `src == dst` as a no-op success
   * ('same_key': RENAME replies OK, RENAMENX 0).
   */
  rename(db: number, src: Buffer, dst: Buffer, mode: 'replace' | 'nx', nowMs: number, index: LogIndex): RenameResult {
    const entry = this.rows.liveForWrite(db, src, nowMs, index);
    if (entry === null) return 'no_such_key';
    if (src.equals(dst)) return 'same_key';
    const target = this.rows.liveForWrite(db, dst, nowMs, index);
    if (target !== null && mode === 'nx') return 'target_exists';
    this.rows.remove(db, src, entry, index, 'moved');
    this.rows.put(db, dst, target, entry.type, entry.value, entry.expiresAtMs, index);
    return 'renamed';
  }

  /** COPY: duplicate value and deadline; `replace` overwrites a live `dst` (keeping its id). */
  copy(
    srcDb: number,
    src: Buffer,
    dstDb: number,
    dst: Buffer,
    replace: boolean,
    nowMs: number,
    index: LogIndex,
  ): CopyResult {
    if (srcDb === dstDb && src.equals(dst)) return 'same_object';
    const entry = this.rows.liveForWrite(srcDb, src, nowMs, index);
    if (entry === null) return 'no_such_key';
    const target = this.rows.liveForWrite(dstDb, dst, nowMs, index);
    if (target !== null && !replace) return 'target_exists';
    const value = this.rows.cloneValue(entry);
    this.rows.put(dstDb, dst, target, entry.type, value, entry.expiresAtMs, index);
    return 'copied';
  }

  /** MOVE: to the same key in `dstDb`, only if absent there; the moved key gets a new id. */
  move(db: number, key: Buffer, dstDb: number, nowMs: number, index: LogIndex): MoveResult {
    if (db === dstDb) return 'same_object';
    const entry = this.rows.liveForWrite(db, key, nowMs, index);
    if (entry === null) return 'no_such_key';
    if (this.rows.liveForWrite(dstDb, key, nowMs, index) !== null) return 'target_exists';
    this.rows.remove(db, key, entry, index, 'moved');
    this.rows.create(dstDb, key, entry.type, entry.value, entry.expiresAtMs, index);
    return 'moved';
  }

  /**
   * FLUSHDB: remove every key of `db`. Instead of one tombstone per key, the db's flush
   * index is raised, which `modStamp` folds in for every key of the db.
   */
  flushDb(db: number, index: LogIndex): void {
    this.state.assertInTransaction('flushDb');
    this.rows.flush();
    for (const type of this.rows.externalTypes) {
      // Collected first: a release hook writes, which SQLite refuses while a SELECT is being stepped.
      for (const row of this.#externalInDb.all(db, type)) this.rows.release(row as KeyEntry);
    }
    this.#clearDb[0]!.run(index, db);
    this.#clearDb[1]!.run(db);
    this.rows.bulkDeleted(db);
  }

  /** FLUSHALL: every db; every removed key is tombstoned at `index`. */
  flushAll(index: LogIndex): void {
    this.state.assertInTransaction('flushAll');
    this.rows.flush();
    for (const type of this.rows.externalTypes) {
      for (const row of this.#externalAll.all(type)) this.rows.release(row as KeyEntry);
    }
    this.#clearAll[0]!.run(index);
    this.#clearAll[1]!.run();
    this.rows.bulkDeleted(null);
  }

  /**
   * Active expiry, as proposed by the leader from `expiredKeys`: delete those of `list`
   * that are still expired at `nowMs` (a key may have been rewritten since the sample).
   * Returns the keys deleted, in `list` order.
   */
  deleteExpired(list: readonly DbKey[], nowMs: number, index: LogIndex): DbKey[] {
    const deleted: DbKey[] = [];
    for (const item of list) {
      const entry = this.rows.raw(item.db, item.key);
      if (entry === null || !isExpired(entry, nowMs)) continue;
      this.rows.remove(item.db, item.key, entry, index, 'release');
      deleted.push(item);
    }
    return deleted;
  }

  /**
   * Forget tombstones written before `belowIndex` and raise the horizon. It changes state,
   * so it must run in `apply` at the same point on every replica (e.g. driven by a log
   * entry or by the applied index), never from a local timer.
   */
  pruneTombstones(belowIndex: LogIndex): number {
    this.state.assertInTransaction('pruneTombstones');
    const removed = this.#pruneTombstones.run(belowIndex).changes;
    this.state.setMeta('tombstone_horizon', Math.max(belowIndex, this.tombstoneHorizon()));
    return removed;
  }
}
