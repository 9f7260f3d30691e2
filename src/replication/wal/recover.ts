// Opening an existing log: lists the segments, replays every record of the newest
// contiguous run of them through LogState, wipes a torn tail of the last segment,
// and deletes segments older than a gap in the numbering (compaction leftovers whose
// unlinks became durable out of order) once replay proved them unneeded.
// Refuses with WalCorruptionError rather than guess; such a node is repaired from peers.

import fs from 'node:fs';
import { WalCorruptionError } from './errors.ts';
import { packPos } from './entry_index.ts';
import { LogState } from './log_state.ts';
import type { ResolvedWalOptions } from './options.ts';
import { recordBytes, type WalRecord } from './record_codec.ts';
import { listSegments, writeZeros, type SegmentFile } from './segment_files.ts';
import { scanSegment } from './segment_scan.ts';
import type { ActiveSegment } from './segment_writer.ts';

export interface Recovered {
  readonly state: LogState;
  /** Replayed segments, oldest first, the active one included. */
  readonly files: readonly SegmentFile[];
  readonly active: ActiveSegment;
}

/** Replays the log in `logDir`; null when it holds no segment yet. */
export function recoverLog(logDir: string, opts: ResolvedWalOptions): Recovered | null {
  const all = listSegments(logDir);
  if (all.length === 0) return null;
  let from = 0;
  for (let i = 1; i < all.length; i++) if (all[i]!.seq !== all[i - 1]!.seq + 1) from = i;
  const files = all.slice(from);
  let state: LogState | null = null;
  let active: ActiveSegment | null = null;
  for (const [i, file] of files.entries()) {
    const isLast = i === files.length - 1;
    const fd = fs.openSync(file.path, isLast ? 'r+' : 'r');
    try {
      let openEnd = 0;
      const scan = scanSegment(file, fd, isLast, opts.recordBytesMax, (rec, offset, payloadBytes) => {
        if (rec.kind === 'open') {
          openEnd = recordBytes(payloadBytes);
          if (state === null) state = new LogState(rec.snapshot, rec.hardState, rec.lastIndex);
          else check(file, offset, state.verifyOpen(rec.lastIndex, rec.hardState, rec.snapshot));
        } else {
          check(file, offset, replay(state!, rec, packPos(file.seq, offset), payloadBytes, file.seq));
        }
      });
      if (scan.torn !== null) writeZeros(fd, scan.torn.from, scan.torn.to);
      // What a killed process wrote may still be only in the page cache: make the tail
      // durable before the log counts it as stable (the node may acknowledge it at once).
      if (isLast) fs.fdatasyncSync(fd);
      if (isLast) active = { file, fd, end: scan.end, allocEnd: scan.fileBytes, openEnd, sealed: scan.sealed };
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    if (!isLast) fs.closeSync(fd);
  }
  const done = state as LogState | null;
  if (done === null || active === null) throw new Error('unreachable: a listed segment replays or throws');
  const missing = done.complete();
  if (missing !== null) {
    fs.closeSync((active as ActiveSegment).fd);
    throw new WalCorruptionError(files[0]!.path, 0, missing);
  }
  for (const stale of all.slice(0, from)) fs.unlinkSync(stale.path);
  return { state: done, files, active };
}

function replay(state: LogState, rec: WalRecord, pos: number, payloadBytes: number, seq: number): string | null {
  switch (rec.kind) {
    case 'entry':
      return state.applyEntry(rec.entry.term, rec.entry.index, pos, payloadBytes);
    case 'snapshot':
      return state.applySnapshot(rec.meta, rec.keep);
    case 'hardState':
      state.applyHardState(rec.hardState);
      return null;
    case 'seal':
      return rec.nextSeq === seq + 1 ? null : `seal names segment ${rec.nextSeq} after segment ${seq}`;
    case 'open':
      return 'open record inside a segment';
    default: {
      const never: never = rec;
      throw new Error(`unknown record ${JSON.stringify(never)}`);
    }
  }
}

function check(file: SegmentFile, offset: number, reason: string | null): void {
  if (reason !== null) throw new WalCorruptionError(file.path, offset, reason);
}
