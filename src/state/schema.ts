// Owns the state database's DDL and its version (PRAGMA user_version).
// Invariant: a database is either empty (version 0, no tables) or carries exactly
// SCHEMA_VERSION; any other version is refused rather than guessed at.

/** Bump on every DDL change, and add a migration step in database.ts. */
export const SCHEMA_VERSION = 1;

/**
 * Tables:
 * - `meta`: named integer counters (applied index/term, key-id counter, flush stamps,
 *   tombstone horizon). Names are the `MetaName` values in database.ts.
 * - `keys`: one row per key. `type` is the data type ('string' today); `value` holds the
 *   string bytes, or for types stored in other tables a reference owned by that type.
 *   `id` is the key's SCAN identity (see key_rows.ts); `mod_index` the Raft index of
 *   the last write; `expires_at` an absolute deadline in ms, NULL when persistent.
 * - `tombstones`: the Raft index at which a key last stopped existing, for WATCH.
 */
export const SCHEMA_DDL = `
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
