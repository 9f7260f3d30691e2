// Owns opening the state database (pragmas, schema creation and version check), the
// `meta` counters, and the applied position (index, term) of the state machine.
// Invariant: `applied_index`/`applied_term` only change inside a transaction, the same
// one that applies the entries they describe, and the index only grows.
// Must not read the clock or randomness: everything here runs inside `apply`.

import type { LogIndex, Term } from '../../consensus/index.ts';
import { openSqlite, type Sqlite } from './sqlite.ts';
import { MIGRATIONS, SCHEMA_DDL, SCHEMA_VERSION } from './schema.ts';

/**
 * Names of the integer counters in `meta`.
 * - `tombstone_horizon`: tombstones older than this index have been pruned.
 * - `next_key_id`: the id the next key created gets (key_rows.ts).
 */
export type MetaName =
  | 'applied_index'
  | 'applied_term'
  | 'tombstone_horizon'
  | 'next_key_id';

const META_DEFAULTS: readonly (readonly [MetaName, number])[] = [
  ['applied_index', 0],
  ['applied_term', 0],
  ['tombstone_horizon', 0],
  ['next_key_id', 1],
];

/** Where the state machine stands: the last log entry whose effects are in this database. */
export interface AppliedPosition {
  readonly index: LogIndex;
  readonly term: Term;
}

/**
 * What an in-memory copy of rows hears from the state database's transactions.
 * `begin`/`commit`/`rollback` pair up per `transaction` call (savepoints when nested);
 * `beforeRelease` runs inside each of them (savepoint or not) just before it ends
 * successfully; `beforeCommit` runs inside the transaction just before SQLite commits
 * it: the last moment to write rows that must be part of it.
 */
export interface TransactionListener {
  begin(): void;
  commit(): void;
  rollback(): void;
  beforeCommit(): void;
  beforeRelease?(): void;
}

/** The file was written by another schema version; we refuse to guess. */
export class SchemaVersionError extends Error {
  override readonly name = 'SchemaVersionError';
  readonly found: number;

  constructor(path: string, found: number) {
    super(`state database ${path} has schema version ${found}, this build expects ${SCHEMA_VERSION}`);
    this.found = found;
  }
}

/**
 * Durability: `synchronous=NORMAL` in WAL mode means a commit is not fsynced; a power
 * loss may roll the file back by the last few transactions, but never corrupts it and
 * never splits a transaction. That is safe because the Raft log, not this file, is the
 * durability source: `applied_index` is committed atomically with the data it
 * describes, so after a crash the node resumes from whatever index survived and
 * re-applies the rest from its log. The one obligation this places on replication: the
 * log may be compacted only up to an index the state holds durably, i.e. one returned
 * by `checkpoint()` or carried by a snapshot file (snapshot.ts fsyncs it).
 */
/** SQLite's automatic checkpoint threshold on the main connection, in pages (16 KiB each). */
export const AUTO_CHECKPOINT_PAGES = 4096;
/** The size SQLite truncates the WAL file back to when the WAL restarts (journal_size_limit). */
export const JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

export interface StateOpenOptions {
  /**
   * Keep SQLite's file lock for the connection's lifetime (default true): no lock calls
   * per statement, but no other connection can open the file. A node turns it off so a
   * worker thread can checkpoint the WAL (src/replication/state_checkpointer.ts).
   */
  readonly exclusiveLock?: boolean;
}

export class StateDatabase {
  readonly sqlite: Sqlite;
  readonly path: string;
  readonly exclusiveLock: boolean;
  readonly #inTransaction: (fn: () => unknown) => unknown;
  readonly #getMeta;
  readonly #setMeta;
  readonly #listeners: TransactionListener[] = [];
  /**
   * How many `transaction` calls are running: inside one SQLite is certainly in a
   * transaction, so assertInTransaction (a few per applied write) need not ask it
   * (a native call, ~3 % of a pipelined SET's CPU).
   */
  #depth = 0;
  /** Write-through copies of `meta` values (every write goes through setMeta); a rollback drops them. */
  readonly #metas = new Map<MetaName, number>();

