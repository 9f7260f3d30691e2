// The durable Raft log: consensus's LogStorage read side over a segmented WAL, plus
// the writes a driver makes for one Ready (persist: snapshot meta, entries, hard
// state, then one fdatasync), compaction and snapshot installation. Hard state and
// snapshot meta are records in the same stream (the last one wins), so one fsync
// covers a whole Ready; every segment opens with a restatement of both.

import fs from 'node:fs';
import path from 'node:path';
import { bootstrapLog } from '../../../consensus/config.ts';
import { entryBytes, type InitialState, type LogStorage } from '../../../consensus/storage.ts';
import type { Entry, HardState, LogIndex, NodeId, SnapshotMeta, Term } from '../../../consensus/types.ts';
import { EntryCache } from './entry_cache.ts';
import { posOffset, posSeq } from './entry_index.ts';
import { WalClosedError, WalCorruptionError, WalIoError, WalUsageError } from './errors.ts';
import { LogState, sameHardState } from './log_state.ts';
import { resolveWalOptions, type ResolvedWalOptions, type WalOptions } from './options.ts';
import { ENTRY_PREFIX_BYTES, RecordBuffer, crcMatches, decodePayload, encodeHardState, encodeOpen, encodeSnapshot, entryPayloadBytes, readHeader, recordBytes } from './record_codec.ts';
import { recoverLog } from './recover.ts';
import { createSegment, syncDir } from './segment_files.ts';
import { SegmentSet } from './segment_set.ts';
import { SegmentWriter } from './segment_writer.ts';

export interface PersistBatch {
  readonly snapshot?: SnapshotMeta | null;
  readonly entries: readonly Entry[];
  readonly hardState?: HardState | null;
}

const emptySnapshot: SnapshotMeta = { index: 0 as LogIndex, term: 0 as Term, config: { voters: [], learners: [] } };
const emptyHardState: HardState = { term: 0 as Term, vote: null, commit: 0 as LogIndex };

export class WalStorage implements LogStorage {
  readonly #opts: ResolvedWalOptions;
  readonly #state: LogState;
  readonly #cache: EntryCache;
  readonly #writer: SegmentWriter;
  readonly #segments: SegmentSet;
  #closed: WalClosedError | null = null;

  private constructor(opts: ResolvedWalOptions, state: LogState, writer: SegmentWriter, segments: SegmentSet) {
    this.#opts = opts;
    this.#state = state;
    this.#writer = writer;
    this.#segments = segments;
    this.#cache = new EntryCache(state.lastIndex + 1, opts.cacheBytesMax, opts.cacheEntriesMax);
  }

  /** Opens (recovering) or creates the log in `<dir>/log/`. Throws WalCorruptionError if it cannot be trusted. */
  static open(dir: string, options?: WalOptions): WalStorage {
    const opts = resolveWalOptions(options);
    const logDir = path.join(dir, 'log');
    if (!fs.existsSync(logDir)) {
      fs.mkdirSync(logDir, { recursive: true });
      if (opts.fsync === 'always') syncDir(dir);
    }
    const found = recoverLog(logDir, opts);
    if (found !== null) {
      const writer = new SegmentWriter(logDir, opts, found.active);
      const segments = new SegmentSet(found.files.filter((f) => f.seq !== found.active.file.seq));
      return new WalStorage(opts, found.state, writer, segments);
    }
    const first = new RecordBuffer(256);
    first.appendPayload(encodeOpen(1, 0 as LogIndex, emptyHardState, emptySnapshot));
    const c = createSegment(logDir, 1, first.view(), opts.preallocateBytes, opts.fsync === 'always');
    const writer = new SegmentWriter(logDir, opts, { file: c.file, fd: c.fd, end: c.end, allocEnd: c.allocEnd, openEnd: c.end, sealed: false });
    return new WalStorage(opts, new LogState(emptySnapshot, emptyHardState, 0), writer, new SegmentSet([]));
  }

