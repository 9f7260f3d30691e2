// Streams a snapshot file to one peer as chunks: a bounded window of unacknowledged
// chunks (flow control), go-back-N retransmission on ack timeout or on repeated
// duplicate acks, a bounded number of timeouts without progress, and one outcome per
// transfer (so the driver can call raft.reportSnapshot(to, ok)).
// Must not hold the file in memory: chunks are read from disk when (re)sent.
// Invariants: at most one transfer per peer (a newer one supersedes); bytes in flight
// ≤ windowChunks × chunkBytes; success only on the receiver's `done` (durable) ack.

import { open, type FileHandle } from 'node:fs/promises';
import type { LogIndex, NodeId, Term } from '../../../consensus/types.ts';
import type { Log } from '../../log.ts';
import { encodeFrame } from './codec.ts';
import type { SnapshotAck } from './frames.ts';

export interface SnapshotSource {
  readonly path: string;
  readonly index: LogIndex;
  readonly term: Term;
}

export type SnapshotSendFailure = 'timeout' | 'refused' | 'superseded' | 'cancelled' | 'io' | 'send';

export type SnapshotSendResult =
  | { readonly ok: true; readonly bytes: number }
  | { readonly ok: false; readonly reason: SnapshotSendFailure; readonly detail: string };

export interface SnapshotSenderOptions {
  /** Hands an encoded frame to the transport (e.g. NatsTransport.send); may drop it. */
  readonly send: (to: NodeId, frame: Uint8Array) => unknown;
  readonly logger: Log;
  /** Data bytes per chunk; keep it (plus SNAPSHOT_CHUNK_OVERHEAD_BYTES_MAX) under the transport's maxFrameBytes(). */
  readonly chunkBytes?: number;
  readonly windowChunks?: number;
  /** Without progress for this long, the window is resent. */
  readonly ackTimeoutMs?: number;
  /** Consecutive timeouts without progress before the transfer fails. */
  readonly retriesMax?: number;
}

export const SNAPSHOT_CHUNK_BYTES_DEFAULT = 256 * 1024;
const WINDOW_CHUNKS_DEFAULT = 8;
const ACK_TIMEOUT_MS_DEFAULT = 2000;
const RETRIES_MAX_DEFAULT = 5;
/** Duplicate acks (the receiver saw a gap) that trigger a retransmission before the timeout. */
const DUP_ACKS_FOR_RETRANSMIT = 2;

export class SnapshotSender {
  readonly #opts: Required<Omit<SnapshotSenderOptions, 'logger' | 'send'>> & SnapshotSenderOptions;
  readonly #transfers = new Map<NodeId, Transfer>();

