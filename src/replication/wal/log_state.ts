// The rules that turn the record stream into the log's state (snapshot meta, hard
// state, entry index), shared by recovery replay and the write path so both agree.
// Replay may start at any segment: its open record gives the state at that point,
// with entries (snapshot.index, lastIndex] held only by older, possibly deleted,
// segments ("phantom" entries). Truncation and snapshots must eliminate them all
// by the end of replay; otherwise a needed segment is missing (complete() says so).

import type { HardState, LogIndex, SnapshotMeta, Term } from '../../../consensus/types.ts';
import { EntryIndex } from './entry_index.ts';

export class LogState {
  snapshot: SnapshotMeta;
  hardState: HardState;
  /** Entries from index.first to index.last; phantom entries are (snapshot.index, index.first). */
  readonly index: EntryIndex;

  constructor(snapshot: SnapshotMeta, hardState: HardState, lastIndex: number) {
    this.snapshot = snapshot;
    this.hardState = hardState;
    this.index = new EntryIndex(lastIndex + 1);
  }

  get lastIndex(): LogIndex {
    return this.index.last as LogIndex;
  }

  term(index: number): Term | undefined {
    if (index === this.snapshot.index) return this.snapshot.term;
    return this.index.term(index) as Term | undefined;
  }

  /** An entry record at `pos`: replaces any suffix from its index on. Returns why it cannot be, or null. */
  applyEntry(term: number, index: number, pos: number, payloadBytes: number): string | null {
    if (index <= this.snapshot.index) return `entry ${index} at or below the snapshot index ${this.snapshot.index}`;
    if (index > this.index.last + 1) return `entry ${index} leaves a gap after ${this.index.last}`;
    if (index < this.index.first) this.index.reset(index);
    else this.index.truncateFrom(index);
    this.index.push(term, pos, payloadBytes);
    return null;
  }

  /** A snapshot record: `keep` retains entries after meta.index, otherwise the whole log goes. */
  applySnapshot(meta: SnapshotMeta, keep: boolean): string | null {
    if (meta.index < this.snapshot.index) return `snapshot ${meta.index} older than ${this.snapshot.index}`;
    if (keep) {
      if (meta.index > this.index.last) return `snapshot ${meta.index} keeps a suffix beyond the last entry ${this.index.last}`;
      this.index.dropThrough(meta.index);
    } else {
      this.index.reset(meta.index + 1);
    }
    this.snapshot = meta;
    return null;
  }

  applyHardState(hs: HardState): void {
    this.hardState = hs;
  }

  /** An open record after the first: it must restate exactly what replay has reached. */
  verifyOpen(lastIndex: number, hs: HardState, snapshot: SnapshotMeta): string | null {
    if (lastIndex !== this.index.last) return `segment opens at last index ${lastIndex}, replay reached ${this.index.last}`;
    if (!sameHardState(hs, this.hardState)) return 'segment opens with a hard state other than the one replayed';
    if (!sameSnapshot(snapshot, this.snapshot)) return 'segment opens with a snapshot other than the one replayed';
    return null;
  }

  /** After replay: no phantom entry may remain. */
  complete(): string | null {
    if (this.index.first === this.snapshot.index + 1) return null;
    return `entries ${this.snapshot.index + 1}..${this.index.first - 1} are in no segment (a segment is missing)`;
  }
}

export const sameHardState = (a: HardState, b: HardState): boolean => a.term === b.term && a.vote === b.vote && a.commit === b.commit;

const sameIds = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export const sameSnapshot = (a: SnapshotMeta, b: SnapshotMeta): boolean =>
  a.index === b.index && a.term === b.term && sameIds(a.config.voters, b.config.voters) && sameIds(a.config.learners, b.config.learners);
