// Segment files on disk: names, listing, atomic creation and zero-fill preallocation.
// A segment appears under its final name only once its open record is durable
// (written to <name>.tmp, fsynced, renamed, directory fsynced), so every listed
// segment starts with a valid open record; leftover .tmp files are deleted.

import fs from 'node:fs';
import path from 'node:path';

export interface SegmentFile {
  readonly seq: number;
  readonly path: string;
}

const NAME = /^(\d{20})\.seg$/;
const ZEROS = Buffer.alloc(1 << 20);

export const segmentFileName = (seq: number): string => `${String(seq).padStart(20, '0')}.seg`;

/** The segments in `logDir`, by ascending sequence number; removes half-created ones. */
export function listSegments(logDir: string): SegmentFile[] {
  const out: SegmentFile[] = [];
  for (const name of fs.readdirSync(logDir)) {
    if (name.endsWith('.seg.tmp')) {
      fs.unlinkSync(path.join(logDir, name));
      continue;
    }
    const m = NAME.exec(name);
    if (m !== null) out.push({ seq: Number(m[1]), path: path.join(logDir, name) });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

export function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes zeros over [from, to); used to preallocate and to wipe a torn tail. */
export function writeZeros(fd: number, from: number, to: number): void {
  for (let at = from; at < to; ) {
    const n = Math.min(ZEROS.length, to - at);
    at += fs.writeSync(fd, ZEROS, 0, n, at);
  }
}

export interface CreatedSegment {
  readonly file: SegmentFile;
  /** Open for reading and writing; the caller owns it. */
  readonly fd: number;
  /** Logical end: just after `firstRecords`. */
  readonly end: number;
  /** Bytes zero-filled so far (the file's size). */
  readonly allocEnd: number;
}

/** Creates segment `seq` holding `firstRecords`, zero-filled to `preallocateBytes`, durably when `sync`. */
export function createSegment(logDir: string, seq: number, firstRecords: Uint8Array, preallocateBytes: number, sync: boolean): CreatedSegment {
  const file = { seq, path: path.join(logDir, segmentFileName(seq)) };
  const tmp = `${file.path}.tmp`;
  const fd = fs.openSync(tmp, 'w+');
  try {
    const allocEnd = Math.max(preallocateBytes, firstRecords.length);
    writeZeros(fd, firstRecords.length, allocEnd);
    fs.writeSync(fd, firstRecords, 0, firstRecords.length, 0);
    if (sync) fs.fsyncSync(fd);
    fs.renameSync(tmp, file.path);
    if (sync) syncDir(logDir);
    return { file, fd, end: firstRecords.length, allocEnd };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}
