// Owns the state database's DDL and its version (PRAGMA user_version).
// Invariant: a database is either empty (version 0, no tables) or carries exactly
// SCHEMA_VERSION; any other version is refused rather than guessed at.

/** Bump on every DDL change, and add a migration step in database.ts. */
export const SCHEMA_VERSION = 7;

/**
 * Tables:
 * - `meta`: named integer counters (applied index/term, key-id counter, flush stamps,
 *   tombstone horizon). Names are the `MetaName` values in database.ts.
 * - `keys`: one row per key. `type` is the data type ('string' today); `value` holds the
 *   string bytes, or for types stored in other tables a reference owned by that type.
 *   `id` is the key's SCAN identity (see key_rows.ts); `mod_index` the Raft index of
 *   the last write; `expires_at` an absolute deadline in ms, NULL when persistent.
 * - `tombstones`: the Raft index at which a key last stopped existing, for WATCH.
 * - `streams` (version 2): one row per stream value; `keys.value` of a 'stream' key holds
 *   its `ref` as decimal text. IDs are 16-byte big-endian BLOBs (ms, seq), so BLOB order
 *   is ID order. `tail_node`/`tail_count` model Redis's listpack nodes (approximate trim).
 * - `stream_entries`: (ref, id) → node number and the field/value pairs as one BLOB.
 * - `stream_groups`, `stream_consumers`, `stream_pel`: consumer groups, their consumers
 *   and the pending entries list; times are leader-stamped entry times in ms.
 * - `forwarded` (version 3): writes a follower forwarded to the leader, by (origin node,
 *   origin seq), with the reply they produced, so a re-sent forward is never applied twice.
 * - `nodes` (version 4): each node's announced client (RESP) and HTTP addresses, so any
 *   node can tell clients where the leader and the others are.
 * - version 6 adds no table: `meta.next_key_id`, the id the next created key gets (it
 *   was the creating entry's index × 2^20 + n before, which ran out of safe integers at
 *   index 2^33 and of room at 2^20 keys per entry).
 * - `key_overlay` (version 7): key rows changed in memory and not yet written to `keys`,
 *   saved by each commit in chunks (key_overlay.ts); the keyspace at a commit is `keys`
 *   with these laid over it. Empty after the state is opened.
 * - `stream_garbage` (version 5): refs of released streams too large to delete in the
 *   entry that released them. No key refers to them any more; their rows are removed a
 *   bounded number per 'reclaim' entry the leader proposes, and their `streams` row
 *   goes last (so its ref is not handed out again meanwhile).
 */
/** Version 1: the keyspace (meta, keys, tombstones). */
export const KEYSPACE_DDL = `
CREATE TABLE meta (
  name  TEXT    NOT NULL PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE keys (
  db         INTEGER NOT NULL,
  key        BLOB    NOT NULL,
  type       TEXT    NOT NULL,
  value      BLOB,
  expires_at INTEGER,
  id         INTEGER NOT NULL,
  mod_index  INTEGER NOT NULL,
  PRIMARY KEY (db, key)
) WITHOUT ROWID;

CREATE UNIQUE INDEX keys_by_id ON keys (db, id);
CREATE INDEX keys_by_expiry ON keys (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE tombstones (
  db        INTEGER NOT NULL,
  key       BLOB    NOT NULL,
  mod_index INTEGER NOT NULL,
  PRIMARY KEY (db, key)
) WITHOUT ROWID;

CREATE INDEX tombstones_by_index ON tombstones (mod_index);
`;

/** Version 2: Redis streams (entries, groups, consumers, pending entries). */
export const STREAMS_DDL = `
CREATE TABLE streams (
  ref           INTEGER PRIMARY KEY,
  last_id       BLOB    NOT NULL,
  max_deleted   BLOB    NOT NULL,
  entries_added INTEGER NOT NULL,
  length        INTEGER NOT NULL,
  tail_node     INTEGER NOT NULL,
  tail_count    INTEGER NOT NULL
);

CREATE TABLE stream_entries (
  ref    INTEGER NOT NULL,
  id     BLOB    NOT NULL,
  node   INTEGER NOT NULL,
  fields BLOB    NOT NULL,
  PRIMARY KEY (ref, id)
) WITHOUT ROWID;

CREATE INDEX stream_entries_by_node ON stream_entries (ref, node, id);

CREATE TABLE stream_groups (
  ref          INTEGER NOT NULL,
  name         BLOB    NOT NULL,
  last_id      BLOB    NOT NULL,
  entries_read INTEGER,
  PRIMARY KEY (ref, name)
) WITHOUT ROWID;

CREATE TABLE stream_consumers (
  ref       INTEGER NOT NULL,
  grp       BLOB    NOT NULL,
  name      BLOB    NOT NULL,
  seen_ms   INTEGER NOT NULL,
  active_ms INTEGER NOT NULL,
  PRIMARY KEY (ref, grp, name)
) WITHOUT ROWID;

CREATE TABLE stream_pel (
  ref            INTEGER NOT NULL,
  grp            BLOB    NOT NULL,
  id             BLOB    NOT NULL,
  consumer       BLOB    NOT NULL,
  delivery_ms    INTEGER NOT NULL,
  delivery_count INTEGER NOT NULL,
  PRIMARY KEY (ref, grp, id)
) WITHOUT ROWID;

CREATE INDEX stream_pel_by_consumer ON stream_pel (ref, grp, consumer, id);
CREATE INDEX stream_pel_by_delivery ON stream_pel (ref, grp, delivery_ms);
`;

/** Version 3: forwarded writes already applied (deduplication of re-sent forwards). */
export const FORWARDED_DDL = `
CREATE TABLE forwarded (
  origin TEXT NOT NULL,
  seq INTEGER NOT NULL,
  applied_index INTEGER NOT NULL,
  reply BLOB NOT NULL,
  PRIMARY KEY (origin, seq)
) WITHOUT ROWID;
CREATE INDEX forwarded_by_index ON forwarded (applied_index);
`;

/** Version 4: announced node addresses. */
export const NODES_DDL = `
CREATE TABLE nodes (
  id TEXT PRIMARY KEY,
  resp_addr TEXT NOT NULL,
  http_addr TEXT NOT NULL
) WITHOUT ROWID;
`;

/** Version 5: released streams whose rows are still being removed (lazy free). */
export const STREAM_GARBAGE_DDL = `
CREATE TABLE stream_garbage (
  ref INTEGER PRIMARY KEY
);
`;

/** Version 6: key ids come from a counter; it starts above every id already given. */
export const KEY_ID_COUNTER_DDL = `
INSERT INTO meta (name, value) SELECT 'next_key_id', coalesce(max(id), 0) + 1 FROM keys;
`;

/** Version 7: key rows saved by a commit without being written to `keys` yet. */
export const KEY_OVERLAY_DDL = `
CREATE TABLE key_overlay (
  seq  INTEGER PRIMARY KEY,
  data BLOB NOT NULL
);
`;

/** The whole schema of a new database. */
export const SCHEMA_DDL = KEYSPACE_DDL + STREAMS_DDL + FORWARDED_DDL + NODES_DDL + STREAM_GARBAGE_DDL + KEY_OVERLAY_DDL;

/** DDL that upgrades a database from version N to N + 1. */
export const MIGRATIONS: Readonly<Record<number, string>> = { 1: STREAMS_DDL, 2: FORWARDED_DDL, 3: NODES_DDL, 4: STREAM_GARBAGE_DDL, 5: KEY_ID_COUNTER_DDL, 6: KEY_OVERLAY_DDL };
