// Owns the in-memory copy of `keys` rows: recently used rows and keys known to be
// absent (clean: what SQLite holds), and rows written since SQLite last saw them (dirty:
// newer than SQLite, so the authority until KeyRows flushes them). Bounded by an estimate
// of the bytes it holds: clean entries go first (oldest first); dirty ones only by a flush.
// Journaled while a state transaction is open, so a rollback restores exactly what the
// cache held before it. Values must never be mutated in place (nothing in raftis does).

import { CompactRow, sizeOf, stored, textOf, type Stored } from './cached_row.ts';
import type { KeyEntry } from './key_rows.ts';

/** `#changed` may hold this many more slots than twice the dirty ones before its clean ones are dropped. */
const CHANGED_SLACK = 1024;

/**
 * About 100 000 rows of 100-byte values with 16-byte keys, or 20 000 of 1000-byte values.
 * The server sets its own bound (`--row-cache-mb`; docs/performance.md has what it costs
 * in memory).
 */
export const ROW_CACHE_BYTES_DEFAULT = 32 * 1024 * 1024;


/**
 * One cached key: its row (null: known absent) and whether SQLite has it yet. Found by
 * one Map lookup and changed in place, so a write after the lookup that preceded it
 * costs no second lookup.
 */
interface Slot {
  readonly db: number;
  /** The key's bytes as a latin1 string (one char per byte, so distinct keys never collide). */
  readonly name: string;
  stored: Stored | null;
  dirty: boolean;
  /** The id of the row SQLite holds for the key: null if none, undefined if not known. */
  persistedId: number | null | undefined;
  /** The last forEachDirty pass that visited it (a slot may be listed twice). */
  visited: number;
  /** The change round (see takeChanged) in which it was last written. */
  changedIn: number;
  /** The id it is listed with in `#fresh` (0: none). */
  freshId: number;
}

type Rows = Map<string, Slot>;

/** A row in memory whose id SQLite may not hold (see RowCache.freshRows). */
export interface FreshRow {
  readonly key: Buffer;
  readonly entry: KeyEntry;
}

/** A row SQLite does not hold yet (null: the key must be deleted there). */
export interface DirtyRow {
  readonly db: number;
  readonly key: Buffer;
  readonly entry: KeyEntry | null;
  /** The id of the row SQLite holds now: null if none, undefined if not known (choose the statement by it). */
  readonly persistedId: number | null | undefined;
}

/** What one change replaced, to undo it on rollback. */
type Undo =
  /** The slot's contents before a change; `inMap` false: it was not in `rows` (added, or evicted by the change). */
  | {
      readonly kind: 'slot';
      readonly rows: Rows;
      readonly slot: Slot;
      readonly prev: Stored | null;
      readonly prevDirty: boolean;
      readonly prevPersistedId: number | null | undefined;
      readonly inMap: boolean;
    }
  | { readonly kind: 'clear'; readonly dbs: Rows[]; readonly bytes: number };

export class RowCache {
  #dbs: Rows[] = [];
  /**
   * Slots in the order they turned dirty, oldest from `#dirtyHead` (an entry may be stale:
   * taken already, or clean again after a rollback; every dirty slot has one at or after the head).
   */
  #dirtySlots: Slot[] = [];
  #dirtyHead = 0;
  #passes = 0;
  /**
   * Dirty rows with an id SQLite may not hold (created, or deleted and created again, since
   * SQLite last got them), with that id, in id order: ids are handed out increasing, and
   * a rollback drops what it undid. Stale entries (written back since) are skipped.
   */
  #fresh: Array<{ readonly slot: Slot; readonly id: number }> = [];
  /** Slots written since the last takeChanged, in the order first written; `#round` counts those calls. */
  #changed: Slot[] = [];
  #round = 1;
  #bytes = 0;
  #dirtyBytes = 0;
  #dirtyCount = 0;
  /** The last eviction could not get under the bound for the dirty rows: they need a flush. */
  #evictionBlocked = false;
  readonly #bytesMax: number;
  #lastKey: Buffer | null = null;
  #lastName = '';
  /** The slot found last (a write follows the lookup of its key). */
  #lastSlot: Slot | null = null;
  /** Undo records of the open transactions (null when none is open); `#marks` where each one starts. */
  #journal: Undo[] | null = null;
  readonly #marks: number[] = [];

  constructor(bytesMax: number = ROW_CACHE_BYTES_DEFAULT) {
    if (!Number.isSafeInteger(bytesMax) || bytesMax < 0) throw new Error(`row cache size ${bytesMax} is not a byte count`);
    this.#bytesMax = bytesMax;
  }

