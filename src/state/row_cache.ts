// Owns the in-memory copy of recently used `keys` rows (and of keys known to be absent),
// so point reads and the lookup before a write skip SQLite. Write-through: SQLite stays
// the authority, every write updates both, and anything this cache is unsure of is simply
// dropped (the next read goes to SQLite). Bounded by an estimate of the bytes it holds;
// the oldest entries go first. Values must never be mutated in place (nothing in raftis does).

import type { KeyEntry } from './key_rows.ts';

/**
 * Per cached row, beyond its key and value bytes: the Map slot, the entry object, the key
 * string, and the value's own Buffer and ArrayBuffer (SQLite hands out one per row).
 * Measured: 1M SETs of 100-byte values under a 64 MiB bound grew the heap by ~680 bytes
 * per cached row.
 */
const ENTRY_OVERHEAD_BYTES = 560;
/** A value sharing a backing store this much larger is copied, so the cache never pins big buffers. */
const SHARED_BACKING_FACTOR = 4;
const SHARED_BACKING_BYTES_MIN = 64 * 1024;

/**
 * About 150 000 rows of 100-byte values (~120 MiB of heap). The server sets its own
 * bound (`--row-cache-mb`); a node holding 1 GB of 1000-byte values needs a smaller one
 * to serve a snapshot within 500 MB (docs/performance.md).
 */
export const ROW_CACHE_BYTES_DEFAULT = 96 * 1024 * 1024;

type Rows = Map<string, KeyEntry | null>;

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
    return this.#dbs[db]?.get(key.toString('latin1'));
  }

  /** Remember what SQLite holds (or now holds, after a write) for the key. */
  set(db: number, key: Buffer, entry: KeyEntry | null): void {
    if (this.#bytesMax === 0) return;
    const rows = (this.#dbs[db] ??= new Map());
    const name = key.toString('latin1');
    const old = rows.get(name);
    if (old !== undefined) this.#bytes -= sizeOf(name, old);
    // A new entry object only when the value had to be copied (the common write allocates none).
    const value = entry?.value ?? null;
    const copy = value === null ? value : unshared(value);
    const kept = copy === value ? entry : { ...entry!, value: copy };
    rows.set(name, kept);
    this.#bytes += sizeOf(name, kept);
    if (this.#bytes > this.#bytesMax) this.#evict();
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

function sizeOf(name: string, entry: KeyEntry | null): number {
  return ENTRY_OVERHEAD_BYTES + name.length + (entry?.value?.length ?? 0);
}

function unshared(value: Buffer): Buffer {
  const backing = value.buffer.byteLength;
  return backing >= SHARED_BACKING_BYTES_MIN && backing > value.length * SHARED_BACKING_FACTOR ? Buffer.from(value) : value;
}
