// The public surface of src/state: the deterministic SQLite state machine. Other
// modules import from here; files inside src/state import each other directly.

export { AUTO_CHECKPOINT_PAGES, JOURNAL_SIZE_LIMIT_BYTES, StateDatabase, SchemaVersionError, type AppliedPosition, type MetaName, type StateOpenOptions } from './database.ts';
export { SCHEMA_VERSION } from './schema.ts';
export {
  Keyspace,
  type ExpiryUpdate,
  type RenameResult,
  type CopyResult,
  type MoveResult,
} from './keyspace.ts';
export {
  STRING_TYPE,
  isExpired,
  type KeyEntry,
  type KeyType,
  type ExternalValueHooks,
  type ValueHooks,
} from './key_rows.ts';
export type { DbKey, ScanPage, KeyspaceDbInfo } from './key_iteration.ts';
export { deadline, type Deadline } from './deadline.ts';
export { globMatch, isMatchAll, GLOB_NESTING_MAX } from './glob.ts';
export { createSnapshot, inspectSnapshot, restoreFrom, type SnapshotFile, type SnapshotOptions } from './snapshot.ts';
export { stateDigest } from './digest.ts';
export {
  StreamStore,
  streamValueHooks,
  STREAM_TYPE,
  STREAM_NODE_ENTRIES,
  RECLAIM_ROWS,
  RELEASE_NOW_ROWS_MAX,
  type StreamMeta,
  type StreamEntry,
  type TrimArgs,
  type TrimStrategy,
} from './stream_store.ts';
export type { GroupRow, ConsumerRow, PendingRow } from './stream_groups.ts';
export * from './stream_id.ts';
