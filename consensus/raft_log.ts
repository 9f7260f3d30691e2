// The node's view of its log: stable entries in LogStorage plus an unstable tail
// (and possibly an incoming snapshot) not yet persisted, with commit and applied marks.
// Invariants: applied <= committed <= lastIndex; committed entries are never
// truncated (a conflict at or below commit is a bug and throws).

import type { Entry, LogIndex, SnapshotMeta, Term } from './types.ts';
import { entryBytes, type LogStorage } from './storage.ts';

export class RaftLog {
  readonly storage: LogStorage;
  /** Index of unstable[0]; everything below it is in storage (or in the pending snapshot). */
  offset: LogIndex;
  unstable: Entry[] = [];
  pendingSnapshot: SnapshotMeta | null = null;
  committed: LogIndex;
  /** Highest index handed to the application in a Ready. */
  applied: LogIndex;

  constructor(storage: LogStorage, committed: LogIndex) {
    this.storage = storage;
    this.offset = (storage.lastIndex() + 1) as LogIndex;
    const snapIndex = storage.snapshot().index;
    this.committed = Math.max(committed, snapIndex) as LogIndex;
    this.applied = snapIndex;
  }

  firstIndex(): LogIndex {
    return this.pendingSnapshot ? ((this.pendingSnapshot.index + 1) as LogIndex) : this.storage.firstIndex();
  }

  lastIndex(): LogIndex {
    if (this.unstable.length > 0) return (this.offset + this.unstable.length - 1) as LogIndex;
    if (this.pendingSnapshot) return this.pendingSnapshot.index;
    return this.storage.lastIndex();
  }

  /** Term at `index`, or undefined when it is compacted away or beyond the end. */
  term(index: LogIndex): Term | undefined {
    if (index >= this.offset) return this.unstable[index - this.offset]?.term;
    if (this.pendingSnapshot) return index === this.pendingSnapshot.index ? this.pendingSnapshot.term : undefined;
    return this.storage.term(index);
  }

  lastTerm(): Term {
    return this.term(this.lastIndex()) ?? (0 as Term);
  }

  matchTerm(index: LogIndex, term: Term): boolean {
    return this.term(index) === term;
  }

  /** Thesis §3.6.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: LogIndex, lastTerm: Term): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [lo, hi) bounded by bytes (at least one); null if lo was compacted away. */
  slice(lo: LogIndex, hi: LogIndex, maxBytes: number, maxCount: number): Entry[] | null {
    if (lo < this.firstIndex()) return null;
    hi = Math.min(hi, this.lastIndex() + 1, lo + maxCount) as LogIndex;
    if (lo >= hi) return [];
    let out: Entry[] = [];
    let bytes = 0;
    if (lo < this.offset) {
      out = this.storage.entries(lo, Math.min(hi, this.offset) as LogIndex, maxBytes);
      for (const e of out) bytes += entryBytes(e);
      if (out.length < Math.min(hi, this.offset) - lo) return out;
    }
    for (let i = Math.max(lo, this.offset); i < hi; i++) {
      const e = this.unstable[i - this.offset]!;
      bytes += entryBytes(e);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** Appends after truncating any conflicting suffix; returns the new last index. */
  append(entries: readonly Entry[]): LogIndex {
    const first = entries[0];
    if (first === undefined) return this.lastIndex();
    if (first.index <= this.committed) {
      throw new Error(`append at ${first.index} would truncate committed entries (commit ${this.committed})`);
    }
    const after = first.index - 1;
    if (after === this.offset + this.unstable.length - 1) {
      for (const e of entries) this.unstable.push(e);
    } else if (after < this.offset) {
      // Replaces stable entries too: storage truncates them when this tail is persisted.
      this.offset = first.index;
      this.unstable = [...entries];
    } else {
      this.unstable.length = after - this.offset + 1;
      for (const e of entries) this.unstable.push(e);
    }
    return this.lastIndex();
  }

  /**
   * Follower side of AppendEntries (thesis §3.5): if our log holds (prevIndex, prevTerm),
   * append the new entries after cutting the first conflicting one, advance commit, and
   * return the last index known to match the leader; null means reject.
   */
  maybeAppend(
    prevIndex: LogIndex,
    prevTerm: Term,
    commit: LogIndex,
    entries: readonly Entry[],
  ): { readonly lastNew: LogIndex; readonly appended: readonly Entry[] } | null {
    if (!this.matchTerm(prevIndex, prevTerm)) return null;
    const lastNew = (prevIndex + entries.length) as LogIndex;
    let i = 0;
    while (i < entries.length && this.matchTerm(entries[i]!.index, entries[i]!.term)) i++;
    const appended = i === 0 ? entries : entries.slice(i);
    if (appended.length > 0) this.append(appended);
    this.commitTo(Math.min(commit, lastNew) as LogIndex);
    return { lastNew, appended };
  }

  commitTo(index: LogIndex): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) throw new Error(`commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /** The last index <= `index` whose term is <= `term` (etcd's findConflictByTerm), for fast backtracking. */
  findConflictByTerm(index: LogIndex, term: Term): LogIndex {
    let i = Math.min(index, this.lastIndex());
    for (; i >= this.firstIndex() - 1; i--) {
      const t = this.term(i as LogIndex);
      if (t === undefined || t <= term) break;
    }
    return Math.max(i, 0) as LogIndex;
  }

  /** Installs snapshot metadata: the whole log is replaced by it (persisted from the next Ready). */
  restore(meta: SnapshotMeta): void {
    this.pendingSnapshot = meta;
    this.offset = (meta.index + 1) as LogIndex;
    this.unstable = [];
    this.committed = meta.index;
  }

  /** Committed entries not yet handed out, bounded in bytes and count. */
  nextCommitted(maxBytes: number, maxCount: number): Entry[] {
    if (this.applied >= this.committed) return [];
    const lo = Math.max(this.applied + 1, this.firstIndex()) as LogIndex;
    return this.slice(lo, (this.committed + 1) as LogIndex, maxBytes, maxCount) ?? [];
  }

  /** After the application persisted the unstable tail up to (index, term). */
  stableTo(index: LogIndex, term: Term): void {
    if (index < this.offset || this.term(index) !== term) return;
    this.unstable = this.unstable.slice(index + 1 - this.offset);
    this.offset = (index + 1) as LogIndex;
  }

  stableSnapshotTo(index: LogIndex): void {
    if (this.pendingSnapshot?.index === index) this.pendingSnapshot = null;
  }
}