  /** The cached row, null if the key is known to be absent, undefined if not cached. Never mutate it. */
  get(db: number, key: Buffer): KeyEntry | null | undefined {
    return this.#slot(db, key)?.stored;
  }

  /** Remember what SQLite holds for the key (clean: it may be forgotten at any time). */
  set(db: number, key: Buffer, entry: KeyEntry | null): void {
    const slot = this.#slot(db, key);
    if (this.#bytesMax === 0 && slot === undefined) return;
    this.#put(db, key, slot, entry === null ? null : stored(entry), false);
  }

  /** Record a write SQLite does not hold yet (dirty: kept until `takeDirty`). */
  write(db: number, key: Buffer, entry: KeyEntry | null): void {
    this.#put(db, key, this.#slot(db, key), entry === null ? null : stored(entry), true);
  }

  /**
   * Change the cached row's deadline or write index (the value, and so the size, stay),
   * as a write SQLite does not hold yet (`dirty`) or one it already holds. Returns false,
   * changing nothing, when the key has no cached row.
   */
  patch(db: number, key: Buffer, fields: Pick<KeyEntry, 'modIndex'> & Partial<Pick<KeyEntry, 'expiresAtMs'>>, dirty: boolean): boolean {
    const slot = this.#slot(db, key);
    const old = slot?.stored;
    if (slot === undefined || old === undefined || old === null) return false;
    const expiresAtMs = fields.expiresAtMs === undefined ? old.expiresAtMs : fields.expiresAtMs;
    const next =
      old instanceof CompactRow
        ? new CompactRow(old.type, old.text, expiresAtMs, old.id, fields.modIndex)
        : { type: old.type, value: old.value, expiresAtMs, id: old.id, modIndex: fields.modIndex };
    this.#put(db, key, slot, next, dirty || slot.dirty);
    return true;
  }

  /** Forget a clean key (its row changed in a way not worth mirroring). */
  drop(db: number, key: Buffer): void {
    const slot = this.#slot(db, key);
    if (slot === undefined) return;
    if (slot.dirty) throw new Error('a dirty row cannot be dropped: flush it first');
    this.#remove(this.#dbs[db]!, slot);
  }

  /** Forget everything (bulk deletes); there must be no dirty rows (flush first). */
  clear(): void {
    if (this.#dirtyCount > 0) throw new Error(`the row cache holds ${this.#dirtyCount} dirty rows: flush them before clearing`);
    this.#journal?.push({ kind: 'clear', dbs: this.#dbs, bytes: this.#bytes });
    this.#dbs = [];
    this.#bytes = 0;
    this.#lastSlot = null;
    this.#compactFresh();
  }

  /**
   * Up to `max` dirty rows, those dirty longest first, now marked clean: the caller writes
   * them to SQLite. Without `max`, all of them.
   */
  takeDirty(max = Infinity): DirtyRow[] {
    const out: DirtyRow[] = [];
    const list = this.#dirtySlots;
    let i = this.#dirtyHead;
    for (; i < list.length && out.length < max; i++) {
      const slot = list[i]!;
      if (!slot.dirty) continue;
      this.#record(this.#dbs[slot.db]!, slot, true);
      this.#account(slot, -1);
      slot.dirty = false;
      this.#account(slot, 1);
      out.push({ db: slot.db, key: Buffer.from(slot.name, 'latin1'), entry: slot.stored, persistedId: slot.persistedId });
      slot.persistedId = slot.stored === null ? null : slot.stored.id;
    }
    if (i >= list.length) {
      this.#dirtySlots = [];
      this.#dirtyHead = 0;
    } else if (i > 4096 && i * 2 > list.length) {
      this.#dirtySlots = list.slice(i);
      this.#dirtyHead = 0;
    } else {
      this.#dirtyHead = i;
    }
    this.#evictionBlocked = false;
    this.#evict();
    return out;
  }

  /**
   * Every dirty row, unchanged (they stay dirty): `name` is the key as a latin1 string,
   * `text` the value as one when the cache holds it so (else null: read `entry.value`).
   */
  forEachDirty(fn: (db: number, name: string, entry: KeyEntry | null, text: string | null) => void): void {
    const pass = ++this.#passes;
    const list = this.#dirtySlots;
    for (let i = this.#dirtyHead; i < list.length; i++) {
      const slot = list[i]!;
      if (!slot.dirty || slot.visited === pass) continue;
      slot.visited = pass;
      fn(slot.db, slot.name, slot.stored, textOf(slot.stored));
    }
  }

  /**
   * The rows written since the last call that are dirty now (a row written back since is
   * not: SQLite has it), and a new round begins. What a commit adds to the key overlay.
   */
  takeChanged(fn: (db: number, name: string, entry: KeyEntry | null, text: string | null) => void): void {
    for (const slot of this.#changed) {
      if (!slot.dirty) continue;
      fn(slot.db, slot.name, slot.stored, textOf(slot.stored));
    }
    this.#changed = [];
    this.#round++;
  }

  get size(): number {
    return this.#dbs.reduce((n, rows) => n + (rows?.size ?? 0), 0);
  }

  get bytes(): number {
    return this.#bytes;
  }

  get dirtyCount(): number {
    return this.#dirtyCount;
  }

  /** Slots listed for the next takeChanged (clean ones among them are skipped there). */
  get changedListed(): number {
    return this.#changed.length;
  }

  get dirtyBytes(): number {
    return this.#dirtyBytes;
  }

  /** The cache is over its bound and only a flush can help (eviction takes clean rows only). */
  get overBudget(): boolean {
    return this.#dirtyCount > 0 && (this.#bytesMax === 0 || this.#evictionBlocked);
  }

  // ---- the journal: one level per open (nested) transaction ----

  begin(): void {
    this.#journal ??= [];
    this.#marks.push(this.#journal.length);
  }

  /** The innermost transaction committed: its changes now belong to the one around it (if any). */
  commit(): void {
    if (this.#marks.pop() === undefined) throw new Error('row cache commit without begin');
    if (this.#marks.length === 0) this.#journal = null;
  }

  /** The innermost transaction rolled back: undo its changes, newest first. */
  rollback(): void {
    const mark = this.#marks.pop();
    const journal = this.#journal;
    if (mark === undefined || journal === null) throw new Error('row cache rollback without begin');
    for (let i = journal.length - 1; i >= mark; i--) this.#undo(journal[i]!);
    journal.length = mark;
    if (this.#marks.length === 0) this.#journal = null;
    this.#lastSlot = null;
    // Ids handed out in the undone part are handed out again: keep `#fresh` in id order.
    this.#compactFresh();
  }

  /**
   * Up to `limit` rows of `db` held only in memory with an id SQLite may not hold, id >=
   * `fromId`, in id order: what SCAN adds to SQLite's rows instead of writing them back.
   */
  freshRows(db: number, fromId: number, limit: number): FreshRow[] {
    const list = this.#fresh;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.id < fromId) lo = mid + 1;
      else hi = mid;
    }
    const out: FreshRow[] = [];
    for (let i = lo; i < list.length && out.length < limit; i++) {
      const { slot, id } = list[i]!;
      if (slot.db === db && isFresh(slot, id)) out.push({ key: Buffer.from(slot.name, 'latin1'), entry: slot.stored! });
    }
    return out;
  }

  /**
   * A new id is the largest yet; an older one (a row of SQLite's written to a slot that did
   * not know it: the cache off, or the lookup's slot evicted) is put in its place.
   */
  #listFresh(slot: Slot, id: number): void {
    const list = this.#fresh;
    if (list.length === 0 || list[list.length - 1]!.id <= id) list.push({ slot, id });
    else {
      let at = list.length;
      while (at > 0 && list[at - 1]!.id > id) at--;
      list.splice(at, 0, { slot, id });
    }
    if (list.length > 2 * this.#dirtyCount + CHANGED_SLACK) this.#compactFresh();
  }

  /** The lowest and highest id among freshRows of `db`; null if none. */
  freshIdBounds(db: number): { readonly low: number; readonly high: number } | null {
    const list = this.#fresh;
    const live = (e: { readonly slot: Slot; readonly id: number }): boolean => e.slot.db === db && isFresh(e.slot, e.id);
    let i = 0;
    while (i < list.length && !live(list[i]!)) i++;
    if (i === list.length) return null;
    let j = list.length - 1;
    while (!live(list[j]!)) j--;
    return { low: list[i]!.id, high: list[j]!.id };
  }

  /** Drops the entries of `#fresh` no longer fresh (written back, or undone). */
  #compactFresh(): void {
    const kept: Array<{ readonly slot: Slot; readonly id: number }> = [];
    for (const e of this.#fresh) {
      if (isFresh(e.slot, e.id)) kept.push(e);
      else if (e.slot.freshId === e.id) e.slot.freshId = 0;
    }
    this.#fresh = kept;
  }

  #undo(u: Undo): void {
    if (u.kind === 'clear') {
      this.#dbs = u.dbs;
      this.#bytes = u.bytes;
      return;
    }
    const { rows, slot } = u;
    if (rows.get(slot.name) === slot) this.#account(slot, -1);
    if (!u.inMap) {
      rows.delete(slot.name);
      slot.dirty = false; // dead: takeDirty must skip it
      return;
    }
    slot.stored = u.prev;
    if (u.prevDirty && !slot.dirty) this.#dirtySlots.push(slot);
    slot.dirty = u.prevDirty;
    slot.persistedId = u.prevPersistedId;
    rows.set(slot.name, slot);
    this.#account(slot, 1);
  }

  // ---- internals ----

  /**
   * The key's slot. A write looks its key up, then stores it: the same Buffer twice in a
   * row is converted to its name and found once (keys are never mutated in place).
   */
  #slot(db: number, key: Buffer): Slot | undefined {
    if (key !== this.#lastKey || key.length !== this.#lastName.length) {
      this.#lastKey = key;
      this.#lastName = key.toString('latin1');
    } else if (this.#lastSlot !== null && this.#lastSlot.db === db) {
      return this.#lastSlot;
    }
    const slot = this.#dbs[db]?.get(this.#lastName);
    this.#lastSlot = slot ?? null;
    return slot;
  }

  #record(rows: Rows, slot: Slot, inMap: boolean): void {
    this.#journal?.push({ kind: 'slot', rows, slot, prev: slot.stored, prevDirty: slot.dirty, prevPersistedId: slot.persistedId, inMap });
  }

