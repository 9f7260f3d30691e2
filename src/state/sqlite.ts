// Owns the one import of better-sqlite3 and the narrow typed surface the state
// machine uses (the package ships no types and @types/better-sqlite3 is not installed).
// Invariant: keys and values are bound as Buffer, so SQLite stores BLOBs and compares
// them byte-wise (memcmp); integers we bind are safe JS integers.

import { createRequire } from 'node:module';

export type SqlValue = number | bigint | string | Buffer | null;
/** A positional value, or an object of named ones (`@name` in the SQL). */
export type SqlParam = SqlValue | Readonly<Record<string, SqlValue>>;

export interface RunResult {
  readonly changes: number;
  readonly lastInsertRowid: number | bigint;
}

export interface Statement {
  run(...params: readonly SqlParam[]): RunResult;
  get(...params: readonly SqlParam[]): unknown;
  all(...params: readonly SqlParam[]): unknown[];
  iterate(...params: readonly SqlParam[]): IterableIterator<unknown>;
  /** Return only the first column of each row. */
  pluck(on?: boolean): this;
  /** Return each row as an array of its columns, not an object (no property per column). */
  raw(on?: boolean): this;
}

export interface BackupProgress {
  readonly totalPages: number;
  readonly remainingPages: number;
}

export interface BackupOptions {
  /** Called between steps; the return value is the number of pages to copy in the next step. */
  readonly progress?: (progress: BackupProgress) => number;
}

export interface Sqlite {
  readonly name: string;
  readonly open: boolean;
  readonly inTransaction: boolean;
  readonly memory: boolean;
  prepare(sql: string): Statement;
  exec(sql: string): this;
  pragma(source: string, options?: { readonly simple?: boolean }): unknown;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  /** Online backup, one step per `setImmediate` (see snapshot.ts). */
  backup(destination: string, options?: BackupOptions): Promise<BackupProgress>;
  close(): this;
}

export interface SqliteOpenOptions {
  readonly readonly?: boolean;
  readonly fileMustExist?: boolean;
}

type SqliteConstructor = new (path: string, options?: SqliteOpenOptions) => Sqlite;

const require = createRequire(import.meta.url);
const BetterSqlite3 = require('better-sqlite3') as SqliteConstructor;

/** Open (creating unless `fileMustExist`) a SQLite database file, or ':memory:'. */
export function openSqlite(path: string, options: SqliteOpenOptions = {}): Sqlite {
  return new BetterSqlite3(path, options);
}
