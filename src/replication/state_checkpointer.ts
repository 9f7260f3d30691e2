// Owns WAL checkpoints of state.db while a node runs: a worker thread with its own SQLite
// connection copies committed WAL frames into the database file, so the main thread never
// does. (SQLite's automatic checkpoint runs inside the COMMIT that crosses its threshold,
// on the event loop: copying and fsyncing tens of MiB there stalled every client for
// 0.4 s at a time under write load.) Invariants: while it runs, the main connection's
// automatic checkpoint is off; stop() waits until the worker has closed its connection and
// turns the automatic checkpoint back on, so the file is the main thread's alone again.

import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { JOURNAL_SIZE_LIMIT_BYTES, type StateDatabase } from '../state/index.ts';

/** The same better-sqlite3 the state database uses (src/state/sqlite.ts), resolved for the worker. */
const SQLITE_MODULE = createRequire(import.meta.url).resolve('better-sqlite3');

/** Indexes into the shared control array. */
const CTL = { command: 0, state: 1, checkpoints: 2, errors: 3, wake: 4, served: 5, complete: 6, walFrames: 7, copiedFrames: 8 } as const;
const CTL_RUN = 0;
const CTL_STOP = 1;
const CTL_STATE_RUNNING = 1;
const CTL_STATE_CLOSED = 2;

interface CheckpointWorkerData {
  readonly sqliteModule: string;
  readonly path: string;
  readonly everyMs: number;
  readonly control: SharedArrayBuffer;
  readonly ctl: typeof CTL;
  readonly run: number;
  readonly running: number;
  readonly closed: number;
}

/**
 * A second apart: each round fsyncs the database file, which delays the Raft log's own
 * fdatasync on the same disk. Measured 2026-12-04, end to end on a stream at 10 000 msg/s
 * (p50 / p99): rounds every 200 ms 8.8 / 160 ms, every 1 s 2.0 / 55 ms, every 3 s
 * 2.6 / 63 ms; SQLite's own checkpoint on the event loop 2.4 / 77 ms. The longest PING
 * while 300 000 deleted stream entries were reclaimed: 15-35 ms (200 ms), 130-145 ms
 * (1 s and 3 s), 404 ms on the event loop.
 */
const EVERY_MS_DEFAULT = 1000;
/** How long stop() waits for a checkpoint in progress to finish (a large one takes ~1 s). */
const STOP_WAIT_MS = 30_000;
/**
 * SQLite restarts the WAL from its start only when a write transaction begins while every
 * frame is copied; under steady writes the main connection is nearly always inside one,
 * so without help the file grows without bound. Past this size, afterCommit() has the
 * worker finish the copy right after a commit (waiting at most RESET_WAIT_MS), and the
 * next transaction then restarts the WAL.
 */
const WAL_RESET_BYTES_DEFAULT = JOURNAL_SIZE_LIMIT_BYTES;
const RESET_WAIT_MS = 50;
/**
 * afterCommit() waits for the worker at most once in this long; other commits only wake
 * it. A node commits every 5 s, and also after each ~16 MiB of stream rows: under heavy writes
 * that is several times a second, and a 50 ms wait at each (the worker busy copying
 * hundreds of MiB) raised XADD's p99 from 25 to 70 ms (measured 2026-12-05).
 */
const HELP_EVERY_MS_DEFAULT = 5000;
/**
 * afterCommit() does not wait when the worker's last round left more than this much of
 * the WAL to copy: it is behind (after a burst of writes it copies hundreds of MiB), no
 * round will finish within RESET_WAIT_MS, and the wait only stalled the loop 50 ms.
 */
const HELP_BACKLOG_BYTES = 8 * 1024 * 1024;
/**
 * The first commit after the WAL restarts truncates the file to journal_size_limit, on
 * the event loop. Freeing a large file's blocks is slow: 633 MiB at once took 175-200 ms
 * (measured 2026-12-04, ext4), a stall every client saw. So afterCommit() lowers the limit
 * by at most this much per restart (~10 ms), and a WAL file that grew large shrinks back
 * over several restarts, one each time the WAL in use passes walResetBytes again.
 */