  #put(db: number, key: Buffer, found: Slot | undefined, value: Stored | null, dirty: boolean): void {
    const rows = (this.#dbs[db] ??= new Map());
    let slot = found;
    if (slot === undefined) {
      if (key !== this.#lastKey) throw new Error('#put without #slot of the same key');
      const name = this.#lastName;
      slot = { db, name, stored: value, dirty: false, persistedId: undefined, visited: 0, changedIn: 0, freshId: 0 };
      rows.set(name, slot);
      this.#record(rows, slot, false);
      this.#lastSlot = slot;
    } else {
      this.#record(rows, slot, true);
      this.#account(slot, -1);
      slot.stored = value;
    }
    if (dirty && !slot.dirty) this.#dirtySlots.push(slot);
    if (dirty && slot.changedIn !== this.#round) {
      slot.changedIn = this.#round;
      this.#changed.push(slot);
      if (this.#changed.length > 2 * this.#dirtyCount + CHANGED_SLACK) this.#compactChanged();
    }
    slot.dirty = dirty;
    // A clean row is what SQLite holds (read from it, or just written to it).
    if (!dirty) slot.persistedId = value === null ? null : value.id;
    else if (value !== null && value.id !== slot.persistedId && slot.freshId !== value.id) {
      slot.freshId = value.id;
      this.#listFresh(slot, value.id);
    }
    this.#account(slot, 1);
    if (this.#bytes > this.#bytesMax) this.#evict();
  }

  /**
   * Drops the slots of `#changed` that are clean now (written back since, maybe evicted):
   * takeChanged would skip them, and until then they would keep their values alive (a
   * fill of new 1000-byte keys kept ~150 MB so between two commits). One written again
   * this round is listed again (changedIn reset).
   */
  #compactChanged(): void {
    const kept: Slot[] = [];
    for (const slot of this.#changed) {
      if (slot.dirty) kept.push(slot);
      else slot.changedIn = 0;
    }
    this.#changed = kept;
  }

  #remove(rows: Rows, slot: Slot): void {
    this.#record(rows, slot, true);
    this.#account(slot, -1);
    rows.delete(slot.name);
    if (this.#lastSlot === slot) this.#lastSlot = null;
  }

  #account(slot: Slot, sign: 1 | -1): void {
    const size = sizeOf(slot.name, slot.stored) * sign;
    this.#bytes += size;
    if (!slot.dirty) return;
    this.#dirtyBytes += size;
    this.#dirtyCount += sign;
  }

  /**
   * Clean entries, oldest first within each db (Map order is insertion order), lower dbs
   * first, down to 90 % of the bound. If the dirty rows keep it above, it says so
   * (`overBudget`) and does not scan again until they were taken (each scan is O(size)).
   */
  #evict(): void {
    const target = Math.floor(this.#bytesMax * 0.9);
    if (this.#bytes <= target || this.#evictionBlocked) return;
    for (const rows of this.#dbs) {
      if (rows === undefined) continue;
      for (const slot of rows.values()) {
        if (this.#bytes <= target) return;
        if (!slot.dirty) this.#remove(rows, slot);
      }
    }
    this.#evictionBlocked = this.#bytes > target;
  }
}

/** The slot's row is dirty with id `id`, which SQLite may not hold. */
function isFresh(slot: Slot, id: number): boolean {
  return slot.dirty && slot.stored !== null && slot.stored.id === id && slot.persistedId !== id;
}
