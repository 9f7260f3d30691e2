// Owns turning a client's byte stream into commands (RESP multibulk and inline),
// with Redis 7's limits, error texts and order of checks (networking.c).
// Must not touch sockets, reply, or interpret commands. Invariants: after the first
// error the decoder is dead and returns that error forever; parsing cost is linear
// in the bytes received however they are chunked; no allocation is sized by a
// count the client merely claims.

import { ByteQueue } from './byte_queue.ts';
import type { DecodeError } from './errors.ts';
import {
  expectedDollar,
  invalidBulkLength,
  invalidMultibulkLength,
  QueryBufferLimitError,
  tooBigBulkCountString,
  tooBigInlineRequest,
  tooBigMbulkCountString,
  unauthenticatedBulkLength,
  unauthenticatedMultibulkLength,
  unbalancedQuotes,
} from './errors.ts';
import { splitInlineArgs } from './inline_split.ts';
import { readCanonicalArgs, readCanonicalLength } from './multibulk_fast_path.ts';
import type { DecoderLimits } from './limits.ts';
import { resolveLimits, UNAUTHENTICATED_BULK_BYTES_MAX, UNAUTHENTICATED_MULTIBULK_ARGS_MAX } from './limits.ts';
import { parseLongLong } from './parse_integer.ts';

const CR = 0x0d;
const LF = 0x0a;
const STAR = 0x2a;
const DOLLAR = 0x24;

/**
 * Approximate heap cost of holding one parsed argument, charged against the query
 * buffer limit so a flood of empty arguments is bounded like a flood of bytes.
 */
const ARG_OVERHEAD_BYTES = 64;

export interface DecoderOptions {
  readonly limits?: Partial<DecoderLimits>;
  /**
   * Initial value of `authRequired`: when true, Redis's pre-AUTH limits apply
   * (at most 10 arguments, bulks of at most 16384 bytes).
   */
  readonly authRequired?: boolean;
}

/**
 * Streaming request decoder for one connection.
 *
 * Usage: `push(chunk)` each socket chunk, then call `next()` until it returns
 * undefined (need more bytes). `next()` returns a command as its arguments, or a
 * `DecodeError` after which the connection must be answered (ProtocolError: reply
 * `-` + `replyText`) or just closed (QueryBufferLimitError), as Redis does.
 *
 * Ownership: an argument lying inside one pushed chunk is returned as a view of that
 * chunk (zero-copy); others are fresh copies. The decoder never writes to a chunk,
 * so arguments stay valid however long they are kept, provided the caller does not
 * reuse or mutate a chunk after pushing it (copy first if the socket reuses buffers).
 * A retained view keeps its whole chunk alive: copy values stored long-term.
 */
export class RequestDecoder {
  readonly limits: DecoderLimits;
  /** Apply Redis's unauthenticated limits; the server clears this after AUTH. */
  authRequired: boolean;

  readonly #queue = new ByteQueue();
  #error: DecodeError | undefined;
  /** Arguments still expected by the current multibulk; 0 when between commands. */
  #argsLeft = 0;
  /** Length of the bulk whose header was read, or -1 when the next thing is a header. */
  #bulkBytes = -1;
  #args: Buffer[] = [];
  /** Bytes (plus overhead) of the arguments parsed so far for the pending command. */
  #argsBytes = 0;
  /** Scratch out-parameter of the fast path, kept to avoid an allocation per command. */
  readonly #cursor = [0];

  constructor(options: DecoderOptions = {}) {
    this.limits = resolveLimits(options.limits);
    this.authRequired = options.authRequired ?? false;
  }

  /** Bytes held for the client: unread input plus the pending command's parsed arguments. */
  get bufferedBytes(): number {
    return this.#queue.length + this.#argsBytes;
  }

  /** The error that killed the decoder, if any. */
  get error(): DecodeError | undefined {
    return this.#error;
  }

  /**
   * Adds received bytes. Returns a QueryBufferLimitError (and dies) when the client
   * now holds more than client-query-buffer-limit; Redis checks this right after each
   * read, before parsing, so commands already buffered are not executed either.
   */
  push(chunk: Buffer): DecodeError | undefined {
    if (this.#error !== undefined) return this.#error;
    this.#queue.push(chunk);
    return this.#checkQueryBuffer();
  }

  /** The next complete command, undefined if more bytes are needed, or the fatal error. */
  next(): Buffer[] | DecodeError | undefined {
    if (this.#error !== undefined) return this.#error;
    for (;;) {
      const result = this.#argsLeft > 0 ? this.#readArgs() : this.#readCommandStart();
      // `null` means "a command was consumed but it was empty": keep going, like Redis
      // does for `*0`, `*-1` and blank inline lines.
      if (result !== null) return result;
    }
  }

  #fail(error: DecodeError): DecodeError {
    this.#error = error;
    return error;
  }

  #checkQueryBuffer(): DecodeError | undefined {
    const held = this.bufferedBytes;
    if (held > this.limits.queryBufferBytesMax) {
      return this.#fail(new QueryBufferLimitError(held, this.limits.queryBufferBytesMax));
    }
    return undefined;
  }

