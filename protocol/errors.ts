// Owns the decoder's failure values and the one place their texts are built.
// Must not throw them: the decoder returns them, the server replies and closes.
// Invariant: `ProtocolError.message` is byte-for-byte the text Redis 7 puts after
// "-ERR " for the same input; `replyText` is the full error line without "-".

/** Which rule of the request grammar was broken (one per Redis error text). */
export type ProtocolErrorReason =
  | 'invalid-multibulk-length'
  | 'invalid-bulk-length'
  | 'unauthenticated-multibulk-length'
  | 'unauthenticated-bulk-length'
  | 'too-big-inline-request'
  | 'too-big-mbulk-count-string'
  | 'too-big-bulk-count-string'
  | 'unbalanced-quotes'
  | 'expected-dollar';

/** A malformed request. Redis answers `-ERR <message>` and closes the connection. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly kind = 'protocol';
  readonly reason: ProtocolErrorReason;

  constructor(reason: ProtocolErrorReason, message: string) {
    super(message);
    this.reason = reason;
  }

  /** The error line to send (without the leading "-" and trailing CRLF). */
  get replyText(): string {
    return `ERR ${this.message}`;
  }
}

/**
 * The client buffered more than client-query-buffer-limit. Redis closes the
 * connection without a reply ("Closing client that reached max query buffer length").
 */
export class QueryBufferLimitError extends Error {
  override readonly name = 'QueryBufferLimitError';
  readonly kind = 'query-buffer-limit';
  readonly bufferedBytes: number;
  readonly limitBytes: number;

  constructor(bufferedBytes: number, limitBytes: number) {
    super(`query buffer of ${bufferedBytes} bytes exceeds client-query-buffer-limit ${limitBytes}`);
    this.bufferedBytes = bufferedBytes;
    this.limitBytes = limitBytes;
  }
}

/** Everything `RequestDecoder` can fail with; switch on `kind`. */
export type DecodeError = ProtocolError | QueryBufferLimitError;

export function invalidMultibulkLength(): ProtocolError {
  return new ProtocolError('invalid-multibulk-length', 'Protocol error: invalid multibulk length');
}

export function invalidBulkLength(): ProtocolError {
  return new ProtocolError('invalid-bulk-length', 'Protocol error: invalid bulk length');
}

export function unauthenticatedMultibulkLength(): ProtocolError {
  return new ProtocolError('unauthenticated-multibulk-length', 'Protocol error: unauthenticated multibulk length');
}

export function unauthenticatedBulkLength(): ProtocolError {
  return new ProtocolError('unauthenticated-bulk-length', 'Protocol error: unauthenticated bulk length');
}

export function tooBigInlineRequest(): ProtocolError {
  return new ProtocolError('too-big-inline-request', 'Protocol error: too big inline request');
}

export function tooBigMbulkCountString(): ProtocolError {
  return new ProtocolError('too-big-mbulk-count-string', 'Protocol error: too big mbulk count string');
}

export function tooBigBulkCountString(): ProtocolError {
  return new ProtocolError('too-big-bulk-count-string', 'Protocol error: too big bulk count string');
}

export function unbalancedQuotes(): ProtocolError {
  return new ProtocolError('unbalanced-quotes', 'Protocol error: unbalanced quotes in request');
}

/**
 * Redis formats the offending byte with `%c` and then replaces CR and LF with
 * spaces (addReplyErrorFormat). Bytes >= 0x80 become the Latin-1 code point here;
 * Redis sends the raw byte.
 */
export function expectedDollar(got: number): ProtocolError {
  const shown = got === 0x0d || got === 0x0a ? ' ' : String.fromCharCode(got);
  return new ProtocolError('expected-dollar', `Protocol error: expected '$', got '${shown}'`);
}
