// Replies as bytes, for a leader answering a write a follower forwarded: the follower
// relays exactly what the leader's state machine replied. Compact tagged encoding
// of protocol's Reply values; decoding is strict and bounded in depth.

import type { Reply } from './reply.ts';
import { ByteReader } from './byte_reader.ts';

const TAGS = ['simple', 'error', 'integer', 'bulk', 'null', 'null-array', 'array', 'set', 'push', 'map', 'double', 'boolean', 'verbatim', 'big-number'] as const;
const DEPTH_MAX = 64;

export class ReplyDecodeError extends Error {
  override readonly name = 'ReplyDecodeError';
}

class Writer {
  parts: Buffer[] = [];
  u8(v: number): void {
    this.parts.push(Buffer.from([v]));
  }
  u32(v: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(v);
    this.parts.push(b);
  }
  bytes(v: Uint8Array | string): void {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    this.u32(b.length);
    this.parts.push(b);
  }
}

function write(w: Writer, r: Reply): void {
  w.u8(TAGS.indexOf(r.type));
  switch (r.type) {
    case 'simple': return w.bytes(r.value);
    case 'error': return w.bytes(r.message);
    case 'integer': return w.bytes(String(r.value));
    case 'bulk': return w.bytes(r.value);
    case 'null': case 'null-array': return;
    case 'array': case 'set': case 'push':
      w.u32(r.items.length);
      for (const x of r.items) write(w, x);
      return;
    case 'map':
      w.u32(r.entries.length);
      for (const [k, v] of r.entries) {
        write(w, k);
        write(w, v);
      }
      return;
    case 'double': {
      const b = Buffer.allocUnsafe(8);
      b.writeDoubleLE(r.value);
      w.parts.push(b);
      return;
    }
    case 'boolean': return w.u8(r.value ? 1 : 0);
    case 'verbatim':
      w.bytes(r.format);
      return w.bytes(r.value);
    case 'big-number': return w.bytes(String(r.value));
    default: {
      const never: never = r;
      throw new Error(`unknown reply ${JSON.stringify(never)}`);
    }
  }
}

export function encodeReply(r: Reply): Buffer {
  const w = new Writer();
  write(w, r);
  return Buffer.concat(w.parts);
}

function read(r: ByteReader, depth: number): Reply {
  if (depth > DEPTH_MAX) throw new ReplyDecodeError('reply nested too deeply');
  const type = TAGS[r.u8()];
  switch (type) {
    case 'simple': return { type, value: r.bytes().toString('utf8') };
    case 'error': return { type, message: r.bytes().toString('utf8') };
    case 'integer': {
      const s = r.bytes().toString('latin1');
      const n = Number(s);
      return { type, value: Number.isSafeInteger(n) ? n : BigInt(s) };
    }
    case 'bulk': return { type, value: Buffer.from(r.bytes()) };
    case 'null': case 'null-array': return { type };
    case 'array': case 'set': case 'push': {
      const items: Reply[] = [];
      for (let n = r.u32(); n > 0; n--) items.push(read(r, depth + 1));
      return { type, items };
    }
    case 'map': {
      const entries: Array<[Reply, Reply]> = [];
      for (let n = r.u32(); n > 0; n--) entries.push([read(r, depth + 1), read(r, depth + 1)]);
      return { type, entries };
    }
    case 'double': return { type, value: r.f64() };
    case 'boolean': return { type, value: r.u8() === 1 };
    case 'verbatim': {
      const format = r.bytes().toString('latin1');
      return { type, format, value: Buffer.from(r.bytes()) };
    }
    case 'big-number': return { type, value: r.bytes().toString('latin1') };
    default: throw new ReplyDecodeError('unknown reply tag');
  }
}

export function decodeReply(b: Buffer): Reply {
  const r = new ByteReader(b, 'reply', (m) => new ReplyDecodeError(m));
  const reply = read(r, 0);
  r.end();
  return reply;
}