  #readCommandStart(): Buffer[] | DecodeError | undefined | null {
    const chunk = this.#queue.headChunk;
    if (chunk === undefined) return undefined;
    const start = this.#queue.headOffset;
    if (chunk[start] !== STAR) return this.#readInline();
    // Fast path: a canonical, acceptable `*N\r\n` inside the head chunk.
    const count = readCanonicalLength(chunk, start + 1, this.#cursor);
    const countMax = this.authRequired ? UNAUTHENTICATED_MULTIBULK_ARGS_MAX : this.limits.multibulkArgsMax;
    if (count <= 0 || count > countMax || count > this.limits.multibulkArgsMax) return this.#readMultibulkHeader();
    const args: Buffer[] = [];
    const end = readCanonicalArgs(chunk, this.#cursor[0]!, count, this.#fastBulkMax(), args, this.#cursor);
    this.#queue.skip(end - start);
    // Common case: the whole command was in this chunk.
    if (args.length === count) return args;
    this.#args = args;
    this.#argsLeft = count - args.length;
    for (const arg of args) this.#argsBytes += arg.length + ARG_OVERHEAD_BYTES;
    return this.#readArgs();
  }

  /** Longest bulk the fast path may accept: anything longer needs the general checks. */
  #fastBulkMax(): number {
    const max = this.limits.bulkBytesMax;
    return this.authRequired ? Math.min(UNAUTHENTICATED_BULK_BYTES_MAX, max) : max;
  }

  /**
   * processInlineBuffer: a line up to "\n" (one preceding "\r" dropped), split by
   * sdssplitargs. Waiting for "\n" is bounded: once more than inlineBytesMax bytes
   * are buffered without one, the request is too big.
   */
  #readInline(): Buffer[] | DecodeError | undefined | null {
    const max = this.limits.inlineBytesMax;
    const newline = this.#queue.lineEnd(LF, max + 1);
    if (newline === -1) {
      return this.#queue.length > max ? this.#fail(tooBigInlineRequest()) : undefined;
    }
    const line = this.#queue.take(newline + 1);
    const end = newline > 0 && line[newline - 1] === CR ? newline - 1 : newline;
    const args = splitInlineArgs(line.subarray(0, end));
    if (args === undefined) return this.#fail(unbalancedQuotes());
    return args.length === 0 ? null : args;
  }

  /** Finds a "\r"-terminated header line; returns its length, undefined to wait, or an error. */
  #headerLine(tooBig: () => DecodeError): number | DecodeError | undefined {
    const max = this.limits.inlineBytesMax;
    const cr = this.#queue.lineEnd(CR, max + 1);
    if (cr === -1) return this.#queue.length > max ? this.#fail(tooBig()) : undefined;
    // Redis needs one byte after "\r" and skips it without checking it is "\n".
    if (cr + 2 > this.#queue.length) return undefined;
    return cr;
  }

  /** Parses the number after the type byte of a header line of `lineBytes` bytes. */
  #headerNumber(lineBytes: number): number | undefined {
    const line = this.#queue.take(lineBytes);
    this.#queue.skip(2);
    return parseLongLong(line, 1, lineBytes);
  }

  #readMultibulkHeader(): Buffer[] | DecodeError | undefined | null {
    const line = this.#headerLine(tooBigMbulkCountString);
    if (typeof line !== 'number') return line;
    const count = this.#headerNumber(line);
    if (count === undefined || count > this.limits.multibulkArgsMax) {
      return this.#fail(invalidMultibulkLength());
    }
    if (count > UNAUTHENTICATED_MULTIBULK_ARGS_MAX && this.authRequired) {
      return this.#fail(unauthenticatedMultibulkLength());
    }
    if (count <= 0) return null;
    this.#argsLeft = count;
    return this.#readArgs();
  }

  /** processMultibulkBuffer's loop: `$len\r\n` then len bytes and two unchecked bytes. */
  #readArgs(): Buffer[] | DecodeError | undefined {
    while (this.#argsLeft > 0) {
      if (this.#bulkBytes === -1 && !this.#readArgsFast()) {
        const header = this.#readBulkHeader();
        if (header !== null) return header;
      }
      if (this.#bulkBytes !== -1) {
        if (this.#queue.length < this.#bulkBytes + 2) return undefined;
        const arg = this.#queue.take(this.#bulkBytes);
        this.#queue.skip(2);
        this.#args.push(arg);
        this.#argsBytes += arg.length + ARG_OVERHEAD_BYTES;
        this.#bulkBytes = -1;
        this.#argsLeft--;
      }
      const overLimit = this.#checkQueryBuffer();
      if (overLimit !== undefined) return overLimit;
    }
    const args = this.#args;
    this.#args = [];
    this.#argsBytes = 0;
    return args;
  }

  /** Takes the canonical arguments complete in the head chunk; false if there were none. */
  #readArgsFast(): boolean {
    const chunk = this.#queue.headChunk;
    if (chunk === undefined) return false;
    const start = this.#queue.headOffset;
    const args = this.#args;
    const before = args.length;
    const end = readCanonicalArgs(chunk, start, this.#argsLeft, this.#fastBulkMax(), args, this.#cursor);
    if (args.length === before) return false;
    this.#queue.skip(end - start);
    this.#argsLeft -= args.length - before;
    for (let i = before; i < args.length; i++) this.#argsBytes += args[i]!.length + ARG_OVERHEAD_BYTES;
    return true;
  }

  /** Reads `$len\r\n` into #bulkBytes; null when done, else what `next()` should return. */
  #readBulkHeader(): DecodeError | undefined | null {
    const line = this.#headerLine(tooBigBulkCountString);
    if (typeof line !== 'number') return line;
    const type = this.#queue.byteAt(0)!;
    if (type !== DOLLAR) return this.#fail(expectedDollar(type));
    const length = this.#headerNumber(line);
    if (length === undefined || length < 0 || length > this.limits.bulkBytesMax) {
      return this.#fail(invalidBulkLength());
    }
    if (length > UNAUTHENTICATED_BULK_BYTES_MAX && this.authRequired) {
      return this.#fail(unauthenticatedBulkLength());
    }
    this.#bulkBytes = length;
    return null;
  }
}
