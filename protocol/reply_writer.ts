// Owns encoding replies as RESP2 or RESP3 bytes into one growable buffer.
// Must not touch sockets or know commands; frames only, in Redis 7's exact bytes.
// Invariants: bytes returned by `take()` are never written again (the writer only
// appends after them, and moves to a fresh buffer when full); no per-reply concat.

import { formatDouble } from './double_format.ts';

export type RespVersion = 2 | 3;

export interface ReplyWriterOptions {
  /** Protocol of the connection (HELLO switches it); default 2. */
  readonly protocol?: RespVersion;
  /** Size of each fresh buffer; doubled while one batch of replies needs more. Default 16 KiB. */
  readonly chunkBytes?: number;
}

const CR = 0x0d;
const LF = 0x0a;
/** Longest decimal int64 plus sign. */
const INT64_DIGITS_MAX = 20;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Text whose chars are all single bytes (latin1). */
const BYTE_STRING = /^[\x00-\xff]*$/;

/**
 * Reply encoder for one connection. Call the frame methods in reply order, then
 * `take()` and hand the result to `socket.write`.
 *
 * Ownership: `take()` returns a view of the writer's current buffer covering the
 * bytes written since the previous `take()`. The writer never writes into those
 * bytes again: later replies go after them, and when the buffer is full a new one
 * is allocated (the old one is left to the socket and the GC). So the view may be
 * queued in the socket, retained, or compared in tests without copying.
 */
export class ReplyWriter {
  protocol: RespVersion;
  readonly #chunkBytes: number;
  #buf: Buffer = Buffer.alloc(0);
  #start = 0;
  #pos = 0;

  constructor(options: ReplyWriterOptions = {}) {
    this.protocol = options.protocol ?? 2;
    this.#chunkBytes = options.chunkBytes ?? 16 * 1024;
    if (!Number.isSafeInteger(this.#chunkBytes) || this.#chunkBytes < 64) {
      throw new RangeError(`chunkBytes must be an integer >= 64, got ${this.#chunkBytes}`);
    }
  }

  /** Bytes written since the last `take()`. */
  get pendingBytes(): number {
    return this.#pos - this.#start;
  }

  /** Returns the bytes written since the last call (possibly empty); see the class comment. */
  take(): Buffer {
    const out = this.#buf.subarray(this.#start, this.#pos);
    this.#start = this.#pos;
    return out;
  }

  /** `+text` — CR/LF in `text` become spaces so the frame cannot break. */
  simple(text: string): void {
    this.#line(0x2b, text);
  }

  /** `-text`; `text` includes the code, e.g. "ERR syntax error". CR/LF become spaces. */
  error(text: string): void {
    this.#line(0x2d, text);
  }

  /** `:n`. Accepts safe-integer numbers and int64 bigints. */
  integer(value: number | bigint): void {
    this.#ensure(INT64_DIGITS_MAX + 3);
    this.#buf[this.#pos++] = 0x3a;
    this.#decimal(value);
    this.#crlf();
  }

  /** `$len` + bytes; strings are encoded as UTF-8. */
  bulk(value: Uint8Array | string): void {
    if (typeof value === 'string') {
      const length = Buffer.byteLength(value, 'utf8');
      this.#header(0x24, length);
      this.#ensure(length + 2);
      this.#pos += this.#buf.write(value, this.#pos, length, 'utf8');
    } else {
      this.#header(0x24, value.length);
      this.#ensure(value.length + 2);
      this.#buf.set(value, this.#pos);
      this.#pos += value.length;
    }
    this.#crlf();
  }

  /** Null bulk: `$-1` in RESP2, `_` in RESP3. */
  null(): void {
    this.#ascii(this.protocol === 3 ? '_\r\n' : '$-1\r\n');
  }

  /** Null array: `*-1` in RESP2, `_` in RESP3. */
  nullArray(): void {
    this.#ascii(this.protocol === 3 ? '_\r\n' : '*-1\r\n');
  }

  /** Array of `count` elements that the caller writes next. */
  array(count: number): void {
    this.#header(0x2a, count);
  }

  /** Map of `count` pairs (key, value written next): `%` in RESP3, flat `*2n` in RESP2. */
  map(count: number): void {
    if (this.protocol === 3) this.#header(0x25, count);
    else this.#header(0x2a, count * 2);
  }

  /** Set of `count` elements: `~` in RESP3, array in RESP2. */
  set(count: number): void {
    this.#header(this.protocol === 3 ? 0x7e : 0x2a, count);
  }

  /** Out-of-band push of `count` elements: `>` in RESP3, array in RESP2 (as Redis pub/sub). */
  push(count: number): void {
    this.#header(this.protocol === 3 ? 0x3e : 0x2a, count);
  }

  /** `,d` in RESP3, bulk string in RESP2; text as Redis 7.2 d2string (see double_format.ts). */
  double(value: number): void {
    const text = formatDouble(value);
    if (this.protocol === 3) this.#ascii(`,${text}\r\n`);
    else this.#ascii(`$${text.length}\r\n${text}\r\n`);
  }

  /** `#t`/`#f` in RESP3, `:1`/`:0` in RESP2. */
  boolean(value: boolean): void {
    if (this.protocol === 3) this.#ascii(value ? '#t\r\n' : '#f\r\n');
    else this.#ascii(value ? ':1\r\n' : ':0\r\n');
  }

  /**
   * `=len\r\nfmt:text` in RESP3, plain bulk in RESP2. `format` is padded with
   * spaces or cut to three bytes, as Redis's addReplyVerbatim does.
   */
  verbatim(text: Uint8Array | string, format = 'txt'): void {
    if (this.protocol === 2) {
      this.bulk(text);
      return;
    }
    const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    this.#header(0x3d, bytes.length + 4);
    this.#ascii(`${format.padEnd(3, ' ').slice(0, 3)}:`);
    this.#ensure(bytes.length + 2);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
    this.#crlf();
  }

  /** `(digits` in RESP3, bulk string in RESP2. */
  bigNumber(value: bigint | string): void {
    const text = typeof value === 'bigint' ? value.toString() : value;
    if (!/^-?[0-9]+$/.test(text)) throw new RangeError(`not a big number: ${text}`);
    if (this.protocol === 3) this.#ascii(`(${text}\r\n`);
    else this.bulk(text);
  }

  /** Appends already-encoded RESP bytes verbatim (e.g. a reply relayed from the leader). */
  raw(bytes: Uint8Array): void {
    this.#ensure(bytes.length);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
  }

  #ensure(bytes: number): void {
    if (this.#pos + bytes <= this.#buf.length) return;
    const pending = this.#pos - this.#start;
    let capacity = this.#chunkBytes;
    while (capacity < pending + bytes) capacity *= 2;
    const next = Buffer.allocUnsafe(capacity);
    this.#buf.copy(next, 0, this.#start, this.#pos);
    this.#buf = next;
    this.#start = 0;
    this.#pos = pending;
  }

  #crlf(): void {
    this.#ensure(2);
    this.#buf[this.#pos++] = CR;
    this.#buf[this.#pos++] = LF;
  }

