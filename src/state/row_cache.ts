// Owns the in-memory copy of recently used `keys` rows (and of keys known to be absent),
// so point reads and the lookup before a write skip SQLite. Write-through: SQLite stays
// the authority, every write updates both, and anything this cache is unsure of is simply
// dropped (the next read goes to SQLite). Bounded by an estimate of the bytes it holds;
// the oldest entries go first. Values must never be mutated in place (nothing in raftis does).

import type { KeyEntry } from './key_rows.ts';

/**
 * Per cached row, beyond its key and value bytes: the Map slot, the entry object and the
 * key string. A small value is held as a one-byte string (COMPACT_VALUE_BYTES_MAX); a
 * larger one keeps its Buffer, which adds its own ArrayBuffer and backing store
 * (SQLite hands out one per row). Measured 2026-12-04 in a server after 300 000 SETs
 * and 300 000 GETs of 100-byte values on 100 000 keys (16-byte names), V8 heap after two
 * full GCs: +25 MB for ~95 000 compact rows, ~260 bytes per row against the 316 estimated
 * here; held as Buffers, ~680 bytes per row.
 */
const ENTRY_OVERHEAD_BYTES = 200;
const BUFFER_OVERHEAD_BYTES = 360;
/**
 * Values up to this size are kept as latin1 strings (one char per byte) and become a
 * Buffer again on each read, from Node's shared pool. Only small ones: for 1000-byte
 * values the Buffer's bookkeeping is a small share, and measured RSS was higher with
 * strings (V8 keeps old-space pages that churned strings once filled: a server with 32
 * MiB of 1000-byte rows had 609 MiB RSS against 524 MiB with Buffers).
 */
const COMPACT_VALUE_BYTES_MAX = 256;
/** A value sharing a backing store this much larger is copied, so the cache never pins big buffers. */
const SHARED_BACKING_FACTOR = 4;
const SHARED_BACKING_BYTES_MIN = 64 * 1024;

/**
 * About 100 000 rows of 100-byte values with 16-byte keys, or 20 000 of 1000-byte values.
 * The server sets its own bound (`--row-cache-mb`; docs/performance.md has what it costs
 * in memory).
 */
export const ROW_CACHE_BYTES_DEFAULT = 32 * 1024 * 1024;

/** A cached row whose small value is held as a latin1 string. */
interface CompactEntry {
  readonly type: KeyEntry['type'];
  readonly text: string;
  readonly expiresAtMs: number | null;
  readonly id: number;
  readonly modIndex: number;
}

type Stored = KeyEntry | CompactEntry;

type Rows = Map<string, Stored | null>;

export class RowCache {
  /**
   * Per db: key → row (null: known absent). The key is its bytes as a latin1 string (one
   * char per byte, so distinct keys never collide), flat: no db prefix to concatenate.
   */
  readonly #dbs: Rows[] = [];
  #bytes = 0;
  readonly #bytesMax: number;

  constructor(bytesMax: number = ROW_CACHE_BYTES_DEFAULT) {
    if (!Number.isSafeInteger(bytesMax) || bytesMax < 0) throw new Error(`row cache size ${bytesMax} is not a byte count`);
    this.#bytesMax = bytesMax;
  }

  /** The cached row, null if the key is known to be absent, undefined if not cached. */
  get(db: number, key: Buffer): KeyEntry | null | undefined {
    const stored = this.#dbs[db]?.get(key.toString('latin1'));
    if (stored === undefined || stored === null || !('text' in stored)) return stored;
    const { type, text, expiresAtMs, id, modIndex } = stored;
    return { type, value: Buffer.from(text, 'latin1'), expiresAtMs, id, modIndex };
  }

  /** Remember what SQLite holds (or now holds, after a write) for the key. */
  set(db: number, key: Buffer, entry: KeyEntry | null): void {
    if (this.#bytesMax === 0) return;
    const rows = (this.#dbs[db] ??= new Map());
    const name = key.toString('latin1');
    const old = rows.get(name);
    if (old !== undefined) this.#bytes -= sizeOf(name, old);
    const kept = entry === null ? null : stored(entry);
    rows.set(name, kept);
    this.#bytes += sizeOf(name, kept);
    if (this.#bytes > this.#bytesMax) this.#evict();
  }

  /**
   * Mirror a change of the row's deadline or write index (the value is unchanged, and so
   * is the size). A key cached as absent is dropped instead: SQLite changed no row, so
   * there is nothing to mirror, but the cache should not vouch for it either.
   */
  patch(db: number, key: Buffer, fields: Pick<KeyEntry, 'modIndex'> & Partial<Pick<KeyEntry, 'expiresAtMs'>>): void {
    const rows = this.#dbs[db];
    const name = key.toString('latin1');
    const old = rows?.get(name);
    if (rows === undefined || old === undefined) return;
    if (old === null) this.drop(db, key);
    else rows.set(name, { ...old, ...fields });
  }

  /** Forget the key (its row changed in a way not worth mirroring). */
  drop(db: number, key: Buffer): void {
    const rows = this.#dbs[db];
    const name = key.toString('latin1');
    const old = rows?.get(name);
    if (rows === undefined || old === undefined) return;
    this.#bytes -= sizeOf(name, old);
    rows.delete(name);
  }

  /** Forget everything (bulk deletes, a rolled-back transaction). */
  clear(): void {
    this.#dbs.length = 0;
    this.#bytes = 0;
  }

  get size(): number {
    return this.#dbs.reduce((n, rows) => n + (rows?.size ?? 0), 0);
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Oldest first within each db (Map order is insertion order), lower dbs first, down to 90 % of the bound. */
  #evict(): void {
    const target = Math.floor(this.#bytesMax * 0.9);
    for (const rows of this.#dbs) {
      if (rows === undefined) continue;
      for (const [name, entry] of rows) {
        if (this.#bytes <= target) return;
        this.#bytes -= sizeOf(name, entry);
        rows.delete(name);
      }
    }
  }
}

function stored(entry: KeyEntry): Stored {
  const value = entry.value;
  if (value === null) return entry;
  if (value.length <= COMPACT_VALUE_BYTES_MAX) {
    const { type, expiresAtMs, id, modIndex } = entry;
    return { type, text: value.toString('latin1'), expiresAtMs, id, modIndex };
  }
  const copy = unshared(value);
  return copy === value ? entry : { ...entry, value: copy };
}

function sizeOf(name: string, entry: Stored | null): number {
  const base = ENTRY_OVERHEAD_BYTES + name.length;
  if (entry === null) return base;
  if ('text' in entry) return base + entry.text.length;
  return base + (entry.value === null ? 0 : BUFFER_OVERHEAD_BYTES + entry.value.length);
}

function unshared(value: Buffer): Buffer {
  const backing = value.buffer.byteLength;
  return backing >= SHARED_BACKING_BYTES_MIN && backing > value.length * SHARED_BACKING_FACTOR ? Buffer.from(value) : value;
}