  constructor(opts: SnapshotSenderOptions) {
    this.#opts = {
      chunkBytes: SNAPSHOT_CHUNK_BYTES_DEFAULT,
      windowChunks: WINDOW_CHUNKS_DEFAULT,
      ackTimeoutMs: ACK_TIMEOUT_MS_DEFAULT,
      retriesMax: RETRIES_MAX_DEFAULT,
      ...opts,
    };
    const { chunkBytes, windowChunks, ackTimeoutMs, retriesMax } = this.#opts;
    for (const [name, v] of Object.entries({ chunkBytes, windowChunks, ackTimeoutMs, retriesMax })) {
      if (!Number.isSafeInteger(v) || v < (name === 'retriesMax' ? 0 : 1)) throw new RangeError(`snapshot sender ${name} ${v} is invalid`);
    }
  }

  /**
   * Streams `source` to `to`. A transfer of the same snapshot already running is
   * joined; one of another snapshot is superseded (it resolves `superseded`).
   * Never rejects: the outcome is the resolved value.
   */
  send(to: NodeId, source: SnapshotSource): Promise<SnapshotSendResult> {
    const running = this.#transfers.get(to);
    if (running !== undefined) {
      if (running.source.index === source.index && running.source.term === source.term) return running.outcome;
      running.finish({ ok: false, reason: 'superseded', detail: `snapshot ${source.index} replaces ${running.source.index}` });
    }
    const t = new Transfer(to, source, this.#opts, () => {
      if (this.#transfers.get(to) === t) this.#transfers.delete(to);
    });
    this.#transfers.set(to, t);
    void t.start();
    return t.outcome;
  }

  /** Feed every snapshotAck frame received from `from` here. */
  handleAck(from: NodeId, ack: SnapshotAck): void {
    this.#transfers.get(from)?.handleAck(ack);
  }

  /** Peers with a transfer under way. */
  activePeers(): NodeId[] {
    return [...this.#transfers.keys()];
  }

  cancel(to: NodeId): void {
    this.#transfers.get(to)?.finish({ ok: false, reason: 'cancelled', detail: 'cancelled' });
  }

  close(): void {
    for (const t of [...this.#transfers.values()]) t.finish({ ok: false, reason: 'cancelled', detail: 'sender closed' });
  }
}

class Transfer {
  readonly to: NodeId;
  readonly source: SnapshotSource;
  readonly outcome: Promise<SnapshotSendResult>;
  readonly #opts: Required<SnapshotSenderOptions>;
  readonly #onFinish: () => void;
  #resolve!: (r: SnapshotSendResult) => void;
  #file: FileHandle | null = null;
  #totalBytes = 0;
  /** Bytes the receiver holds in order (cumulative ack). */
  #acked = 0;
  /** The next byte to send; goes back to #acked on retransmission. */
  #next = 0;
  /** Whether the chunk ending the file was sent since the last go-back. */
  #sentEnd = false;
  #epoch = 0;
  #retries = 0;
  #dupAcks = 0;
  #fastRetransmitAt = -1;
  #timer: NodeJS.Timeout | null = null;
  #pumping = false;
  #pumpAgain = false;
  #finished = false;

  constructor(to: NodeId, source: SnapshotSource, opts: Required<SnapshotSenderOptions>, onFinish: () => void) {
    this.to = to;
    this.source = source;
    this.#opts = opts;
    this.#onFinish = onFinish;
    this.outcome = new Promise((resolve) => (this.#resolve = resolve));
  }

  async start(): Promise<void> {
    try {
      const file = await open(this.source.path, 'r');
      if (this.#finished) return void (await file.close());
      this.#file = file;
      this.#totalBytes = (await file.stat()).size;
    } catch (e) {
      return this.finish({ ok: false, reason: 'io', detail: `cannot open ${this.source.path}: ${String(e)}` });
    }
    this.#opts.logger.info('snapshot transfer started', { to: this.to, index: this.source.index, bytes: this.#totalBytes });
    this.#arm();
    await this.#pump();
  }

  handleAck(ack: SnapshotAck): void {
    if (this.#finished || ack.index !== this.source.index || ack.term !== this.source.term || ack.ackedBytes > this.#totalBytes) return;
    switch (ack.status) {
      case 'done':
        return this.finish({ ok: true, bytes: this.#totalBytes });
      case 'refused':
        return this.finish({ ok: false, reason: 'refused', detail: `${this.to} refused the transfer at byte ${ack.ackedBytes}` });
      case 'progress':
        break;
    }
    if (ack.ackedBytes > this.#acked) {
      this.#acked = ack.ackedBytes;
      if (this.#next < this.#acked) this.#goBack(); // the receiver is ahead of a go-back
      this.#retries = 0;
      this.#dupAcks = 0;
      this.#arm();
      void this.#pump();
    } else if (ack.ackedBytes === this.#acked && this.#next > this.#acked) {
      // The receiver got a chunk past a gap: the chunk at #acked was lost.
      if (++this.#dupAcks >= DUP_ACKS_FOR_RETRANSMIT && this.#fastRetransmitAt !== this.#acked) {
        this.#fastRetransmitAt = this.#acked;
        this.#goBack();
        void this.#pump();
      }
    }
  }

  finish(result: SnapshotSendResult): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const file = this.#file;
    this.#file = null;
    void file?.close().catch(() => undefined);
    const log = this.#opts.logger;
    if (result.ok) log.info('snapshot transfer done', { to: this.to, index: this.source.index, bytes: result.bytes });
    else log.warn('snapshot transfer failed', { to: this.to, index: this.source.index, reason: result.reason, detail: result.detail });
    this.#onFinish();
    this.#resolve(result);
  }

  #goBack(): void {
    this.#next = this.#acked;
    this.#sentEnd = false;
    this.#dupAcks = 0;
    this.#epoch++;
  }

  #arm(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#onTimeout(), this.#opts.ackTimeoutMs);
  }

  #onTimeout(): void {
    this.#timer = null;
    if (this.#finished) return;
    if (++this.#retries > this.#opts.retriesMax) {
      return this.finish({ ok: false, reason: 'timeout', detail: `no progress past byte ${this.#acked} after ${this.#retries} timeouts` });
    }
    this.#goBack();
    this.#arm();
    void this.#pump();
  }

  /** Sends chunks while the window has room; never runs twice at once (reads are awaited). */
  async #pump(): Promise<void> {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#pumpAgain = false;
        await this.#fillWindow();
      } while (this.#pumpAgain && !this.#finished);
    } finally {
      this.#pumping = false;
    }
  }

  async #fillWindow(): Promise<void> {
    const windowBytes = this.#opts.windowChunks * this.#opts.chunkBytes;
    while (!this.#finished && !this.#sentEnd && this.#next - this.#acked < windowBytes) {
      const offset = this.#next;
      const epoch = this.#epoch;
      const len = Math.min(this.#opts.chunkBytes, this.#totalBytes - offset);
      const data = Buffer.allocUnsafe(len);
      try {
        const { bytesRead } = await this.#file!.read(data, 0, len, offset);
        if (bytesRead !== len) throw new Error(`read ${bytesRead} of ${len} bytes at ${offset}: the file changed`);
      } catch (e) {
        return this.finish({ ok: false, reason: 'io', detail: `reading ${this.source.path}: ${String(e)}` });
      }
      if (this.#finished) return;
      if (epoch !== this.#epoch) continue; // went back while reading: resend from the new #next
      const last = offset + len === this.#totalBytes;
      this.#next = offset + len;
      if (last) this.#sentEnd = true;
      const frame = encodeFrame({ kind: 'snapshotChunk', index: this.source.index, term: this.source.term, offset, totalBytes: this.#totalBytes, last, data });
      try {
        this.#opts.send(this.to, frame);
      } catch (e) {
        return this.finish({ ok: false, reason: 'send', detail: String(e) });
      }
    }
  }
}
