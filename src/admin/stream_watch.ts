// Finds the streams in the local state and reports each consumer group's pending count
// and lag, for /metrics and the dashboard. Read-only on the node's own state, like INFO
// keyspace; new streams are found as SQLite has them (up to one state commit, 5 s, late),
// so the watcher never forces the key rows to be written back. Bounded: a refresh examines at most
// SCAN_ROWS_PER_REFRESH keys (the key scan resumes where it stopped), and at most
// STREAMS_MAX streams and GROUPS_MAX groups are reported.

import { compareIds, isZeroId, StreamStore, STREAM_TYPE, ZERO_ID, type GroupRow, type Keyspace, type StreamMeta } from '../state/index.ts';

const DBS = 16;
export const SCAN_ROWS_PER_REFRESH = 10_000;
export const STREAMS_MAX = 100;
export const GROUPS_MAX = 500;

export interface GroupLag {
  readonly db: number;
  readonly stream: string;
  readonly group: string;
  readonly length: number;
  readonly pending: number;
  readonly consumers: number;
  /** Entries not yet delivered to the group; null when Redis would say unknown (XINFO GROUPS lag nil). */
  readonly lag: number | null;
}

interface StreamKey {
  readonly db: number;
  readonly key: Buffer;
}

/** Redis streamRangeHasTombstones(s, start, NULL): deletions at or after `start` make entries-read unreliable. */
function tombstonesFrom(store: StreamStore, ref: number, m: StreamMeta, start: GroupRow['lastId']): boolean {
  if (m.length === 0 || isZeroId(m.maxDeletedId)) return false;
  const first = store.firstId(ref) ?? ZERO_ID;
  if (compareIds(first, m.maxDeletedId) > 0) return false;
  return compareIds(start, m.maxDeletedId) <= 0;
}

/** The lag XINFO GROUPS reports (Redis 7.0), with the estimate's common cases. */
export function groupLag(store: StreamStore, ref: number, m: StreamMeta, g: GroupRow): number | null {
  if (m.entriesAdded === 0n) return 0;
  if (g.entriesRead !== null && !tombstonesFrom(store, ref, m, g.lastId)) return Number(m.entriesAdded - g.entriesRead);
  const cmpLast = compareIds(g.lastId, m.lastId);
  if (cmpLast === 0 || (m.length === 0 && cmpLast < 0)) return 0;
  if (cmpLast > 0) return null;
  const first = store.firstId(ref) ?? ZERO_ID;
  if (isZeroId(m.maxDeletedId) || compareIds(m.maxDeletedId, first) < 0) {
    const cmpFirst = compareIds(g.lastId, first);
    if (cmpFirst < 0) return m.length;
    if (cmpFirst === 0) return m.length - 1;
  }
  return null;
}

export class StreamWatch {
  #ks: Keyspace | null = null;
  #db = 0;
  #cursor = 0;
  /** Streams seen in the pass under way, and those of the last complete pass. */
  #found: StreamKey[] = [];
  #known: StreamKey[] = [];

  /** Continues the key scan for a bounded number of rows; a new keyspace (snapshot install) restarts it. */
  refresh(ks: Keyspace, nowMs: number): void {
    if (ks !== this.#ks) {
      this.#ks = ks;
      this.#db = 0;
      this.#cursor = 0;
      this.#found = [];
      this.#known = [];
    }
    let budget = SCAN_ROWS_PER_REFRESH;
    while (budget > 0) {
      const count = Math.min(budget, 1000);
      // As SQLite holds them (no write-back per tick): a stream created since the last commit shows up a few seconds later.
      const page = ks.scanFlushed(this.#db, this.#cursor, count, null, STREAM_TYPE, nowMs);
      budget -= count;
      for (const key of page.keys) if (this.#found.length < STREAMS_MAX) this.#found.push({ db: this.#db, key });
      this.#cursor = page.cursor;
      if (page.cursor !== 0) continue;
      this.#db++;
      if (this.#db === DBS) {
        this.#known = this.#found;
        this.#found = [];
        this.#db = 0;
        return;
      }
    }
  }

  /** Every group of the streams found so far (bounded), read now. */
  groups(ks: Keyspace, nowMs: number): GroupLag[] {
    const store = StreamStore.of(ks.state);
    const out: GroupLag[] = [];
    const seen = new Set<string>();
    for (const s of [...this.#known, ...this.#found]) {
      const id = `${s.db}\0${s.key.toString('latin1')}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const e = ks.lookup(s.db, s.key, nowMs);
      if (e === null || e.type !== STREAM_TYPE) continue;
      const ref = StreamStore.refOf(e.value);
      const m = store.meta(ref);
      for (const g of store.groups.list(ref)) {
        if (out.length >= GROUPS_MAX) return out;
        out.push({
          db: s.db,
          stream: s.key.toString('utf8'),
          group: g.name.toString('utf8'),
          length: m.length,
          pending: store.groups.pendingCount(ref, g.name),
          consumers: store.groups.consumerCount(ref, g.name),
          lag: groupLag(store, ref, m, g),
        });
      }
    }
    return out;
  }
}