const SHRINK_STEP_BYTES_DEFAULT = 32 * 1024 * 1024;
/** SQLite's WAL frame header (wal.c): each frame is a page and these bytes. */
const WAL_FRAME_HEADER_BYTES = 24;
/**
 * The worker, as plain CommonJS run with `eval`: a TypeScript worker file would make Node
 * load its type stripper again in the new isolate (~9 MiB more RSS, measured). It opens
 * its own connection and, until told to stop, runs a PASSIVE checkpoint (never waits for,
 * nor blocks, the main thread's writer) every `everyMs` or when woken. It sleeps in
 * Atomics.wait on the shared control array (no event loop needed), reports each round in
 * it (with the WAL's frames in use), and always reports CLOSED before it ends, even when
 * opening failed.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { sqliteModule, path, everyMs, control, ctl: C, run, running, closed } = workerData;
const ctl = new Int32Array(control);
try {
  const db = new (require(sqliteModule))(path, { fileMustExist: true });
  try {
    Atomics.store(ctl, C.state, running);
    Atomics.notify(ctl, C.state);
    let wakes = Atomics.load(ctl, C.wake);
    while (Atomics.load(ctl, C.command) === run) {
      Atomics.wait(ctl, C.wake, wakes, everyMs);
      if (Atomics.load(ctl, C.command) !== run) break;
      wakes = Atomics.load(ctl, C.wake);
      let complete = 0;
      try {
        const r = db.pragma('wal_checkpoint(PASSIVE)')[0];
        complete = r !== undefined && r.busy === 0 && r.log === r.checkpointed ? 1 : 0;
        if (r !== undefined && r.log >= 0) {
          Atomics.store(ctl, C.walFrames, r.log);
          Atomics.store(ctl, C.copiedFrames, r.checkpointed);
        }
        Atomics.add(ctl, C.checkpoints, 1);
      } catch {
        Atomics.add(ctl, C.errors, 1); // e.g. SQLITE_BUSY: the next round tries again
      }
      Atomics.store(ctl, C.complete, complete);
      Atomics.store(ctl, C.served, wakes);
      Atomics.notify(ctl, C.served);
    }
  } finally {
    db.close();
  }
} catch {
  Atomics.add(ctl, C.errors, 1);
} finally {
  Atomics.store(ctl, C.state, closed);
  Atomics.notify(ctl, C.state);
}
`;

export interface CheckpointerOptions {
  /** Pause between checkpoints (default EVERY_MS_DEFAULT). */
  readonly everyMs?: number;
  /** Told when the worker could not run; the automatic checkpoint is back on by then. */
  readonly onFailure?: (error: Error) => void;
  /** WAL size past which afterCommit() helps the WAL restart, and that it shrinks back to (default 64 MiB). */
  readonly walResetBytes?: number;
  /** The most one restart of the WAL truncates from the file (default 32 MiB). */
  readonly shrinkStepBytes?: number;
  /** afterCommit() waits for the worker at most once in this many ms (default 5000). */
  readonly helpEveryMs?: number;
}

export class StateCheckpointer {
  readonly #state: StateDatabase;
  readonly #ctl: Int32Array;
  readonly #worker: Worker;
  readonly #walPath: string;
  /** Bytes of one WAL frame (a page and its header). */
  readonly #frameBytes: number;
  readonly #walResetBytes: number;
  readonly #shrinkStepBytes: number;
  readonly #helpEveryMs: number;
  #lastHelpMs = -Infinity;
  /** The journal_size_limit last set on the main connection. */
  #limitBytes: number | null = null;
  #stopped = false;