  /** Creates a founding member's log in a fresh `dir`: bootstrapLog(voters), durable. */
  static bootstrap(dir: string, voters: readonly NodeId[], options?: WalOptions): WalStorage {
    const wal = WalStorage.open(dir, options);
    const s = wal.initialState();
    if (wal.lastIndex() !== 0 || s.snapshot.index !== 0 || s.hardState.term !== 0) {
      wal.close();
      throw new WalUsageError(`${dir} already holds a Raft log; bootstrap only a fresh directory`);
    }
    const b = bootstrapLog(voters);
    wal.persist({ entries: b.entries, hardState: b.hardState });
    return wal;
  }

  // ---- LogStorage ----

  initialState(): InitialState {
    this.#checkOpen();
    return { hardState: this.#state.hardState, snapshot: this.#state.snapshot };
  }
  firstIndex(): LogIndex {
    this.#checkOpen();
    return (this.#state.snapshot.index + 1) as LogIndex;
  }
  lastIndex(): LogIndex {
    this.#checkOpen();
    return this.#state.lastIndex;
  }
  term(index: LogIndex): Term | undefined {
    this.#checkOpen();
    return this.#state.term(index);
  }
  snapshot(): SnapshotMeta {
    this.#checkOpen();
    return this.#state.snapshot;
  }
  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): Entry[] {
    this.#checkOpen();
    if (lo < this.firstIndex() || hi > this.lastIndex() + 1 || lo > hi) {
      throw new WalUsageError(`entries [${lo}, ${hi}) out of range [${this.firstIndex()}, ${this.lastIndex() + 1})`);
    }
    const out: Entry[] = [];
    let bytes = 0;
    for (let i: number = lo; i < hi; ) {
      const cached = this.#cache.get(i);
      const got = cached !== undefined ? [cached] : this.#readSpan(i, Math.min(hi, this.#cache.first), maxBytes - bytes);
      for (const e of got) {
        bytes += entryBytes(e);
        if (out.length > 0 && bytes > maxBytes) return out;
        out.push(e);
        i++;
      }
    }
    return out;
  }

  // ---- writes ----

  /**
   * Makes one Ready durable: `snapshot` (installed: the log keeps its suffix only if it
   * holds snapshot.index with snapshot.term), then `entries` (replacing any suffix from
   * entries[0].index on), then `hardState`, then one fdatasync. Throws WalUsageError
   * before writing anything if the batch breaks the log's invariants.
   */
  /**
   * persist() without waiting for the disk: the records are written (and readable) but
   * durable only once syncAsync() resolves. A batch with a snapshot is always synchronous.
   */
  write(batch: PersistBatch): void {
    if (batch.snapshot != null) return this.persist(batch);
    this.#persist(batch, false);
  }

  /** Makes everything written so far durable, in the thread pool; a failure closes the log like a failed persist. */
  async syncAsync(): Promise<void> {
    this.#checkOpen();
    try {
      await this.#writer.syncAsync();
    } catch (cause) {
      throw this.#syncFailed(cause);
    }
  }

  /**
   * The caller needs entries <= index no more (applied, and every follower has them): they
   * leave the memory cache and are read from disk if ever asked for. Kept until evicted,
   * they lived long enough to reach V8's old space and filled it with garbage.
   */
  releaseCached(index: number): void {
    this.#cache.dropThrough(Math.min(index, this.lastIndex()));
  }

  /** syncAsync() on this thread: it blocks until the disk is done (cheaper when there is nothing else to do meanwhile). */
  syncNow(): void {
    this.#checkOpen();
    try {
      this.#writer.syncNow();
    } catch (cause) {
      throw this.#syncFailed(cause);
    }
  }

  #syncFailed(cause: unknown): WalIoError {
    const error = new WalIoError('fdatasync', { cause });
    this.#closed = new WalClosedError('the write-ahead log closed itself after an I/O error', { cause: error });
    return error;
  }

  persist(batch: PersistBatch): void {
    this.#persist(batch, true);
  }

