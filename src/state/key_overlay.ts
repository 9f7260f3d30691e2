// Owns the `key_overlay` table: the key rows that were changed in memory but not yet
// written to `keys` (key_rows.ts, write-back), saved with each commit of the state so
// that a commit holds the keyspace as of its applied index without writing every such
// row into the `keys` B-tree. Chunks are read in order, a later record of a key
// replacing an earlier one; the keyspace at a commit is `keys` with the result laid over
// it; opening the state lays it in for good. Deterministic; no clock.
//
// Encoding, records back to back in chunks of about OVERLAY_CHUNK_BYTES:
//   u8 db | u32 key length | key | u8 0                  the key has no row
//   u8 db | u32 key length | key | u8 2                  `keys` holds the key as it is (forget earlier records)
//   u8 db | u32 key length | key | u8 1 | u8 type length | type (UTF-8)
//        | u32 value length (0xffffffff: null) | value | f64 expires at (NaN: none) | f64 id | f64 mod index

import type { StateDatabase } from './database.ts';
import { deadlineFromSql, EXPIRES_AT_EXACT, type Deadline } from './deadline.ts';
import type { KeyEntry } from './key_rows.ts';
import type { Sqlite } from './sqlite.ts';

/** The key's row, null for none, or 'keys': `keys` holds it as it is. */
export type OverlayEntry = KeyEntry | null | 'keys';

export interface OverlayRow {
  readonly db: number;
  readonly key: Buffer;
  readonly entry: OverlayEntry;
}

const OVERLAY_CHUNK_BYTES = 1024 * 1024;
const NULL_VALUE = 0xffffffff;

/** Writes rows into chunks; each chunk a Buffer of about OVERLAY_CHUNK_BYTES (a row is never split). */
export class OverlayWriter {
  readonly chunks: Buffer[] = [];
  #buf = Buffer.allocUnsafe(OVERLAY_CHUNK_BYTES);
  #len = 0;

