// Recovery scan of one segment: verifies every record's length and CRC in order and
// hands decoded records to the caller. Decides what a bad record means: in the last
// segment, a bad record or non-zero bytes with no valid record after them are a torn
// tail (reported for wiping); a valid record after a bad one, any bad record in an
// older segment, or a checksummed record that does not decode is corruption.

import fs from 'node:fs';
import { WalCorruptionError } from './errors.ts';
import { HEADER_BYTES, crcMatches, decodePayload, readHeader, recordBytes, type WalRecord } from './record_codec.ts';
import type { SegmentFile } from './segment_files.ts';

export interface ScanResult {
  /** Offset just past the last valid record (where appends continue). */
  readonly end: number;
  readonly fileBytes: number;
  readonly sealed: boolean;
  /** Bytes [from, to) of a torn tail that the caller must zero before appending. */
  readonly torn: { readonly from: number; readonly to: number; readonly reason: string } | null;
}

/** Reads a file through one window so a scan makes few syscalls. Views are valid until the next call. */
class WindowReader {
  readonly #fd: number;
  #buf: Buffer;
  #start = 0;
  #len = 0;
  constructor(fd: number, windowBytes: number) {
    this.#fd = fd;
    this.#buf = Buffer.alloc(windowBytes);
  }
  at(off: number, n: number): Uint8Array {
    if (off < this.#start || off + n > this.#start + this.#len) {
      if (n > this.#buf.length) this.#buf = Buffer.alloc(n);
      this.#start = off;
      this.#len = fs.readSync(this.#fd, this.#buf, 0, this.#buf.length, off);
      if (this.#len < n) throw new RangeError(`short read at ${off}: ${this.#len} of ${n} bytes`);
    }
    return this.#buf.subarray(off - this.#start, off - this.#start + n);
  }
}

type Step = { readonly kind: 'record'; readonly bytes: number; readonly payload: Uint8Array } | { readonly kind: 'end' } | { readonly kind: 'bad'; readonly reason: string };

function step(r: WindowReader, off: number, fileBytes: number, recordBytesMax: number): Step {
  if (off + HEADER_BYTES > fileBytes) {
    if (off === fileBytes) return { kind: 'end' };
    return r.at(off, fileBytes - off).every((b) => b === 0) ? { kind: 'end' } : { kind: 'bad', reason: 'truncated header' };
  }
  const h = readHeader(r.at(off, HEADER_BYTES), 0);
  if (h.end) return { kind: 'end' };
  if (h.payloadBytes === 0 || h.payloadBytes > recordBytesMax) return { kind: 'bad', reason: `impossible record length ${h.payloadBytes}` };
  const bytes = recordBytes(h.payloadBytes);
  if (off + bytes > fileBytes) return { kind: 'bad', reason: `record of ${bytes} bytes runs past the end of the file` };
  const rec = r.at(off, bytes);
  if (!crcMatches(rec, 0, h.crc, h.payloadBytes)) return { kind: 'bad', reason: 'checksum mismatch' };
  return { kind: 'record', bytes, payload: rec.subarray(HEADER_BYTES, HEADER_BYTES + h.payloadBytes) };
}

/** The first aligned offset in [from, fileBytes) holding a whole record with a valid CRC, and the last non-zero byte seen. */
function lookPast(r: WindowReader, from: number, fileBytes: number, recordBytesMax: number): { valid: number | null; nonZeroEnd: number } {
  let nonZeroEnd = from;
  for (let off = Math.ceil(from / 8) * 8; off < fileBytes; off += 8) {
    const n = Math.min(8, fileBytes - off);
    const b = r.at(off, n);
    if (b.every((x) => x === 0)) continue;
    nonZeroEnd = off + n;
    if (n < HEADER_BYTES) continue;
    const s = step(r, off, fileBytes, recordBytesMax);
    if (s.kind === 'record') return { valid: off, nonZeroEnd };
  }
  return { valid: null, nonZeroEnd };
}

/**
 * Scans `file` from its start, calling `onRecord` for each valid record in order.
 * The first record must be the segment's open record, a seal ends the segment.
 */
export function scanSegment(
  file: SegmentFile,
  fd: number,
  isLast: boolean,
  recordBytesMax: number,
  onRecord: (rec: WalRecord, offset: number, payloadBytes: number) => void,
): ScanResult {
  const fileBytes = fs.fstatSync(fd).size;
  const r = new WindowReader(fd, 1 << 20);
  const corrupt = (off: number, reason: string, cause?: unknown): WalCorruptionError =>
    new WalCorruptionError(file.path, off, reason, cause === undefined ? undefined : { cause });
  let off = 0;
  for (;;) {
    const s = step(r, off, fileBytes, recordBytesMax);
    if (s.kind === 'record') {
      let rec: WalRecord;
      try {
        rec = decodePayload(s.payload);
      } catch (e) {
        throw corrupt(off, `checksummed record does not decode: ${(e as Error).message}`, e);
      }
      if (off === 0 && (rec.kind !== 'open' || rec.seq !== file.seq)) throw corrupt(0, `segment ${file.seq} does not begin with its open record`);
      if (off > 0 && rec.kind === 'open') throw corrupt(off, 'open record inside a segment');
      onRecord(rec, off, s.payload.length);
      off += s.bytes;
      if (rec.kind === 'seal') return { end: off, fileBytes, sealed: true, torn: null };
      continue;
    }
    if (off === 0) throw corrupt(0, `segment ${file.seq} has no valid open record`);
    if (!isLast) throw corrupt(off, s.kind === 'end' ? 'older segment ends without a seal' : s.reason);
    // Last segment: whatever follows the valid records must be zeros or a torn write, never a valid record.
    const reason = s.kind === 'end' ? 'non-zero bytes after the logical end' : s.reason;
    const past = lookPast(r, s.kind === 'end' ? off : off + HEADER_BYTES, fileBytes, recordBytesMax);
    if (past.valid !== null) throw corrupt(off, `${s.kind === 'end' ? 'zeroed record' : reason}, followed by a valid record at ${past.valid}`);
    const torn = s.kind === 'bad' || past.nonZeroEnd > off ? { from: off, to: Math.max(past.nonZeroEnd, off + HEADER_BYTES), reason } : null;
    return { end: off, fileBytes, sealed: false, torn: torn === null ? null : { ...torn, to: Math.min(torn.to, fileBytes) } };
  }
}
