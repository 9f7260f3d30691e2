// Receives snapshot chunks from peers into `<dir>/snapshot.recv.<index>.tmp`, strictly
// in order (a duplicate or a chunk past a gap is not written, only answered with the
// cumulative ack), then fsyncs it, renames it to its final path and fsyncs the directory.
// Must not hold a snapshot in memory: chunks are written as they come, the queue of
// chunks waiting for the disk is bounded.
// Invariants: one transfer at a time; a newer snapshot supersedes an older transfer (its
// temp file is removed); `done` is acked only once the file is durable at its final path.

import { open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { LogIndex, NodeId, Term } from '../../../consensus/types.ts';
import type { Log } from '../../log.ts';
import { encodeFrame } from './codec.ts';
import type { SnapshotAckStatus, SnapshotChunk } from './frames.ts';

export interface ReceivedSnapshot {
  readonly from: NodeId;
  readonly index: LogIndex;
  readonly term: Term;
  readonly path: string;
  readonly bytes: number;
}

export interface SnapshotReceiverOptions {
  readonly dir: string;
  /** Hands an encoded frame (an ack) to the transport. */
  readonly send: (to: NodeId, frame: Uint8Array) => unknown;
  readonly logger: Log;
  /** Called once per completed snapshot, after it is durable at `path`. */
  readonly onReceived?: (snapshot: ReceivedSnapshot) => void;
  /** Larger announced snapshots are refused (a guard for the disk). */
  readonly totalBytesMax?: number;
  /** Chunks waiting for the disk beyond this are dropped (the sender resends them). */
  readonly queuedChunksMax?: number;
}

const TOTAL_BYTES_MAX_DEFAULT = 64 * 1024 ** 3;
const QUEUED_CHUNKS_MAX_DEFAULT = 32;
const TMP_NAME = /^snapshot\.recv\.\d+\.tmp$/;

export const tempPathOf = (dir: string, index: LogIndex): string => join(dir, `snapshot.recv.${index}.tmp`);
export const finalPathOf = (dir: string, index: LogIndex, term: Term): string => join(dir, `snapshot.recv.${index}-${term}.snap`);

interface Incoming {
  readonly from: NodeId;
  readonly index: LogIndex;
  readonly term: Term;
  readonly totalBytes: number;
  readonly tmpPath: string;
  readonly file: FileHandle;
  /** Bytes written, in order: the next chunk must start here. */
  written: number;
}

/** (index, term) order of snapshots: a later index is newer; at the same index a later term. */
const compare = (a: { index: number; term: number }, b: { index: number; term: number }): number => a.index - b.index || a.term - b.term;

export class SnapshotReceiver {
  readonly #opts: SnapshotReceiverOptions;
  readonly #queue: Array<{ readonly from: NodeId; readonly chunk: SnapshotChunk }> = [];
  #current: Incoming | null = null;
  #latest: ReceivedSnapshot | null = null;
  #draining: Promise<void> | null = null;
  #staleRemoved = false;
  #closed = false;
  #chunksDropped = 0;

  constructor(opts: SnapshotReceiverOptions) {
    this.#opts = opts;
  }

  /** The last snapshot received completely, if any. */
  latest(): ReceivedSnapshot | null {
    return this.#latest;
  }

  /** Chunks dropped because the disk queue was full. */
  get chunksDropped(): number {
    return this.#chunksDropped;
  }

  /** Feed every snapshotChunk frame received from `from` here; chunks are handled in arrival order. */
  handleChunk(from: NodeId, chunk: SnapshotChunk): void {
    if (this.#closed) return;
    if (this.#queue.length >= (this.#opts.queuedChunksMax ?? QUEUED_CHUNKS_MAX_DEFAULT)) {
      this.#chunksDropped++;
      return;
    }
    this.#queue.push({ from, chunk });
    this.#draining ??= this.#drain().finally(() => (this.#draining = null));
  }

  /** Resolves when every chunk handed in so far was handled. */
  async idle(): Promise<void> {
    while (this.#draining !== null) await this.#draining;
  }

  /** Stops taking chunks and removes the partial file of a transfer under way. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.length = 0;
    await this.idle();
    await this.#abort('receiver closed');
  }

  async #drain(): Promise<void> {
    for (let item = this.#queue.shift(); item !== undefined && !this.#closed; item = this.#queue.shift()) {
      await this.#handle(item.from, item.chunk);
    }
  }

  async #handle(from: NodeId, c: SnapshotChunk): Promise<void> {
    const latest = this.#latest;
    if (latest !== null && compare(c, latest) === 0) return this.#ack(from, c, latest.bytes, 'done');
    if (latest !== null && compare(c, latest) < 0) return this.#ack(from, c, 0, 'refused');
    let cur = this.#current;
    if (cur === null || compare(c, cur) > 0 || (compare(c, cur) === 0 && from !== cur.from && c.offset === 0)) {
      // A newer snapshot, or the same one restarted by another sender (a new leader).
      if (c.offset !== 0) return this.#ack(from, c, 0, 'refused');
      cur = await this.#begin(from, c);
      if (cur === null) return;
    } else if (compare(c, cur) < 0 || from !== cur.from || c.totalBytes !== cur.totalBytes) {
      return this.#ack(from, c, 0, 'refused');
    }
    if (c.offset !== cur.written) return this.#ack(from, c, cur.written, 'progress'); // duplicate, or past a gap
    try {
      if (c.data.length > 0) await cur.file.write(c.data, 0, c.data.length, c.offset);
      cur.written += c.data.length;
      if (!c.last) return this.#ack(from, c, cur.written, 'progress');
      await this.#complete(cur);
    } catch (e) {
      this.#opts.logger.error('snapshot receive failed', { from, index: c.index, error: String(e) });
      await this.#abort(`I/O failure: ${String(e)}`);
      return this.#ack(from, c, 0, 'refused');
    }
    this.#ack(from, c, cur.totalBytes, 'done');
  }

  async #begin(from: NodeId, c: SnapshotChunk): Promise<Incoming | null> {
    if (c.totalBytes > (this.#opts.totalBytesMax ?? TOTAL_BYTES_MAX_DEFAULT)) {
      this.#ack(from, c, 0, 'refused');
      return null;
    }
    await this.#abort(`superseded by snapshot ${c.index} from ${from}`);
    await this.#removeStaleTemps();
    const tmpPath = tempPathOf(this.#opts.dir, c.index);
    try {
      const file = await open(tmpPath, 'w');
      this.#current = { from, index: c.index, term: c.term, totalBytes: c.totalBytes, tmpPath, file, written: 0 };
    } catch (e) {
      this.#opts.logger.error('cannot create snapshot temp file', { path: tmpPath, error: String(e) });
      this.#ack(from, c, 0, 'refused');
      return null;
    }
    this.#opts.logger.info('snapshot receive started', { from, index: c.index, term: c.term, bytes: c.totalBytes });
    return this.#current;
  }

  async #complete(cur: Incoming): Promise<void> {
    await cur.file.sync();
    await cur.file.close();
    const path = finalPathOf(this.#opts.dir, cur.index, cur.term);
    await rename(cur.tmpPath, path);
    await syncDir(this.#opts.dir);
    this.#current = null;
    const received: ReceivedSnapshot = { from: cur.from, index: cur.index, term: cur.term, path, bytes: cur.totalBytes };
    this.#latest = received;
    this.#opts.logger.info('snapshot received', { from: cur.from, index: cur.index, term: cur.term, bytes: cur.totalBytes, path });
    this.#opts.onReceived?.(received);
  }

  async #abort(reason: string): Promise<void> {
    const cur = this.#current;
    if (cur === null) return;
    this.#current = null;
    this.#opts.logger.info('snapshot receive abandoned', { from: cur.from, index: cur.index, written: cur.written, reason });
    await cur.file.close().catch(() => undefined);
    await rm(cur.tmpPath, { force: true });
  }

  /** Temp files left by a crash belong to no transfer (only this receiver writes these names). */
  async #removeStaleTemps(): Promise<void> {
    if (this.#staleRemoved) return;
    this.#staleRemoved = true;
    for (const name of await readdir(this.#opts.dir).catch(() => [] as string[])) {
      if (TMP_NAME.test(name)) await rm(join(this.#opts.dir, name), { force: true });
    }
  }

  #ack(to: NodeId, c: SnapshotChunk, ackedBytes: number, status: SnapshotAckStatus): void {
    const frame = encodeFrame({ kind: 'snapshotAck', index: c.index, term: c.term, ackedBytes, status });
    try {
      this.#opts.send(to, frame);
    } catch (e) {
      // The transport is closing: the ack is lost like any other, the sender times out.
      this.#opts.logger.warn('snapshot ack not sent', { to, index: c.index, error: String(e) });
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