  /**
   * One row: `name` is the key's bytes as a latin1 string; a value given as `text` (a
   * latin1 string, as the row cache holds small ones) is written from it, else from `e.value`.
   */
  add(db: number, name: string, record: OverlayEntry, text: string | null = null): void {
    if (record === 'keys') {
      this.#room(1 + 4 + name.length + 1);
      const o = writeLatin1(this.#buf, writeU32(this.#buf, this.#len + 1, name.length), name);
      this.#buf[this.#len] = db;
      this.#buf[o] = 2;
      this.#len = o + 1;
      return;
    }
    const e = record;
    const type = e === null ? null : typeBytes(e.type);
    const value = e === null || text !== null ? null : e.value;
    const valueBytes = text !== null ? text.length : (value?.length ?? 0);
    this.#room(1 + 4 + name.length + 1 + (type === null ? 0 : 1 + type.length + 4 + valueBytes + 24));
    const b = this.#buf;
    b[this.#len] = db;
    let o = writeLatin1(b, writeU32(b, this.#len + 1, name.length), name);
    if (e === null || type === null) {
      b[o] = 0;
      this.#len = o + 1;
      return;
    }
    b[o++] = 1;
    b[o++] = type.length;
    for (let i = 0; i < type.length; i++) b[o++] = type[i]!;
    o = writeU32(b, o, text === null && value === null ? NULL_VALUE : valueBytes);
    if (text !== null) o = writeLatin1(b, o, text);
    else if (value !== null) o += value.copy(b, o);
    // A row with a deadline goes to `keys` at once (KeyRows #store), so a deadline here is rare and never beyond 2^53.
    if (typeof e.expiresAtMs === 'bigint') throw new Error(`overlay row with deadline ${e.expiresAtMs} beyond 2^53 ms`);
    o = b.writeDoubleLE(e.expiresAtMs ?? Number.NaN, o);
    o = b.writeDoubleLE(e.id, o);
    this.#len = b.writeDoubleLE(e.modIndex, o);
  }

  /** The chunks, the last one included. */
  finish(): Buffer[] {
    if (this.#len > 0) this.chunks.push(Buffer.from(this.#buf.subarray(0, this.#len)));
    this.#len = 0;
    return this.chunks;
  }

  #room(bytes: number): void {
    if (this.#len + bytes <= this.#buf.length) return;
    if (this.#len > 0) this.chunks.push(Buffer.from(this.#buf.subarray(0, this.#len)));
    this.#buf = Buffer.allocUnsafe(Math.max(OVERLAY_CHUNK_BYTES, bytes));
    this.#len = 0;
  }
}

/**
 * A commit encodes every row changed since the last one (~100 000 on a busy cluster, on
 * the event loop), so the small fields are written byte by byte: a native call per key
 * name or type costs more than the copy. Strings longer than this go through Buffer.write.
 */
const LATIN1_LOOP_MAX = 64;
const typeCache = new Map<string, Uint8Array>();

/** A row type's UTF-8 bytes (a handful of distinct types, encoded once each). */
function typeBytes(type: string): Uint8Array {
  let bytes = typeCache.get(type);
  if (bytes === undefined) {
    bytes = Buffer.from(type, 'utf8');
    if (bytes.length > 255) throw new Error(`row type of ${bytes.length} bytes`);
    typeCache.set(type, bytes);
  }
  return bytes;
}

function writeU32(b: Buffer, o: number, v: number): number {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
  return o + 4;
}

/** `s` (one char per byte) at `o`; returns the offset after it. */
function writeLatin1(b: Buffer, o: number, s: string): number {
  const n = s.length;
  if (n > LATIN1_LOOP_MAX) return o + b.write(s, o, 'latin1');
  for (let i = 0; i < n; i++) b[o + i] = s.charCodeAt(i);
  return o + n;
}

/** The rows of one chunk, in the order written. Throws on a malformed chunk (a corrupt state file). */
export function readOverlayChunk(chunk: Buffer): OverlayRow[] {
  const rows: OverlayRow[] = [];
  let o = 0;
  const need = (n: number): void => {
    if (o + n > chunk.length) throw new Error(`key_overlay chunk truncated at byte ${o}`);
  };
  while (o < chunk.length) {
    need(5);
    const db = chunk.readUInt8(o);
    const keyLength = chunk.readUInt32LE(o + 1);
    o += 5;
    need(keyLength + 1);
    const key = chunk.subarray(o, o + keyLength);
    o += keyLength;
    const kind = chunk.readUInt8(o++);
    if (kind === 0 || kind === 2) {
      rows.push({ db, key, entry: kind === 0 ? null : 'keys' });
      continue;
    }
    if (kind !== 1) throw new Error(`key_overlay record of kind ${kind}`);
    need(1);
    const typeLength = chunk.readUInt8(o++);
    need(typeLength + 4);
    const type = chunk.toString('utf8', o, o + typeLength);
    o += typeLength;
    const valueLength = chunk.readUInt32LE(o);
    o += 4;
    let value: Buffer | null = null;
    if (valueLength !== NULL_VALUE) {
      need(valueLength);
      value = chunk.subarray(o, o + valueLength);
      o += valueLength;
    }
    need(24);
    const expires = chunk.readDoubleLE(o);
    const entry: KeyEntry = {
      type,
      value,
      expiresAtMs: Number.isNaN(expires) ? null : expires,
      id: chunk.readDoubleLE(o + 8),
      modIndex: chunk.readDoubleLE(o + 16),
    };
    o += 24;
    rows.push({ db, key, entry });
  }
  return rows;
}

/** Every overlay record saved by the commits since the state was opened, in the order written. */
export function readOverlay(sql: Sqlite): OverlayRow[] {
  const chunks = sql.prepare('SELECT data FROM key_overlay ORDER BY seq').pluck().all() as Buffer[];
  return chunks.flatMap(readOverlayChunk);
}

/** What the overlay says of each key it names (the last record wins; 'keys' records drop out). */
export function overlayRows(sql: Sqlite): Map<string, { readonly db: number; readonly key: Buffer; readonly entry: KeyEntry | null }> {
  const out = new Map<string, { db: number; key: Buffer; entry: KeyEntry | null }>();
  for (const { db, key, entry } of readOverlay(sql)) {
    const name = `${db}:${key.toString('latin1')}`;
    if (entry === 'keys') out.delete(name);
    else out.set(name, { db, key, entry });
  }
  return out;
}

/**
 * Lays the overlay into `keys` for good and empties it (when the state is opened: from
 * then on the rows in memory start clean). Its own transaction; no-op when it is empty.
 */
export function applyOverlay(state: StateDatabase): void {
  const sql = state.sqlite;
  if (sql.prepare('SELECT count(*) FROM key_overlay').pluck().get() === 0) return;
  const rows = overlayRows(sql);
  const upsert = sql.prepare(
    'INSERT INTO keys (db, key, type, value, expires_at, id, mod_index) VALUES (?, ?, ?, ?, ?, ?, ?) ' +
      'ON CONFLICT (db, key) DO UPDATE SET type = excluded.type, value = excluded.value, ' +
      'expires_at = excluded.expires_at, id = excluded.id, mod_index = excluded.mod_index',
  );
  const remove = sql.prepare('DELETE FROM keys WHERE db = ? AND key = ?');
  sql.transaction(() => {
    for (const { db, key, entry: e } of rows.values()) {
      if (e === null) remove.run(db, key);
      else upsert.run(db, key, e.type, e.value, e.expiresAtMs, e.id, e.modIndex);
    }
    sql.prepare('DELETE FROM key_overlay').run();
  })();
}

/** A row of `keys` as SQLite returns it. */
export interface KeysTableRow {
  readonly db: number;
  readonly key: Buffer;
  readonly type: string;
  readonly value: Buffer | null;
  readonly expires_at: Deadline | null;
  readonly id: number;
  readonly mod_index: number;
}

/** The keyspace a commit holds: `keys` with the overlay laid over it, in (db, key) order. */
export function keysWithOverlay(sql: Sqlite): KeysTableRow[] {
  const rows = new Map<string, KeysTableRow>();
  const name = (db: number, key: Buffer): string => `${db}:${key.toString('latin1')}`;
  const select = sql.prepare(`SELECT db, key, type, value, ${EXPIRES_AT_EXACT} AS expires_at, id, mod_index FROM keys ORDER BY db, key`);
  for (const r of select.all() as Array<Omit<KeysTableRow, 'expires_at'> & { expires_at: number | string | null }>) {
    rows.set(name(r.db, r.key), { ...r, expires_at: deadlineFromSql(r.expires_at) });
  }
  for (const { db, key, entry: e } of overlayRows(sql).values()) {
    if (e === null) rows.delete(name(db, key));
    else rows.set(name(db, key), { db, key: Buffer.from(key), type: e.type, value: e.value, expires_at: e.expiresAtMs, id: e.id, mod_index: e.modIndex });
  }
  return [...rows.values()].sort((a, b) => a.db - b.db || Buffer.compare(a.key, b.key));
}