  /** Writes a string known to be ASCII (one byte per char). */
  #ascii(text: string): void {
    this.#ensure(text.length);
    this.#pos += this.#buf.write(text, this.#pos, text.length, 'latin1');
  }

  /**
   * A status or error line. Its text is a byte string: when every char is below 256 it
   * goes out one byte per char, so the bytes of a client's argument that an error echoes
   * (decoded as latin1, see cText) come back exactly as sent, as Redis echoes them; any
   * other text goes out as UTF-8.
   */
  #line(prefix: number, text: string): void {
    const safe = text.includes('\r') || text.includes('\n') ? text.replace(/[\r\n]/g, ' ') : text;
    const utf8Length = Buffer.byteLength(safe, 'utf8');
    const bytes = utf8Length === safe.length || BYTE_STRING.test(safe);
    const length = bytes ? safe.length : utf8Length;
    this.#ensure(length + 3);
    this.#buf[this.#pos++] = prefix;
    this.#pos += this.#buf.write(safe, this.#pos, length, bytes ? 'latin1' : 'utf8');
    this.#crlf();
  }

  #header(prefix: number, count: number): void {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new RangeError(`frame length must be a non-negative safe integer, got ${count}`);
    }
    this.#ensure(INT64_DIGITS_MAX + 3);
    this.#buf[this.#pos++] = prefix;
    this.#decimal(count);
    this.#crlf();
  }

  /** Writes a decimal integer; room for INT64_DIGITS_MAX bytes must be ensured. */
  #decimal(value: number | bigint): void {
    if (typeof value === 'bigint') {
      if (value < INT64_MIN || value > INT64_MAX) throw new RangeError(`integer reply out of int64 range: ${value}`);
      this.#pos += this.#buf.write(value.toString(), this.#pos, 'latin1');
      return;
    }
    if (!Number.isSafeInteger(value)) throw new RangeError(`integer reply must be a safe integer, got ${value}`);
    let n = value;
    if (n < 0) {
      this.#buf[this.#pos++] = 0x2d;
      n = -n;
    }
    let digits = 1;
    for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    let at = this.#pos + digits;
    this.#pos = at;
    do {
      this.#buf[--at] = 0x30 + (n % 10);
      n = Math.floor(n / 10);
    } while (n > 0);
  }
}
