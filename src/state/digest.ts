// Owns the content digest of a state database: a SHA-256 over every row of every table,
// in a fixed order, so replicas (and tests) can check they reached the same state.
// Invariant: depends only on what the state holds, not on page layout, file or history:
// `keys` is read with the key overlay laid over it (replicas write rows back at
// different moments), and the overlay table itself is not hashed.

import { createHash, type Hash } from 'node:crypto';
import type { StateDatabase } from './database.ts';
import type { SqlValue } from './sqlite.ts';
import { keysWithOverlay } from './key_overlay.ts';

/** Hex SHA-256 of all rows of all tables (names and values tagged with type and length). */
export function stateDigest(state: StateDatabase): string {
  const sql = state.sqlite;
  const hash = createHash('sha256');
  const tables = sql
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all() as string[];
  for (const table of tables) {
    if (table === 'key_overlay') continue;
    const columns = sql.prepare(`SELECT name FROM pragma_table_info(?) ORDER BY cid`).pluck().all(table) as string[];
    const quoted = columns.map((name) => `"${name.replaceAll('"', '""')}"`).join(', ');
    feed(hash, table);
    const rows = table === 'keys' ? keysWithOverlay(sql) : sql.prepare(`SELECT ${quoted} FROM "${table}" ORDER BY ${quoted}`).iterate();
    for (const row of rows) {
      for (const column of columns) feed(hash, (row as unknown as Record<string, SqlValue>)[column] ?? null);
    }
  }
  return hash.digest('hex');
}

function feed(hash: Hash, value: SqlValue): void {
  if (value === null) {
    hash.update('n');
  } else if (Buffer.isBuffer(value)) {
    hash.update(`b${value.length}:`).update(value);
  } else if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    hash.update(`s${bytes.length}:`).update(bytes);
  } else {
    hash.update(`i${String(value)};`);
  }
}
