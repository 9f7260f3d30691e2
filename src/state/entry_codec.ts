// The bytes of a Raft entry's data: what the state machine applies. Binary, versioned
// by the first byte; decoding is strict and throws on malformed data (a corrupt entry
// is a bug or a disk fault, never a client error).
//
// kind 1, commands:  u8 1 | f64 timeMs | u32 nWatch | nWatch × (u8 db, u32 len, key, f64 stamp, u8 existed)
//                    | u8 transaction | u32 nCmd | nCmd × (u8 db, u32 argc, argc × (u32 len, bytes))
// kind 2, expire:    u8 2 | f64 timeMs | u32 n | n × (u8 db, u32 len, key)
// kind 3, forwarded commands: as kind 1, then u32 len, origin node (UTF-8), u64 origin seq
// kind 4, reclaim:   u8 4 | f64 timeMs | u32 rows   (remove up to `rows` rows of released streams)
// kind 5, batch:     u8 5 | u32 n | n × (u32 len, payload of kind 1..4)   (one entry, applied in order)
// timeMs is always bytes 1..8 of kinds 1..4, so a leader can stamp a payload a follower built (restamp).
// An empty data (the leader's no-op) is kind 0 and applies nothing.

import { ByteReader } from '../../protocol/index.ts';

export interface Watch {
  readonly db: number;
  readonly key: Buffer;
  /** The key's modification stamp when WATCH ran (the applied index it was read at). */
  readonly stamp: number;
  /** Whether the key was live then (an expiry since then aborts EXEC, as in Redis). */
  readonly existed: boolean;
}

export interface QueuedCommand {
  readonly db: number;
  readonly args: readonly Buffer[];
}

export type EntryPayload =
  | { readonly kind: 'noop' }
  | {
      readonly kind: 'commands';
      readonly timeMs: number;
      readonly watches: readonly Watch[];
      /** MULTI/EXEC: the reply is one array (or nil when a watch fired). */
      readonly transaction: boolean;
      readonly commands: readonly QueuedCommand[];
      /** Set on a write a follower forwarded: applied at most once per (node, seq). */
      readonly origin?: { readonly node: string; readonly seq: bigint } | null;
    }
  | { readonly kind: 'expire'; readonly timeMs: number; readonly keys: ReadonlyArray<{ readonly db: number; readonly key: Buffer }> }
  | { readonly kind: 'reclaim'; readonly timeMs: number; readonly rows: number };

export class EntryDecodeError extends Error {
  override readonly name = 'EntryDecodeError';
}

export function encodePayload(p: EntryPayload): Buffer {
  switch (p.kind) {
    case 'noop':
      return Buffer.alloc(0);
    case 'commands': {
      const origin = p.origin ? Buffer.from(p.origin.node, 'utf8') : null;
      let size = 1 + 8 + 4 + 1 + 4 + (origin ? 4 + origin.length + 8 : 0);
      for (const w of p.watches) size += 1 + 4 + w.key.length + 8 + 1;
      for (const c of p.commands) {
        size += 1 + 4;
        for (const a of c.args) size += 4 + a.length;
      }
      const b = Buffer.allocUnsafe(size);
      let o = b.writeUInt8(origin ? 3 : 1, 0);
      o = b.writeDoubleLE(p.timeMs, o);
      o = b.writeUInt32LE(p.watches.length, o);
      for (const w of p.watches) {
        o = b.writeUInt8(w.db, o);
        o = b.writeUInt32LE(w.key.length, o);
        o += w.key.copy(b, o);
        o = b.writeDoubleLE(w.stamp, o);
        o = b.writeUInt8(w.existed ? 1 : 0, o);
      }
      o = b.writeUInt8(p.transaction ? 1 : 0, o);
      o = b.writeUInt32LE(p.commands.length, o);
      for (const c of p.commands) {
        o = b.writeUInt8(c.db, o);
        o = b.writeUInt32LE(c.args.length, o);
        for (const a of c.args) {
          o = b.writeUInt32LE(a.length, o);
          o += a.copy(b, o);
        }
      }
      if (origin && p.origin) {
        o = b.writeUInt32LE(origin.length, o);
        o += origin.copy(b, o);
        b.writeBigUInt64LE(p.origin.seq, o);
      }
      return b;
    }
    case 'expire': {
      let size = 1 + 8 + 4;
      for (const k of p.keys) size += 1 + 4 + k.key.length;
      const b = Buffer.allocUnsafe(size);
      let o = b.writeUInt8(2, 0);
      o = b.writeDoubleLE(p.timeMs, o);
      o = b.writeUInt32LE(p.keys.length, o);
      for (const k of p.keys) {
        o = b.writeUInt8(k.db, o);
        o = b.writeUInt32LE(k.key.length, o);
        o += k.key.copy(b, o);
      }
      return b;
    }
    case 'reclaim': {
      if (!Number.isSafeInteger(p.rows) || p.rows < 1 || p.rows > 0xffffffff) throw new RangeError(`reclaim of ${p.rows} rows`);
      const b = Buffer.allocUnsafe(1 + 8 + 4);
      let o = b.writeUInt8(4, 0);
      o = b.writeDoubleLE(p.timeMs, o);
      b.writeUInt32LE(p.rows, o);
      return b;
    }
    default: {
      const never: never = p;
      throw new Error(`unknown payload ${JSON.stringify(never)}`);
    }
  }
}

