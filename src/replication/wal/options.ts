// Options of the write-ahead log and their defaults. Every buffer and file the log
// keeps has its bound here; resolveWalOptions rejects combinations that cannot work.

export type FsyncPolicy = 'always' | 'none';

export interface WalOptions {
  /** 'always' (default): each persist() is durable when it returns. 'none': tests and benchmarks only. */
  readonly fsync?: FsyncPolicy;
  /** A segment is rolled when the next record would take it past this size (one oversized record may exceed it). */
  readonly segmentBytes?: number;
  /** Zeros are written this far ahead of the logical end, so appends overwrite allocated blocks (cheap fdatasync). */
  readonly preallocateBytes?: number;
  /** Largest record payload; an entry's data may be this minus 17 bytes. */
  readonly recordBytesMax?: number;
  /** Bound on the tail cache of recent entries, in entry bytes (data + 24) and in entries. */
  readonly cacheBytesMax?: number;
  readonly cacheEntriesMax?: number;
  /** Bound on one positional read when serving entries() from disk. */
  readonly readSpanBytesMax?: number;
}

export type ResolvedWalOptions = Required<WalOptions>;

export function resolveWalOptions(o: WalOptions = {}): ResolvedWalOptions {
  const r: ResolvedWalOptions = {
    fsync: o.fsync ?? 'always',
    segmentBytes: o.segmentBytes ?? 64 << 20,
    preallocateBytes: o.preallocateBytes ?? 4 << 20,
    recordBytesMax: o.recordBytesMax ?? (64 << 20) + (64 << 10),
    cacheBytesMax: o.cacheBytesMax ?? 16 << 20,
    cacheEntriesMax: o.cacheEntriesMax ?? 65536,
    readSpanBytesMax: o.readSpanBytesMax ?? 4 << 20,
  };
  if (r.fsync !== 'always' && r.fsync !== 'none') throw new RangeError(`fsync must be 'always' or 'none', got ${String(r.fsync)}`);
  const positive = ['segmentBytes', 'preallocateBytes', 'recordBytesMax', 'cacheBytesMax', 'cacheEntriesMax', 'readSpanBytesMax'] as const;
  for (const k of positive) {
    if (!Number.isSafeInteger(r[k]) || r[k] <= 0) throw new RangeError(`${k} must be a positive integer, got ${r[k]}`);
  }
  // Offsets are kept below 2^32 (see entry_index.ts); one segment holds at most one oversized record past its size.
  if (r.segmentBytes + r.recordBytesMax + r.preallocateBytes >= 2 ** 32) throw new RangeError('segmentBytes + recordBytesMax must stay below 4 GiB');
  if (r.recordBytesMax < 4096) throw new RangeError(`recordBytesMax must be at least 4096, got ${r.recordBytesMax}`);
  return r;
}