  private constructor(sqlite: Sqlite, path: string, exclusiveLock: boolean) {
    this.sqlite = sqlite;
    this.path = path;
    this.exclusiveLock = exclusiveLock;
    // One cached wrapper: better-sqlite3 builds a new one per `transaction()` call.
    this.#inTransaction = sqlite.transaction((fn: () => unknown) => fn());
    this.#getMeta = sqlite.prepare('SELECT value FROM meta WHERE name = ?').pluck();
    this.#setMeta = sqlite.prepare(
      'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
    );
  }

  /** Open or create the state database at `path` (a file, or ':memory:'). */
  static open(path: string, options: StateOpenOptions = {}): StateDatabase {
    const exclusiveLock = options.exclusiveLock ?? true;
    const sqlite = openSqlite(path);
    try {
      // 16 KiB pages keep values up to ~4 KiB inside their B-tree cell: with 4 KiB pages a
      // 1 KB value spills to an overflow page that is mostly empty (4.6 KiB per key).
      // Effective only for a new database (set before WAL and before any table).
      sqlite.pragma('page_size = 16384');
      sqlite.pragma('journal_mode = WAL'); // ':memory:' stays 'memory'; that is fine.
      sqlite.pragma('synchronous = NORMAL');
      sqlite.pragma('foreign_keys = OFF');
      // One connection owns the file: keep the lock instead of taking it per statement
      // (two fcntl calls per read otherwise), and keep pages and the WAL index hot.
      if (exclusiveLock) sqlite.pragma('locking_mode = EXCLUSIVE');
      // 32 MiB of pages: hot rows are in the row cache (row_cache.ts) anyway, and with
      // 64 MiB a node serving a snapshot of 1 GiB went past its 500 MB budget (measured).
      sqlite.pragma('cache_size = -32768');
      sqlite.pragma('temp_store = MEMORY');
      sqlite.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
      // After a checkpoint resets the WAL, SQLite truncates the file back to this size.
      sqlite.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
      ensureSchema(sqlite, path);
    } catch (error) {
      sqlite.close();
      throw error;
    }
    return new StateDatabase(sqlite, path, exclusiveLock);
  }

  /** SQLite's automatic checkpoint threshold in pages; 0 turns it off (someone else checkpoints). */
  setAutoCheckpoint(pages: number = AUTO_CHECKPOINT_PAGES): void {
    if (!Number.isSafeInteger(pages) || pages < 0) throw new Error(`auto-checkpoint of ${pages} pages is invalid`);
    this.sqlite.pragma(`wal_autocheckpoint = ${pages}`);
  }

  /**
   * The size the first commit after the WAL restarts truncates the WAL file to (SQLite's
   * journal_size_limit; -1: never truncated).
   */
  setJournalSizeLimit(bytes: number = JOURNAL_SIZE_LIMIT_BYTES): void {
    if (!Number.isSafeInteger(bytes) || bytes < -1) throw new Error(`journal size limit of ${bytes} bytes is invalid`);
    this.sqlite.pragma(`journal_size_limit = ${bytes}`);
  }

  /**
   * Run `fn` in one transaction (a savepoint when nested) and return its result. A throw
   * rolls everything back and propagates; `fn` must not return a promise. Listeners hear
   * of the transaction's begin and its end, and of the commit of an outermost one first.
   */
  transaction<R>(fn: () => R): R {
    const outermost = !this.sqlite.inTransaction;
    for (const l of this.#listeners) l.begin();
    let result: R;
    this.#depth++;
    try {
      result = this.#inTransaction(() => {
        const r = fn();
        for (const l of this.#listeners) l.beforeRelease?.();
        if (outermost) for (const l of this.#listeners) l.beforeCommit();
        return r;
      }) as R;
    } catch (error) {
      this.#depth--;
      this.#metas.clear();
      for (const l of this.#listeners) l.rollback();
      throw error;
    }
    this.#depth--;
    for (const l of this.#listeners) l.commit();
    return result;
  }

  /** Hooks for in-memory copies of rows, which must follow what SQLite does (see TransactionListener). */
  onTransaction(listener: TransactionListener): void {
    this.#listeners.push(listener);
  }

  /** `listener` runs after `transaction` rolled back writes (caches of rows must forget them). */
  onRollback(listener: () => void): void {
    this.onTransaction({ begin() {}, commit() {}, rollback: listener, beforeCommit() {} });
  }

  get inTransaction(): boolean {
    return this.sqlite.inTransaction;
  }

  /**
   * Opens an outer transaction that later `transaction` calls nest in (as savepoints),
   * so many applied batches share one commit: SQLite's commit cost is per dirty page,
   * and a busy node dirties the same pages again and again. Reads on this connection
   * see the uncommitted writes. Safe because the Raft log, not this file, makes writes
   * durable: a crash rolls the file back to its last commit, applied index included,
   * and the log replays the rest.
   */
  beginBatch(): void {
    if (!this.sqlite.inTransaction) this.sqlite.exec('BEGIN');
  }

  /** Commits the outer transaction opened by beginBatch, if any (listeners write back their rows first). */
  commitBatch(): void {
    if (!this.sqlite.inTransaction) return;
    for (const l of this.#listeners) l.beforeCommit();
    this.sqlite.exec('COMMIT');
  }

  /** Throw unless inside `transaction`: every state write belongs to an applied entry. */
  assertInTransaction(what: string): void {
    if (this.#depth === 0 && !this.sqlite.inTransaction) throw new Error(`${what} outside a state transaction`);
  }

  applied(): AppliedPosition {
    return { index: this.meta('applied_index') as LogIndex, term: this.meta('applied_term') as Term };
  }

  /** Record the last applied entry; must be in the transaction that applied it. */
  setApplied(index: LogIndex, term: Term): void {
    this.assertInTransaction('setApplied');
    const current = this.meta('applied_index');
    if (!Number.isSafeInteger(index) || index <= current) {
      throw new Error(`setApplied(${index}) does not advance applied index ${current}`);
    }
    this.setMeta('applied_index', index);
    // The term changes with leaders, not with entries: no statement for it otherwise.
    if (term !== this.meta('applied_term')) this.setMeta('applied_term', term);
  }

  /** A counter's value (0 when never set). */
  meta(name: MetaName): number {
    const known = this.#metas.get(name);
    if (known !== undefined) return known;
    const stored = this.#getMeta.get(name);
    const value = typeof stored === 'number' ? stored : 0;
    this.#metas.set(name, value);
    return value;
  }

  setMeta(name: MetaName, value: number): void {
    this.assertInTransaction('setMeta');
    if (!Number.isSafeInteger(value)) throw new Error(`meta ${name} = ${value} is not a safe integer`);
    this.#setMeta.run(name, value);
    this.#metas.set(name, value);
  }

  /**
   * Copy the WAL into the main file and fsync it, then return the applied position the
   * file now holds durably (so the Raft log may be compacted up to it). Returns null if
   * the checkpoint could not complete (a reader, e.g. a running backup, holds the WAL).
   */
  checkpoint(): AppliedPosition | null {
    if (this.sqlite.inTransaction) throw new Error('checkpoint inside a transaction');
    const row = this.sqlite.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[];
    const result = row[0];
    if (result === undefined || result.busy !== 0 || result.log !== result.checkpointed) return null;
    return this.applied();
  }

  close(): void {
    if (this.sqlite.open) this.sqlite.close();
  }
}

function ensureSchema(sqlite: Sqlite, path: string): void {
  const version = sqlite.pragma('user_version', { simple: true }) as number;
  if (version === SCHEMA_VERSION) return;
  if (version > 0 && version < SCHEMA_VERSION) {
    // An older database: apply each step's DDL in one transaction.
    sqlite.transaction(() => {
      for (let v = version; v < SCHEMA_VERSION; v++) {
        const ddl = MIGRATIONS[v];
        if (ddl === undefined) throw new SchemaVersionError(path, version);
        sqlite.exec(ddl);
      }
      sqlite.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
    return;
  }
  const tables = sqlite.prepare("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").pluck().get();
  if (version !== 0 || tables !== 0) throw new SchemaVersionError(path, version);
  sqlite.transaction(() => {
    sqlite.exec(SCHEMA_DDL);
    const insert = sqlite.prepare('INSERT INTO meta (name, value) VALUES (?, ?)');
    for (const [name, value] of META_DEFAULTS) insert.run(name, value);
    sqlite.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}