/** Decodes entry data; arguments are views into `data` (copy before keeping them past apply). */
export function decodePayload(data: Uint8Array): EntryPayload {
  if (data.length === 0) return { kind: 'noop' };
  const r = new ByteReader(Buffer.from(data.buffer, data.byteOffset, data.byteLength), 'entry', (m) => new EntryDecodeError(m));
  const kind = r.u8();
  if (kind === 1 || kind === 3) {
    const timeMs = r.f64();
    const watches: Watch[] = [];
    for (let i = r.u32(); i > 0; i--) watches.push({ db: r.u8(), key: r.bytes(), stamp: r.f64(), existed: r.u8() === 1 });
    const transaction = r.u8() === 1;
    const commands: QueuedCommand[] = [];
    for (let n = r.u32(); n > 0; n--) {
      const db = r.u8();
      const args: Buffer[] = [];
      for (let argc = r.u32(); argc > 0; argc--) args.push(r.bytes());
      commands.push({ db, args });
    }
    const origin = kind === 3 ? { node: r.bytes().toString('utf8'), seq: r.u64() } : null;
    r.end();
    return origin ? { kind: 'commands', timeMs, watches, transaction, commands, origin } : { kind: 'commands', timeMs, watches, transaction, commands };
  }
  if (kind === 2) {
    const timeMs = r.f64();
    const keys: Array<{ db: number; key: Buffer }> = [];
    for (let n = r.u32(); n > 0; n--) keys.push({ db: r.u8(), key: r.bytes() });
    r.end();
    return { kind: 'expire', timeMs, keys };
  }
  if (kind === 4) {
    const timeMs = r.f64();
    const rows = r.u32();
    r.end();
    if (rows === 0) throw new EntryDecodeError('reclaim of 0 rows');
    return { kind: 'reclaim', timeMs, rows };
  }
  throw new EntryDecodeError(`unknown entry kind ${kind}`);
}

/** The leader's time stamp on a payload built elsewhere (a forwarded write): bytes 1..8. */
export function restampPayload(data: Uint8Array, timeMs: number): Buffer {
  const b = Buffer.from(data);
  if (b.length < 9 || (b[0] !== 1 && b[0] !== 2 && b[0] !== 3)) throw new EntryDecodeError(`cannot stamp entry of kind ${b[0]}`);
  b.writeDoubleLE(timeMs, 1);
  return b;
}

const BATCH_KIND = 5;

/**
 * One entry's data holding several payloads (the writes a leader proposes in one event
 * loop turn): they share the entry's index and are applied in order, each with its own
 * time stamp and reply. One payload is proposed as itself.
 */
export function encodeBatch(parts: readonly Uint8Array[]): Buffer {
  if (parts.length === 1) return Buffer.from(parts[0]!.buffer, parts[0]!.byteOffset, parts[0]!.byteLength);
  if (parts.length === 0) throw new RangeError('a batch of no payloads');
  let size = 1 + 4;
  for (const p of parts) {
    if (p.length === 0 || p[0] === BATCH_KIND) throw new RangeError('a batch holds payloads of kind 1 to 4 only');
    size += 4 + p.length;
  }
  const b = Buffer.allocUnsafe(size);
  let o = b.writeUInt8(BATCH_KIND, 0);
  o = b.writeUInt32LE(parts.length, o);
  for (const p of parts) {
    o = b.writeUInt32LE(p.length, o);
    b.set(p, o);
    o += p.length;
  }
  return b;
}

/** The payloads in one entry's data: its parts if it is a batch, else the data itself. */
export function splitEntry(data: Uint8Array): Uint8Array[] {
  if (data.length === 0 || data[0] !== BATCH_KIND) return [data];
  const r = new ByteReader(Buffer.from(data.buffer, data.byteOffset, data.byteLength), 'entry', (m) => new EntryDecodeError(m));
  r.u8();
  const parts: Uint8Array[] = [];
  for (let n = r.u32(); n > 0; n--) {
    const part = r.bytes();
    if (part.length === 0 || part[0] === BATCH_KIND) throw new EntryDecodeError('a batch part of kind 0 or 5');
    parts.push(part);
  }
  r.end();
  if (parts.length < 2) throw new EntryDecodeError(`a batch of ${parts.length} payloads`);
  return parts;
}
