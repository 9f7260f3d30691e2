// The read-only view of stable storage that the core reads, and an in-memory
// implementation for tests and the simulator. The application owns writing:
// it appends what a Ready says to persist, and compacts only up to what it applied.
// Invariant: entries are contiguous from firstIndex() to lastIndex(); term() answers
// for firstIndex()-1 (the snapshot's index) through lastIndex().

import type { Entry, HardState, LogIndex, NodeId, SnapshotMeta, Term } from './types.ts';
import { bootstrapLog, emptyConfig } from './config.ts';

export interface InitialState {
  readonly hardState: HardState;
  /** The config as of the snapshot (or the bootstrap config); config entries after it are read from the log. */
  readonly snapshot: SnapshotMeta;
}

export interface LogStorage {
  initialState(): InitialState;
  /** Index of the first entry still held (the snapshot's index + 1). */
  firstIndex(): LogIndex;
  lastIndex(): LogIndex;
  /** Term of the entry at `index`, for firstIndex()-1 <= index <= lastIndex(); undefined otherwise. */
  term(index: LogIndex): Term | undefined;
  /** Entries in [lo, hi), at most `maxBytes` of data but always at least one; lo >= firstIndex(). */
  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): Entry[];
  /** Metadata of the latest snapshot; the leader sends it to followers behind firstIndex(). */
  snapshot(): SnapshotMeta;
}

export const entryBytes = (e: Entry): number => e.data.length + 24;

/** Keeps everything in arrays. `crash()`-style loss is modelled by the simulator, which copies what it persisted. */
export class MemoryStorage implements LogStorage {
  #hardState: HardState;
  #snap: SnapshotMeta;
  #entries: Entry[] = [];

  /** An empty log: a node waiting to be added to a cluster. */
  constructor() {
    this.#snap = { index: 0 as LogIndex, term: 0 as Term, config: emptyConfig };
    this.#hardState = { term: 0 as Term, vote: null, commit: 0 as LogIndex };
  }

  /** A founding member's log: the bootstrap entries, committed. */
  static bootstrap(voters: readonly NodeId[]): MemoryStorage {
    const s = new MemoryStorage();
    const b = bootstrapLog(voters);
    s.append(b.entries);
    s.setHardState(b.hardState);
    return s;
  }

  initialState(): InitialState {
    return { hardState: this.#hardState, snapshot: this.#snap };
  }
  firstIndex(): LogIndex {
    return (this.#snap.index + 1) as LogIndex;
  }
  lastIndex(): LogIndex {
    return (this.#snap.index + this.#entries.length) as LogIndex;
  }
  term(index: LogIndex): Term | undefined {
    if (index === this.#snap.index) return this.#snap.term;
    return this.#entries[index - this.#snap.index - 1]?.term;
  }
  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): Entry[] {
    if (lo < this.firstIndex() || hi > this.lastIndex() + 1) {
      throw new Error(`entries [${lo}, ${hi}) out of range [${this.firstIndex()}, ${this.lastIndex() + 1})`);
    }
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.#entries[i - this.#snap.index - 1]!;
      bytes += entryBytes(e);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }
  snapshot(): SnapshotMeta {
    return this.#snap;
  }

  setHardState(hs: HardState): void {
    this.#hardState = hs;
  }
  /** Appends, replacing any conflicting suffix from entries[0].index on. */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    if (first.index > this.lastIndex() + 1) throw new Error(`gap: append ${first.index} after ${this.lastIndex()}`);
    if (first.index <= this.#snap.index) throw new Error(`append ${first.index} at or below snapshot ${this.#snap.index}`);
    this.#entries.length = first.index - this.#snap.index - 1;
    for (const e of entries) this.#entries.push(e);
  }
  /** Installs a received snapshot: the log is replaced unless it already holds the snapshot's entry. */
  applySnapshot(meta: SnapshotMeta): void {
    if (meta.index <= this.#snap.index) return;
    if (this.term(meta.index) === meta.term) {
      this.#entries = this.#entries.slice(meta.index - this.#snap.index);
    } else {
      this.#entries = [];
    }
    this.#snap = meta;
  }
  /** Records a snapshot taken by the application at `meta.index` and drops the entries it covers. */
  compact(meta: SnapshotMeta): void {
    if (meta.index <= this.#snap.index) return;
    if (meta.index > this.lastIndex()) throw new Error(`compact ${meta.index} beyond last ${this.lastIndex()}`);
    this.#entries = this.#entries.slice(meta.index - this.#snap.index);
    this.#snap = meta;
  }
}
