// Owns how the row cache holds one row (row_cache.ts): a small value as a latin1 string
// (CompactRow), a larger one as a Buffer that pins no bigger backing store, and the
// estimate of the bytes each costs, which bounds the cache.

import type { Deadline } from './deadline.ts';
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
 * A cached row whose small value is held as a latin1 string. It is handed out as it is:
 * `value` makes a new Buffer on each read, so a lookup that does not read the value
 * (the one before a SET) allocates nothing.
 */
export class CompactRow implements KeyEntry {
  readonly type: KeyEntry['type'];
  readonly text: string;
  readonly expiresAtMs: Deadline | null;
  readonly id: number;
  readonly modIndex: number;

  constructor(type: KeyEntry['type'], text: string, expiresAtMs: Deadline | null, id: number, modIndex: number) {
    this.type = type;
    this.text = text;
    this.expiresAtMs = expiresAtMs;
    this.id = id;
    this.modIndex = modIndex;
  }

  get value(): Buffer {
    return Buffer.from(this.text, 'latin1');
  }
}

export type Stored = KeyEntry | CompactRow;

export function stored(entry: KeyEntry): Stored {
  if (entry instanceof CompactRow) return entry;
  const value = entry.value;
  if (value === null) return entry;
  if (value.length <= COMPACT_VALUE_BYTES_MAX) {
    return new CompactRow(entry.type, value.toString('latin1'), entry.expiresAtMs, entry.id, entry.modIndex);
  }
  const copy = unshared(value);
  return copy === value ? entry : { type: entry.type, value: copy, expiresAtMs: entry.expiresAtMs, id: entry.id, modIndex: entry.modIndex };
}

/** A compact row's value as the latin1 string the cache holds; null otherwise (read `value`). */
export function textOf(entry: Stored | null): string | null {
  return entry instanceof CompactRow ? entry.text : null;
}

export function sizeOf(name: string, entry: Stored | null): number {
  const base = ENTRY_OVERHEAD_BYTES + name.length;
  if (entry === null) return base;
  if (entry instanceof CompactRow) return base + entry.text.length;
  return base + (entry.value === null ? 0 : BUFFER_OVERHEAD_BYTES + entry.value.length);
}

function unshared(value: Buffer): Buffer {
  const backing = value.buffer.byteLength;
  return backing >= SHARED_BACKING_BYTES_MIN && backing > value.length * SHARED_BACKING_FACTOR ? Buffer.from(value) : value;
}
