// The durable Raft log of a raftis node: a segmented write-ahead log implementing
// consensus's LogStorage plus the writes a driver makes for each Ready.

export { WalStorage, type PersistBatch } from './wal_storage.ts';
export { WalClosedError, WalCorruptionError, WalIoError, WalUsageError } from './errors.ts';
export type { FsyncPolicy, WalOptions } from './options.ts';
export { crc32c } from './crc32c.ts';
