// The named failures of the write-ahead log. Corruption means the node must be
// repaired from its peers and must not start (so it is never elected); an I/O
// failure leaves the in-memory view untrustworthy, so the log refuses further use.

/** A record that fails its checks before the tail, a missing segment, or an inconsistent log. */
export class WalCorruptionError extends Error {
  override readonly name = 'WalCorruptionError';
  readonly path: string;
  readonly offset: number;
  constructor(path: string, offset: number, reason: string, options?: { cause?: unknown }) {
    super(`WAL corrupt at ${path}:${offset}: ${reason}; repair this node from its peers`, options);
    this.path = path;
    this.offset = offset;
  }
}

/** A write, fsync, create, rename or unlink failed (see `cause`); the log is now closed to further use (fail-stop). */
export class WalIoError extends Error {
  override readonly name = 'WalIoError';
  constructor(operation: string, options: { cause: unknown }) {
    const detail = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`WAL ${operation} failed (${detail}); restart the node to recover from disk`, options);
  }
}

/** Any use after close() or after a WalIoError. */
export class WalClosedError extends Error {
  override readonly name = 'WalClosedError';
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`WAL is closed: ${reason}`, options);
  }
}

/** A caller broke the contract: a gap, an append at or below the snapshot, an oversized entry, a bad range. */
export class WalUsageError extends Error {
  override readonly name = 'WalUsageError';
}