  /** Starts checkpointing `state` (a file database opened without an exclusive lock) in a worker. */
  constructor(state: StateDatabase, options: CheckpointerOptions = {}) {
    if (state.sqlite.memory) throw new Error('an in-memory state database has no WAL to checkpoint');
    if (state.exclusiveLock) throw new Error('background checkpoints need the state database opened with exclusiveLock: false');
    const everyMs = options.everyMs ?? EVERY_MS_DEFAULT;
    if (!Number.isSafeInteger(everyMs) || everyMs < 1) throw new Error(`checkpoint interval ${everyMs} ms is invalid`);
    this.#state = state;
    this.#walPath = `${state.path}-wal`;
    this.#frameBytes = Number(state.sqlite.pragma('page_size', { simple: true })) + WAL_FRAME_HEADER_BYTES;
    this.#walResetBytes = options.walResetBytes ?? WAL_RESET_BYTES_DEFAULT;
    this.#shrinkStepBytes = options.shrinkStepBytes ?? SHRINK_STEP_BYTES_DEFAULT;
    this.#helpEveryMs = options.helpEveryMs ?? HELP_EVERY_MS_DEFAULT;
    if (!(this.#shrinkStepBytes > 0)) throw new Error(`shrink step of ${this.#shrinkStepBytes} bytes is invalid`);
    const control = new SharedArrayBuffer(Object.keys(CTL).length * Int32Array.BYTES_PER_ELEMENT);
    this.#ctl = new Int32Array(control);
    const data: CheckpointWorkerData = {
      sqliteModule: SQLITE_MODULE, path: state.path, everyMs, control, ctl: CTL, run: CTL_RUN, running: CTL_STATE_RUNNING, closed: CTL_STATE_CLOSED,
    };
    state.setAutoCheckpoint(0);
    this.limitTruncation();
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: data });
    this.#worker.unref();
    const failed = (error: Error): void => {
      if (this.#stopped) return;
      this.#stopped = true;
      if (this.#state.sqlite.open) {
        this.#state.setAutoCheckpoint();
        this.#state.setJournalSizeLimit();
      }
      options.onFailure?.(error);
    };
    this.#worker.once('error', failed);
    this.#worker.once('exit', (code) => failed(new Error(`the checkpoint worker exited (code ${code}) before it was stopped`)));
  }

  /** Checkpoints the worker completed, and rounds that failed (e.g. busy). */
  get checkpoints(): number {
    return Atomics.load(this.#ctl, CTL.checkpoints);
  }
  get errors(): number {
    return Atomics.load(this.#ctl, CTL.errors);
  }

  /** Bytes of the WAL in use (its frames since it last restarted) when the worker last looked. */
  get walBytesInUse(): number {
    return Atomics.load(this.#ctl, CTL.walFrames) * this.#frameBytes;
  }

  /** Bytes of the WAL in use that the worker's last round left uncopied. */
  get walBytesBehind(): number {
    return (Atomics.load(this.#ctl, CTL.walFrames) - Atomics.load(this.#ctl, CTL.copiedFrames)) * this.#frameBytes;
  }

  /**
   * Call right after the main connection committed (outside any transaction). Sets the
   * WAL's size limit from the file's size (limitTruncation). Then, when the
   * WAL in use has grown past walResetBytes (as the worker last saw it; the file itself
   * keeps its size until a restart truncates it), asks the worker for a round now and,
   * at most once per helpEveryMs and unless the worker is far behind, waits for it (at
   * most RESET_WAIT_MS, blocking). Returns true if every frame is then copied, so the
   * next write transaction restarts the WAL, and its commit truncates the file by at most
   * shrinkStepBytes.
   */
  afterCommit(): boolean {
    if (this.#stopped) return false;
    this.limitTruncation();
    if (this.walBytesInUse <= this.#walResetBytes) return false;
    const request = Atomics.add(this.#ctl, CTL.wake, 1) + 1;
    Atomics.notify(this.#ctl, CTL.wake);
    const now = performance.now();
    if (!waitsForWorker(now, this.#lastHelpMs, this.#helpEveryMs, this.walBytesBehind)) return false; // woken only
    this.#lastHelpMs = now;
    const deadline = now + RESET_WAIT_MS;
    for (;;) {
      const served = Atomics.load(this.#ctl, CTL.served);
      if (served - request >= 0) return Atomics.load(this.#ctl, CTL.complete) === 1;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.#ctl, CTL.served, served, left);
    }
  }

  /**
   * Sets the WAL's size limit one step below the file's size now. A restart, helped or
   * not (after an idle spell the worker has copied everything), happens at the first
   * write of a transaction, before which the file does not grow: the commit that follows
   * then frees at most one step. So this runs after every commit (afterCommit calls it;
   * call it alone after a commit that skips afterCommit).
   */
  limitTruncation(): void {
    this.#limitWal(Math.max(this.#walResetBytes, walBytes(this.#walPath) - this.#shrinkStepBytes));
  }

  #limitWal(bytes: number): void {
    if (bytes === this.#limitBytes) return;
    this.#state.setJournalSizeLimit(bytes);
    this.#limitBytes = bytes;
  }

  /**
   * Stops the worker and waits (blocking, bounded) until its connection is closed, then
   * turns the main connection's automatic checkpoint back on. Idempotent.
   */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    Atomics.store(this.#ctl, CTL.command, CTL_STOP);
    Atomics.add(this.#ctl, CTL.wake, 1);
    Atomics.notify(this.#ctl, CTL.wake);
    const deadline = performance.now() + STOP_WAIT_MS;
    for (;;) {
      const s = Atomics.load(this.#ctl, CTL.state);
      if (s === CTL_STATE_CLOSED) break;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`the checkpoint worker did not stop within ${STOP_WAIT_MS} ms`);
      Atomics.wait(this.#ctl, CTL.state, s, left);
    }
    if (this.#state.sqlite.open) {
      this.#state.setAutoCheckpoint();
      this.#state.setJournalSizeLimit();
    }
  }
}

/**
 * Whether afterCommit() waits for the round it asked for: not within helpEveryMs of its
 * last wait, and not while the worker's last round left over HELP_BACKLOG_BYTES uncopied.
 */
export function waitsForWorker(nowMs: number, lastWaitMs: number, helpEveryMs: number, behindBytes: number): boolean {
  return nowMs - lastWaitMs >= helpEveryMs && behindBytes <= HELP_BACKLOG_BYTES;
}

function walBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