  #persist(batch: PersistBatch, sync: boolean): void {
    this.#checkOpen();
    const s = this.#state;
    const snap = batch.snapshot != null && batch.snapshot.index > s.snapshot.index ? batch.snapshot : null;
    const keep = snap !== null && s.term(snap.index) === snap.term;
    const hs = batch.hardState != null && !sameHardState(batch.hardState, s.hardState) ? batch.hardState : null;
    this.#validate(batch.entries, snap === null ? s.snapshot.index : snap.index, snap === null || keep ? Math.max(s.lastIndex, snap?.index ?? 0) : snap.index);
    if (snap === null && batch.entries.length === 0 && hs === null) return;
    const snapPayload = snap === null ? null : this.#encodeControl('snapshot', () => encodeSnapshot(snap, keep));
    const hsPayload = hs === null ? null : this.#encodeControl('hard state', () => encodeHardState(hs));
    this.#guard('persist', () => {
      if (snap !== null && snapPayload !== null) this.#writeSnapshot(snap, keep, snapPayload);
      for (const e of batch.entries) this.#writeEntry(e);
      if (hs !== null && hsPayload !== null) this.#writeControl(hsPayload, () => s.applyHardState(hs));
      this.#writer.flush(sync);
      if (snap !== null) this.#dropObsoleteSegments();
    });
  }

  /** The application took a snapshot at meta.index (<= lastIndex, with its term): entries up to it go. */
  compact(meta: SnapshotMeta): void {
    this.#checkOpen();
    if (meta.index <= this.#state.snapshot.index) return;
    if (meta.index > this.#state.lastIndex) throw new WalUsageError(`compact ${meta.index} beyond last ${this.#state.lastIndex}`);
    const t = this.#state.term(meta.index);
    if (t !== meta.term) throw new WalUsageError(`compact ${meta.index} with term ${meta.term}, but the log has term ${t}`);
    this.persist({ snapshot: meta, entries: [] });
  }

  /** A snapshot received from the leader was installed: the log is replaced unless it holds meta.index with meta.term. */
  applySnapshot(meta: SnapshotMeta): void {
    this.persist({ snapshot: meta, entries: [] });
  }

  close(): void {
    if (this.#closed !== null) return;
    this.#closed = new WalClosedError('closed by close()');
    this.#writer.close();
    this.#segments.closeAll();
  }

  /** Sequence numbers of the segment files in use, oldest first (for tests and metrics). */
  segmentSeqs(): number[] {
    return [...this.#segments.seqs(), this.#writer.seq];
  }

  // ---- internals ----

  #checkOpen(): void {
    if (this.#closed !== null) throw this.#closed;
  }

  /** Runs a write; any failure leaves memory and disk possibly apart, so the log closes itself (fail-stop). */
  #guard(operation: string, write: () => void): void {
    try {
      write();
    } catch (cause) {
      const err = new WalIoError(operation, { cause });
      this.#closed = new WalClosedError(`an earlier ${operation} failed`, { cause: err });
      try {
        this.#writer.close();
        this.#segments.closeAll();
      } catch {
        // Already failing: the first error is the one worth reporting.
      }
      throw err;
    }
  }

  #validate(entries: readonly Entry[], snapIndex: number, lastIndex: number): void {
    const first = entries[0];
    if (first === undefined) return;
    if (first.index > lastIndex + 1) throw new WalUsageError(`gap: append ${first.index} after ${lastIndex}`);
    if (first.index <= snapIndex) throw new WalUsageError(`append ${first.index} at or below snapshot ${snapIndex}`);
    for (const [k, e] of entries.entries()) {
      if (e.index !== first.index + k) throw new WalUsageError(`entries not contiguous: ${e.index} at position ${k} after ${first.index}`);
      if (!Number.isSafeInteger(e.term) || e.term < 0) throw new WalUsageError(`entry ${e.index} has term ${e.term}`);
      if (entryPayloadBytes(e) > this.#opts.recordBytesMax) {
        throw new WalUsageError(`entry ${e.index} has ${e.data.length} bytes of data, more than ${this.#opts.recordBytesMax - ENTRY_PREFIX_BYTES}`);
      }
    }
  }

  /** The file position the next record of this size will have, rolling to a new segment if needed. */
  #reserve(payloadBytes: number): number {
    if (!this.#writer.fits(payloadBytes)) {
      const s = this.#state;
      const old = this.#writer.roll((seq) => encodeOpen(seq, s.lastIndex, s.hardState, s.snapshot));
      this.#segments.add(old);
    }
    return this.#writer.seq * 2 ** 32 + this.#writer.nextOffset;
  }

  #writeEntry(e: Entry): void {
    const payloadBytes = entryPayloadBytes(e);
    const pos = this.#reserve(payloadBytes);
    this.#writer.appendEntry(e);
    const bad = this.#state.applyEntry(e.term, e.index, pos, payloadBytes);
    if (bad !== null) throw new Error(`unreachable after validation: ${bad}`);
    this.#cache.truncateFrom(e.index);
    this.#cache.append(e);
  }

  /** Encodes a control record before anything is written, so an unencodable one is the caller's error. */
  #encodeControl(what: string, encode: () => Uint8Array): Uint8Array {
    let payload: Uint8Array;
    try {
      payload = encode();
    } catch (cause) {
      throw new WalUsageError(`${what} cannot be encoded: ${(cause as Error).message}`, { cause });
    }
    if (payload.length > this.#opts.recordBytesMax) throw new WalUsageError(`${what} record of ${payload.length} bytes exceeds recordBytesMax`);
    return payload;
  }

  #writeSnapshot(meta: SnapshotMeta, keep: boolean, payload: Uint8Array): void {
    this.#writeControl(payload, () => {
      const bad = this.#state.applySnapshot(meta, keep);
      if (bad !== null) throw new Error(`unreachable after validation: ${bad}`);
      if (keep) this.#cache.dropThrough(meta.index);
      else this.#cache.clear(meta.index + 1);
    });
  }

  #writeControl(payload: Uint8Array, apply: () => void): void {
    this.#reserve(payload.length);
    this.#writer.appendPayload(payload);
    apply();
  }

  /** Deletes segments older than the one holding firstIndex: every live entry in them is in the snapshot. */
  #dropObsoleteSegments(): void {
    const idx = this.#state.index;
    this.#segments.removeBelow(idx.length > 0 ? posSeq(idx.pos(idx.first)) : this.#writer.seq);
  }

  /** Reads from disk entries [lo, hi) in one segment, one positional read, at most readSpanBytesMax (or one entry). */
  #readSpan(lo: number, hi: number, budgetBytes: number): Entry[] {
    const idx = this.#state.index;
    const seq = posSeq(idx.pos(lo));
    const start = posOffset(idx.pos(lo));
    let end = start + recordBytes(idx.payloadBytes(lo));
    let bytes = idx.payloadBytes(lo) - ENTRY_PREFIX_BYTES + 24;
    let j = lo + 1;
    for (; j < hi; j++) {
      const pos = idx.pos(j);
      const nextEnd = posOffset(pos) + recordBytes(idx.payloadBytes(j));
      bytes += idx.payloadBytes(j) - ENTRY_PREFIX_BYTES + 24;
      if (posSeq(pos) !== seq || nextEnd - start > this.#opts.readSpanBytesMax || bytes > budgetBytes) break;
      end = nextEnd;
    }
    const fd = seq === this.#writer.seq ? this.#writer.fd : this.#segments.readFd(seq);
    const buf = new Uint8Array(end - start);
    const file = seq === this.#writer.seq ? `segment ${seq} (active)` : this.#segments.path(seq);
    const n = fs.readSync(fd, buf, 0, buf.length, start);
    if (n !== buf.length) throw new WalCorruptionError(file, start, `short read: ${n} of ${buf.length} bytes`);
    const out: Entry[] = [];
    for (let i = lo; i < j; i++) {
      const at = posOffset(idx.pos(i)) - start;
      const h = readHeader(buf, at);
      const rec = crcMatches(buf, at, h.crc, h.payloadBytes) && h.payloadBytes === idx.payloadBytes(i) ? decodePayload(buf.subarray(at + 8, at + 8 + h.payloadBytes)) : null;
      if (rec?.kind !== 'entry' || rec.entry.index !== i || rec.entry.term !== idx.term(i)) {
        throw new WalCorruptionError(file, start + at, `entry ${i} does not read back`);
      }
      out.push(rec.entry);
    }
    return out;
  }
}
