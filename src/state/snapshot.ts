// Owns state snapshots as files: making a consistent copy of the live state database
// without stalling the event loop, reading which applied position a copy holds, and
// installing a copy in place of the state file.
// Invariants: a snapshot file is published (renamed to its final name) only once complete
// and fsynced; the position reported is read from the copy itself, never assumed.

import { closeSync, copyFileSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { LogIndex, Term } from '../../consensus/index.ts';
import { SchemaVersionError, StateDatabase } from './database.ts';
import { SCHEMA_VERSION } from './schema.ts';
import { openSqlite } from './sqlite.ts';

export interface SnapshotFile {
  readonly path: string;
  readonly appliedIndex: LogIndex;
  readonly appliedTerm: Term;
}

export interface SnapshotOptions {
  /** Pages copied per event-loop turn (default 64, i.e. 1 MiB with 16 KiB pages). */
  readonly pagesPerStep?: number;
  /**
   * Flush the copy to disk in the thread pool each time this many more bytes were copied
   * (default 32 MiB). Otherwise the whole copy is still dirty in the page cache when the
   * backup's final step commits it, and SQLite's own fsync of that commit runs on the
   * event loop: 0.5-0.65 s for 1 GiB, long enough to cost a leader its leadership.
   */
  readonly flushEveryBytes?: number;
}

/**
 * Copy the state database to `destPath` with SQLite's online backup, a few pages per
 * `setImmediate`, so applying, replying and heartbeats carry on meanwhile. Writes made
 * through the same connection during the copy are folded into it by SQLite, so the copy
 * is consistent as of the last step; which applied index that is, is read from the copy.
 *
 * Why not `VACUUM INTO`: it writes the whole copy in one synchronous call, blocking the
 * event loop (elections time out) for as long as the database takes to copy.
 */
export async function createSnapshot(
  state: StateDatabase,
  destPath: string,
  options: SnapshotOptions = {},
): Promise<SnapshotFile> {
  const pagesPerStep = options.pagesPerStep ?? 64;
  if (!Number.isSafeInteger(pagesPerStep) || pagesPerStep < 1) throw new Error(`pagesPerStep ${pagesPerStep} is invalid`);
  const flushEveryBytes = options.flushEveryBytes ?? 32 * 1024 * 1024;
  if (!Number.isSafeInteger(flushEveryBytes) || flushEveryBytes < 1) throw new Error(`flushEveryBytes ${flushEveryBytes} is invalid`);
  const flushEveryPages = Math.max(1, Math.floor(flushEveryBytes / (state.sqlite.pragma('page_size', { simple: true }) as number)));
  const partial = `${destPath}.partial`;
  rmSync(partial, { force: true }); // a leftover of a crash mid-copy
  let flushedAtPage = 0;
  let flushing: Promise<void> | null = null;
  const progress = ({ totalPages, remainingPages }: { totalPages: number; remainingPages: number }): number => {
    const copied = totalPages - remainingPages;
    if (flushing === null && copied - flushedAtPage >= flushEveryPages) {
      flushedAtPage = copied;
      // Only an early write-back: a failure here is caught by the final fsync below.
      flushing = fsyncPathAsync(partial).catch(() => undefined).finally(() => (flushing = null));
    }
    return pagesPerStep;
  };
  try {
    await state.sqlite.backup(partial, { progress });
    await flushing;
    const position = sealCopy(partial);
    // In the thread pool: flushing a large copy takes long enough (~0.5-1 s per GiB) to
    // stall heartbeats and cost a leader its leadership if done on the event loop.
    await fsyncPathAsync(partial);
    renameSync(partial, destPath);
    fsyncPath(dirname(destPath));
    return { path: destPath, ...position };
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
}

/** The applied position a snapshot file holds, after checking its schema version and integrity. */
export function inspectSnapshot(path: string): Omit<SnapshotFile, 'path'> {
  const sqlite = openSqlite(path, { readonly: true, fileMustExist: true });
  try {
    const version = sqlite.pragma('user_version', { simple: true }) as number;
    // An older schema is fine: the database migrates when it is opened after the restore.
    if (version < 1 || version > SCHEMA_VERSION) throw new SchemaVersionError(path, version);
    const check = sqlite.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`snapshot ${path} fails quick_check: ${String(check)}`);
    return readPosition(sqlite);
  } finally {
    sqlite.close();
  }
}

/**
 * Replace the state file of `state` (closed here) with the snapshot at `snapshotPath`
 * (consumed: it is moved, or copied if on another filesystem) and return the reopened
 * database; build new Keyspace objects on it. Crash safety, step by step:
 * 1. the snapshot is validated and fsynced; the live database is checkpointed into its
 *    main file and closed, and its (now empty) -wal and -shm removed. A crash here leaves
 *    the old state whole: a restart resumes from its applied index as before.
 * 2. one `rename` puts the snapshot in place, which is atomic: after a crash the file is
 *    either wholly old or wholly new, never a mix, and the directory is fsynced after.
 * The old WAL must be gone before step 2: SQLite would otherwise replay old frames
 * into the new file. If it is not empty after the checkpoint we refuse and keep the old state.
 */
export function restoreFrom(state: StateDatabase, snapshotPath: string): StateDatabase {
  const statePath = state.path;
  if (state.sqlite.memory) throw new Error('cannot restore an in-memory state database from a file');
  inspectSnapshot(snapshotPath);
  fsyncPath(snapshotPath);
  if (state.checkpoint() === null) throw new Error(`cannot checkpoint ${statePath} before restore`);
  state.close();
  for (const suffix of ['-wal', '-journal']) {
    const side = statePath + suffix;
    if (existsSync(side) && statSync(side).size > 0) {
      throw new Error(`${side} still holds data after checkpoint; refusing to restore over it`);
    }
    rmSync(side, { force: true });
  }
  rmSync(`${statePath}-shm`, { force: true });
  moveInto(snapshotPath, statePath);
  fsyncPath(dirname(statePath));
  return StateDatabase.open(statePath, { exclusiveLock: state.exclusiveLock });
}

/** Make the finished copy self-contained (rollback journal, no -wal) and read its position. */
function sealCopy(path: string): Omit<SnapshotFile, 'path'> {
  const sqlite = openSqlite(path, { fileMustExist: true });
  try {
    sqlite.pragma('journal_mode = DELETE');
    const version = sqlite.pragma('user_version', { simple: true }) as number;
    if (version !== SCHEMA_VERSION) throw new SchemaVersionError(path, version);
    return readPosition(sqlite);
  } finally {
    sqlite.close();
  }
}

function readPosition(sqlite: ReturnType<typeof openSqlite>): Omit<SnapshotFile, 'path'> {
  const read = sqlite.prepare('SELECT value FROM meta WHERE name = ?').pluck();
  return {
    appliedIndex: (read.get('applied_index') as number) as LogIndex,
    appliedTerm: (read.get('applied_term') as number) as Term,
  };
}

/** Rename `from` to `to`; across filesystems, copy to a temporary beside `to`, fsync, rename. */
function moveInto(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    const temporary = join(dirname(to), `.${basename(to)}.restore`);
    copyFileSync(from, temporary);
    fsyncPath(temporary);
    renameSync(temporary, to);
    rmSync(from, { force: true });
  }
}

async function fsyncPathAsync(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
