// The live segment files and the descriptors opened to read them. Read descriptors
// are opened lazily and kept in LRU order, at most `fdsMax` at once; the active
// segment's descriptor belongs to the writer and never enters this set.
// Removing segments closes their descriptors before unlinking them.

import fs from 'node:fs';
import type { SegmentFile } from './segment_files.ts';

export class SegmentSet {
  readonly #paths = new Map<number, string>();
  /** seq → fd, least recently used first. */
  readonly #fds = new Map<number, number>();
  readonly #fdsMax: number;

  constructor(files: readonly SegmentFile[], fdsMax = 16) {
    for (const f of files) this.#paths.set(f.seq, f.path);
    this.#fdsMax = fdsMax;
  }
  seqs(): number[] {
    return [...this.#paths.keys()].sort((a, b) => a - b);
  }
  path(seq: number): string {
    const p = this.#paths.get(seq);
    if (p === undefined) throw new RangeError(`no segment ${seq}`);
    return p;
  }
  add(file: SegmentFile): void {
    this.#paths.set(file.seq, file.path);
  }
  /** A descriptor for reading segment `seq`. */
  readFd(seq: number): number {
    const cached = this.#fds.get(seq);
    if (cached !== undefined) {
      this.#fds.delete(seq);
      this.#fds.set(seq, cached);
      return cached;
    }
    const fd = fs.openSync(this.path(seq), 'r');
    this.#fds.set(seq, fd);
    for (const [oldSeq, oldFd] of this.#fds) {
      if (this.#fds.size <= this.#fdsMax) break;
      fs.closeSync(oldFd);
      this.#fds.delete(oldSeq);
    }
    return fd;
  }
  /** Closes and deletes every segment with a sequence number below `seq`. */
  removeBelow(seq: number): void {
    for (const s of this.seqs()) {
      if (s >= seq) break;
      const fd = this.#fds.get(s);
      if (fd !== undefined) fs.closeSync(fd);
      this.#fds.delete(s);
      fs.unlinkSync(this.path(s));
      this.#paths.delete(s);
    }
  }
  closeAll(): void {
    for (const fd of this.#fds.values()) fs.closeSync(fd);
    this.#fds.clear();
  }
}
