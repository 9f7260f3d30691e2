// The primitive encodings of the wire format: unsigned LEB128 varints for safe
// integers (all the format needs: Raft contexts are counters too), fixed u64 little-endian for counters,
// length-prefixed byte strings and node ids. No knowledge of frames.
// Invariants: every encoding is canonical (one byte sequence per value) and the
// Reader never reads past its end nor allocates more than the input it was given.

import { WireDecodeError, WireEncodeError } from './wire_errors.ts';

export const NODE_ID_BYTES_MAX = 64;
/** 8 × 7 bits = 56 ≥ 53: a safe integer never needs more. */
const VARINT_BYTES_MAX = 8;
const U64_MAX = (1n << 64n) - 1n;

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Bytes the varint encoding of `n` (a non-negative safe integer) takes. */
export function varintBytes(n: number): number {
  let bytes = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    bytes++;
  }
  return bytes;
}

/** A growable output buffer; `finish()` returns a view of exactly the bytes written. */
export class Writer {
  #buf: Buffer;
  #len = 0;

  constructor(initialBytes = 64) {
    this.#buf = Buffer.allocUnsafe(Math.max(16, initialBytes));
  }

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#len + n));
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  u8(n: number): void {
    this.#ensure(1);
    this.#buf[this.#len++] = n;
  }

  bool(b: boolean): void {
    this.u8(b ? 1 : 0);
  }

  /** A non-negative safe integer (terms, indexes, counts, lengths). */
  varint(n: number, what: string): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new WireEncodeError(`${what} ${n} is not a non-negative safe integer`);
    this.#ensure(VARINT_BYTES_MAX);
    while (n >= 0x80) {
      this.#buf[this.#len++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.#buf[this.#len++] = n;
  }

  /** An unsigned 64-bit counter, fixed 8 bytes little-endian. */
  u64(n: bigint, what: string): void {
    if (n < 0n || n > U64_MAX) throw new WireEncodeError(`${what} ${n} is outside [0, 2^64)`);
    this.#ensure(8);
    this.#buf.writeBigUInt64LE(n, this.#len);
    this.#len += 8;
  }

  /** [length varint][bytes]. */
  bytes(b: Uint8Array): void {
    this.varint(b.length, 'byte string length');
    this.raw(b);
  }

  raw(b: Uint8Array): void {
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  /** [length u8][UTF-8], 1..64 bytes. */
  nodeId(s: string): void {
    if (!s.isWellFormed()) throw new WireEncodeError(`node id ${JSON.stringify(s)} has a lone surrogate`);
    const b = utf8.encode(s);
    if (b.length === 0 || b.length > NODE_ID_BYTES_MAX) {
      throw new WireEncodeError(`node id ${JSON.stringify(s)} must be 1..${NODE_ID_BYTES_MAX} bytes of UTF-8, is ${b.length}`);
    }
    this.u8(b.length);
    this.raw(b);
  }

  finish(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }
}

/** A strict cursor over one frame: every read checks bounds, `end()` refuses trailing bytes. */
export class Reader {
  readonly #buf: Uint8Array;
  #pos = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
  }

  get offset(): number {
    return this.#pos;
  }
  get remaining(): number {
    return this.#buf.length - this.#pos;
  }

  fail(reason: string): never {
    throw new WireDecodeError(reason, this.#pos);
  }

  #need(n: number, what: string): void {
    if (this.remaining < n) this.fail(`truncated ${what}: needs ${n} bytes, ${this.remaining} left`);
  }

  u8(what: string): number {
    this.#need(1, what);
    return this.#buf[this.#pos++]!;
  }

  bool(what: string): boolean {
    const b = this.u8(what);
    if (b > 1) this.fail(`${what} is ${b}, not 0 or 1`);
    return b === 1;
  }

  varint(what: string): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < VARINT_BYTES_MAX; i++) {
      const b = this.u8(what);
      n += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) this.fail(`${what} is a non-canonical varint`);
        if (n > Number.MAX_SAFE_INTEGER) this.fail(`${what} exceeds 2^53 - 1`);
        return n;
      }
      scale *= 0x80;
    }
    return this.fail(`${what} is a varint longer than ${VARINT_BYTES_MAX} bytes`);
  }

  u64(what: string): bigint {
    this.#need(8, what);
    const v = Buffer.from(this.#buf.buffer, this.#buf.byteOffset + this.#pos, 8).readBigUInt64LE(0);
    this.#pos += 8;
    return v;
  }

  /** A length-prefixed byte string, as a view into the input (no copy). */
  bytes(what: string): Uint8Array {
    const n = this.varint(`${what} length`);
    this.#need(n, what);
    const b = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return b;
  }

  nodeId(what: string): string {
    const n = this.u8(`${what} length`);
    if (n === 0 || n > NODE_ID_BYTES_MAX) this.fail(`${what} length ${n} is outside 1..${NODE_ID_BYTES_MAX}`);
    this.#need(n, what);
    const at = this.#pos;
    this.#pos += n;
    try {
      return utf8Strict.decode(this.#buf.subarray(at, at + n));
    } catch (e) {
      throw new WireDecodeError(`${what} is not valid UTF-8`, at, { cause: e });
    }
  }

  /**
   * A count of items that each take at least `itemBytesMin` bytes: refused when the
   * rest of the frame cannot hold them, so a forged count never drives an allocation.
   */
  count(what: string, itemBytesMin: number): number {
    const n = this.varint(what);
    if (n * itemBytesMin > this.remaining) this.fail(`${what} ${n} cannot fit in the ${this.remaining} bytes left`);
    return n;
  }

  end(): void {
    if (this.remaining !== 0) this.fail(`${this.remaining} trailing bytes`);
  }
}
