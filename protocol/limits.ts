// Owns the request-size limits and their Redis 7 defaults.
// Must not read configuration or the environment: the server passes values in.
// Invariant: every limit is a positive safe integer; `resolveLimits` rejects others.

/** Limits enforced by `RequestDecoder`; names carry their unit. */
export interface DecoderLimits {
  /** proto-max-bulk-len: longest bulk argument accepted. */
  readonly bulkBytesMax: number;
  /** Largest `*N` accepted (Redis 7: INT_MAX). Never preallocated. */
  readonly multibulkArgsMax: number;
  /** PROTO_INLINE_MAX_SIZE: longest inline line, and longest `*N` / `$N` header line. */
  readonly inlineBytesMax: number;
  /** client-query-buffer-limit: bytes held for one client before it is closed. */
  readonly queryBufferBytesMax: number;
}

export const DEFAULT_LIMITS: DecoderLimits = Object.freeze({
  bulkBytesMax: 512 * 1024 * 1024,
  multibulkArgsMax: 2147483647,
  inlineBytesMax: 64 * 1024,
  queryBufferBytesMax: 1024 * 1024 * 1024,
});

/** Redis 7 limits while a client still has to AUTH (authRequired). */
export const UNAUTHENTICATED_MULTIBULK_ARGS_MAX = 10;
export const UNAUTHENTICATED_BULK_BYTES_MAX = 16384;

export function resolveLimits(partial: Partial<DecoderLimits> | undefined): DecoderLimits {
  const limits = { ...DEFAULT_LIMITS, ...partial };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`decoder limit ${name} must be a positive safe integer, got ${String(value)}`);
    }
  }
  return Object.freeze(limits);
}
