// Owns stream entry IDs (<ms>-<seq>, two uint64s) as values and as 16-byte big-endian
// keys, whose byte order (SQLite BLOB memcmp) is the IDs' numeric order; and the
// field/value codec of an entry (one BLOB). Pure functions, no state.

export interface StreamId {
  readonly ms: bigint;
  readonly seq: bigint;
}

export const U64_MAX = 0xffffffffffffffffn;
export const ZERO_ID: StreamId = { ms: 0n, seq: 0n };
export const MAX_ID: StreamId = { ms: U64_MAX, seq: U64_MAX };

export function compareIds(a: StreamId, b: StreamId): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

export const isZeroId = (id: StreamId): boolean => id.ms === 0n && id.seq === 0n;

/** Redis streamIncrID: the next ID, or null past the largest one. */
export function incrId(id: StreamId): StreamId | null {
  if (id.seq < U64_MAX) return { ms: id.ms, seq: id.seq + 1n };
  if (id.ms < U64_MAX) return { ms: id.ms + 1n, seq: 0n };
  return null;
}

/** Redis streamDecrID: the previous ID, or null before 0-0. */
export function decrId(id: StreamId): StreamId | null {
  if (id.seq > 0n) return { ms: id.ms, seq: id.seq - 1n };
  if (id.ms > 0n) return { ms: id.ms - 1n, seq: U64_MAX };
  return null;
}

export const formatId = (id: StreamId): string => `${id.ms}-${id.seq}`;

export function encodeId(id: StreamId): Buffer {
  const b = Buffer.allocUnsafe(16);
  b.writeBigUInt64BE(id.ms, 0);
  b.writeBigUInt64BE(id.seq, 8);
  return b;
}

export function decodeId(b: Buffer): StreamId {
  if (b.length !== 16) throw new Error(`stream id blob of ${b.length} bytes`);
  return { ms: b.readBigUInt64BE(0), seq: b.readBigUInt64BE(8) };
}

/** Field/value pairs as one BLOB: for each item a 4-byte big-endian length, then its bytes. */
export function encodeFields(items: readonly Buffer[]): Buffer {
  let size = 0;
  for (const x of items) size += 4 + x.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const x of items) {
    out.writeUInt32BE(x.length, at);
    x.copy(out, at + 4);
    at += 4 + x.length;
  }
  return out;
}

export function decodeFields(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < b.length; ) {
    const n = b.readUInt32BE(at);
    out.push(b.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}
