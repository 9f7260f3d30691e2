// The active (newest) segment and its append path: records are gathered in one
// buffer, written with one positional write at the logical end, zeros written
// ahead of it (preallocation), and made durable with one fdatasync per flush.
// Rolling seals the old segment durably before the new one exists, so a crash
// never leaves an unsealed segment that is not the last.

import fs from 'node:fs';
import type { Entry } from '../../../consensus/types.ts';
import type { ResolvedWalOptions } from './options.ts';
import { RecordBuffer, encodeSeal, recordBytes } from './record_codec.ts';
import { createSegment, writeZeros, type SegmentFile } from './segment_files.ts';

const SEAL_BYTES = recordBytes(encodeSeal(0).length);

export interface ActiveSegment {
  readonly file: SegmentFile;
  readonly fd: number;
  /** Logical end: where the next record goes. */
  readonly end: number;
  /** The file's size; bytes in [end, allocEnd) are zeros. */
  readonly allocEnd: number;
  /** End of the open record: a segment holding nothing more takes a record of any size. */
  readonly openEnd: number;
  readonly sealed: boolean;
}

export class SegmentWriter {
  #file: SegmentFile;
  #fd: number;
  #end: number;
  #allocEnd: number;
  #openEnd: number;
  #sealed: boolean;
  readonly #buf = new RecordBuffer();
  readonly #logDir: string;
  readonly #opts: ResolvedWalOptions;

  constructor(logDir: string, opts: ResolvedWalOptions, active: ActiveSegment) {
    this.#logDir = logDir;
    this.#opts = opts;
    this.#file = active.file;
    this.#fd = active.fd;
    this.#end = active.end;
    this.#allocEnd = active.allocEnd;
    this.#openEnd = active.openEnd;
    this.#sealed = active.sealed;
  }
  get seq(): number {
    return this.#file.seq;
  }
  get fd(): number {
    return this.#fd;
  }
  get sealed(): boolean {
    return this.#sealed;
  }
  /** File offset the next appended record will get. */
  get nextOffset(): number {
    return this.#end + this.#buf.length;
  }
  /** Whether a record with this payload fits before the segment's size limit (leaving room for the seal). */
  fits(payloadBytes: number): boolean {
    if (this.#sealed) return false;
    if (this.nextOffset === this.#openEnd) return true;
    return this.nextOffset + recordBytes(payloadBytes) + SEAL_BYTES <= this.#opts.segmentBytes;
  }
  appendEntry(e: Entry): void {
    this.#buf.appendEntry(e);
  }
  appendPayload(p: Uint8Array): void {
    this.#buf.appendPayload(p);
  }
  /**
   * Writes the buffered records at the logical end and, under fsync 'always', makes them
   * durable — unless `sync` is false: then the caller makes them durable (syncAsync).
   */
  flush(sync = true): void {
    if (this.#buf.length === 0) return;
    const bytes = this.#buf.view();
    for (let at = 0; at < bytes.length; ) at += fs.writeSync(this.#fd, bytes, at, bytes.length - at, this.#end + at);
    this.#end += bytes.length;
    this.#buf.clear();
    if (this.#end >= this.#allocEnd) {
      const step = this.#opts.preallocateBytes;
      const next = (Math.floor(this.#end / step) + 1) * step;
      writeZeros(this.#fd, this.#end, next);
      this.#allocEnd = next;
    }
    if (sync && this.#opts.fsync === 'always') fs.fdatasyncSync(this.#fd);
  }

  /** fdatasync of the active segment on this thread, blocking it (older segments were synced when sealed). */
  syncNow(): void {
    if (this.#opts.fsync === 'always') fs.fdatasyncSync(this.#fd);
  }

  /** fdatasync of the active segment in the thread pool (older segments were synced when sealed). */
  syncAsync(): Promise<void> {
    if (this.#opts.fsync !== 'always') return Promise.resolve();
    const fd = this.#fd;
    return new Promise((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));
  }
  /**
   * Seals this segment (flushing what is buffered) and makes `file.seq + 1`, beginning
   * with `openRecord`, the active one. Returns the old segment; its descriptor is closed.
   */
  roll(openRecord: (seq: number) => Uint8Array): SegmentFile {
    const nextSeq = this.#file.seq + 1;
    if (!this.#sealed) this.#buf.appendPayload(encodeSeal(nextSeq));
    this.flush();
    const first = new RecordBuffer(256);
    first.appendPayload(openRecord(nextSeq));
    const created = createSegment(this.#logDir, nextSeq, first.view(), this.#opts.preallocateBytes, this.#opts.fsync === 'always');
    const old = this.#file;
    fs.closeSync(this.#fd);
    this.#file = created.file;
    this.#fd = created.fd;
    this.#end = created.end;
    this.#allocEnd = created.allocEnd;
    this.#openEnd = created.end;
    this.#sealed = false;
    return old;
  }
  close(): void {
    fs.closeSync(this.#fd);
  }
}
