// Owns the rows of stream values: the `streams` metadata row and `stream_entries`, the
// append/range/delete/trim operations on them, and the ValueHooks (release, clone) that
// tie a 'stream' key's reference to those rows. Groups, consumers and the PEL are in
// stream_groups.ts. Invariants: `length` equals the stream's entry rows; `last_id` never
// decreases except through XSETID's checks; deterministic (times are the caller's).

import type { StateDatabase } from './database.ts';
import type { ExternalValueHooks, ValueHooks } from './key_rows.ts';
import type { Statement } from './sqlite.ts';
import { rememberBounded } from './bounded_memo.ts';
import { prepareBig, StreamGroups } from './stream_groups.ts';
import { compareIds, decodeFields, decodeId, encodeFields, encodeId, type StreamId } from './stream_id.ts';

export const STREAM_TYPE = 'stream';
/** Entries per modelled listpack node (Redis stream-node-max-entries default). */
export const STREAM_NODE_ENTRIES = 100;
/**
 * A released stream with more rows than this (entries plus pending entries) is not
 * deleted in the entry that released it, which would stall every node (~1 s per
 * 300 000 entries): it becomes garbage, removed RECLAIM_ROWS at a time by 'reclaim'
 * entries the leader proposes (Redis frees big values lazily for the same reason).
 */
export const RELEASE_NOW_ROWS_MAX = 1000;
/** Rows one 'reclaim' entry removes at most (a few ms of apply). */
export const RECLAIM_ROWS = 2000;
/** What one row `reclaim` removes counts in bytesWritten: it dirties the page it leaves. */
const RECLAIMED_ROW_BYTES = 1024;
/** Streams whose metadata row (and known live tail node) is kept in memory; those remembered first go first. */
const META_CACHE_STREAMS = 4096;

export interface StreamMeta {
  readonly lastId: StreamId;
  readonly maxDeletedId: StreamId;
  readonly entriesAdded: bigint;
  readonly length: number;
  readonly tailNode: number;
  readonly tailCount: number;
}

export interface StreamEntry {
  readonly id: StreamId;
  readonly fields: Buffer[];
}

export type TrimStrategy = { readonly kind: 'maxlen'; readonly maxlen: bigint } | { readonly kind: 'minid'; readonly minid: StreamId };

export interface TrimArgs {
  readonly strategy: TrimStrategy;
  readonly approx: boolean;
  /** Entries removed at most (approximate trimming only); 0 = no limit. */
  readonly limit: number;
}

interface MetaRow {
  last_id: Buffer;
  max_deleted: Buffer;
  entries_added: bigint;
  length: bigint;
  tail_node: bigint;
  tail_count: bigint;
}

const stores = new WeakMap<StateDatabase, StreamStore>();

export class StreamStore {
  readonly state: StateDatabase;
  readonly groups: StreamGroups;
  readonly #s: Record<string, Statement>;
  /**
   * Write-through copies of `streams` rows by ref, so the reads before every XADD and
   * XREADGROUP skip a SELECT: every change of a row goes through setMeta/release here,
   * and a rolled-back transaction drops them all (SQLite is the authority).
   */
  readonly #metas = new Map<number, StreamMeta>();
  /** ref → a node number known to hold at least one entry (saves a count per XADD); dropped by deletes. */
  readonly #liveTail = new Map<number, number>();
  /** ref → the ID of its last entry, known since it was appended (saves a SELECT per XREADGROUP); dropped by deletes. */
  readonly #lastEntry = new Map<number, StreamId>();
  /**
   * ref → its number of nodes with entries (XINFO STREAM's radix-tree-keys), counted once
   * when asked for (a scan of the stream: 11 ms for 300 000 entries), then kept by
   * append, delete and trim; dropped by a rollback, a release or a clone.
   */
  readonly #nodeCounts = new Map<number, number>();
  /**
   * Metadata rows changed in the open transaction level and not yet written: written once
   * when the level ends (or a nested one begins), so the XADDs of one applied batch to a
   * stream cost one UPDATE, not one each. Also in `#metas`.
   */
  readonly #dirtyMetas = new Map<number, StreamMeta>();

  /** The store bound to `state`'s connection (one per StateDatabase). */
  static of(state: StateDatabase): StreamStore {
    let s = stores.get(state);
    if (s === undefined) {
      s = new StreamStore(state);
      stores.set(state, s);
    }
    return s;
  }

  private constructor(state: StateDatabase) {
    this.state = state;
    this.groups = new StreamGroups(state);
    state.onTransaction({
      // Metadata written before a savepoint belongs to the level around it: write it now,
      // so a rollback of the savepoint drops only what was written inside it.
      begin: () => this.#flushMetas(),
      beforeRelease: () => this.#flushMetas(),
      beforeCommit: () => this.#flushMetas(),
      commit: () => {},
      rollback: () => {
        this.#dirtyMetas.clear();
        this.#metas.clear();
        this.#liveTail.clear();
        this.#lastEntry.clear();
        this.#nodeCounts.clear();
      },
    });
    const p = (sql: string): Statement => prepareBig(state, sql);
    this.#s = {
      create: p("INSERT INTO streams (last_id, max_deleted, entries_added, length, tail_node, tail_count) VALUES (?, ?, 0, 0, 0, 0)"),
      meta: p('SELECT last_id, max_deleted, entries_added, length, tail_node, tail_count FROM streams WHERE ref = ?'),
      setMeta: p('UPDATE streams SET last_id = ?, max_deleted = ?, entries_added = ?, length = ?, tail_node = ?, tail_count = ? WHERE ref = ?'),
      insert: p('INSERT INTO stream_entries (ref, id, node, fields) VALUES (?, ?, ?, ?)'),
      get: p('SELECT fields FROM stream_entries WHERE ref = ? AND id = ?').pluck(),
      del: p('DELETE FROM stream_entries WHERE ref = ? AND id = ?'),
      delNodeOf: p('DELETE FROM stream_entries WHERE ref = ? AND id = ? RETURNING node').pluck(),
      first: p('SELECT id FROM stream_entries WHERE ref = ? ORDER BY id LIMIT 1').pluck(),
      last: p('SELECT id FROM stream_entries WHERE ref = ? ORDER BY id DESC LIMIT 1').pluck(),
      range: p('SELECT id, fields FROM stream_entries WHERE ref = ? AND id >= ? AND id <= ? ORDER BY id LIMIT ?'),
      revRange: p('SELECT id, fields FROM stream_entries WHERE ref = ? AND id >= ? AND id <= ? ORDER BY id DESC LIMIT ?'),
      nodeCount: p('SELECT count(*) FROM stream_entries WHERE ref = ? AND node = ?').pluck(),
      nodeLast: p('SELECT id FROM stream_entries WHERE ref = ? AND node = ? ORDER BY id DESC LIMIT 1').pluck(),
      firstNode: p('SELECT node FROM stream_entries WHERE ref = ? ORDER BY id LIMIT 1').pluck(),
      delNode: p('DELETE FROM stream_entries WHERE ref = ? AND node = ?'),
      oldest: p('SELECT id FROM stream_entries WHERE ref = ? ORDER BY id LIMIT ?').pluck(),
      belowCount: p('SELECT count(*) FROM (SELECT 1 FROM stream_entries WHERE ref = ? AND id < ? LIMIT ?)').pluck(),
      nodes: p('SELECT count(DISTINCT node) FROM stream_entries WHERE ref = ?').pluck(),
      release: p('DELETE FROM streams WHERE ref = ?'),
      pendingUpTo: p('SELECT count(*) FROM (SELECT 1 FROM stream_pel WHERE ref = ? LIMIT ?)').pluck(),
      markGarbage: p('INSERT INTO stream_garbage (ref) VALUES (?)'),
      garbageFirst: p('SELECT ref FROM stream_garbage ORDER BY ref LIMIT 1').pluck(),
      garbageCount: p('SELECT count(*) FROM stream_garbage').pluck(),
      unmarkGarbage: p('DELETE FROM stream_garbage WHERE ref = ?'),
      reclaimEntries: p('DELETE FROM stream_entries WHERE ref = @ref AND id IN (SELECT id FROM stream_entries WHERE ref = @ref ORDER BY id LIMIT @limit)'),
      reclaimPel: p('DELETE FROM stream_pel WHERE ref = @ref AND (grp, id) IN (SELECT grp, id FROM stream_pel WHERE ref = @ref ORDER BY grp, id LIMIT @limit)'),
      releaseEntries: p('DELETE FROM stream_entries WHERE ref = ?'),
      cloneMeta: p('INSERT INTO streams (last_id, max_deleted, entries_added, length, tail_node, tail_count) SELECT last_id, max_deleted, entries_added, length, tail_node, tail_count FROM streams WHERE ref = ?'),
      cloneEntries: p('INSERT INTO stream_entries (ref, id, node, fields) SELECT ?, id, node, fields FROM stream_entries WHERE ref = ?'),
    };
  }

  // ---- the reference stored in keys.value ----

  static refOf(value: Buffer | null): number {
    if (value === null) throw new Error('stream key without a reference');
    return Number(value.toString('latin1'));
  }

  static refValue(ref: number): Buffer {
    return Buffer.from(String(ref), 'latin1');
  }

  /** A new, empty stream; returns its reference. */
  create(): number {
    this.state.assertInTransaction('stream create');
    const zero = encodeId({ ms: 0n, seq: 0n });
    const ref = Number(this.#s.create!.run(zero, zero).lastInsertRowid);
    // A ref is reused once its stream is wholly gone: nothing known of the old one may stay.
    this.#nodeCounts.delete(ref);
    return ref;
  }

  meta(ref: number): StreamMeta {
    const cached = this.#metas.get(ref);
    if (cached !== undefined) return cached;
    const r = this.#s.meta!.get(ref) as MetaRow | undefined;
    if (r === undefined) throw new Error(`stream ${ref} has no metadata row`);
    const m: StreamMeta = {
      lastId: decodeId(r.last_id),
      maxDeletedId: decodeId(r.max_deleted),
      entriesAdded: r.entries_added,
      length: Number(r.length),
      tailNode: Number(r.tail_node),
      tailCount: Number(r.tail_count),
    };
    remember(this.#metas, ref, m);
    return m;
  }

  setMeta(ref: number, m: StreamMeta): void {
    this.state.assertInTransaction('stream write');
    this.#dirtyMetas.set(ref, m);
    remember(this.#metas, ref, m);
  }

  /** Writes the metadata rows changed since the last flush (in the open transaction). */
  #flushMetas(): void {
    if (this.#dirtyMetas.size === 0) return;
    for (const [ref, m] of this.#dirtyMetas) {
      this.#s.setMeta!.run(encodeId(m.lastId), encodeId(m.maxDeletedId), m.entriesAdded, m.length, m.tailNode, m.tailCount, ref);
    }
    this.#dirtyMetas.clear();
  }

  /** Entries of the stream may have been removed: a node once known to hold some may be empty now. */
  #entriesRemoved(ref: number): void {
    this.#liveTail.delete(ref);
    this.#lastEntry.delete(ref);
  }

  firstId(ref: number): StreamId | null {
    const b = this.#s.first!.get(ref) as Buffer | undefined;
    return b === undefined ? null : decodeId(b);
  }

  lastEntryId(ref: number): StreamId | null {
    const known = this.#lastEntry.get(ref);
    if (known !== undefined) return known;
    const b = this.#s.last!.get(ref) as Buffer | undefined;
    return b === undefined ? null : decodeId(b);
  }

  /** Modelled listpack nodes (XINFO radix-tree-keys). */
  nodeCount(ref: number): number {
    const known = this.#nodeCounts.get(ref);
    if (known !== undefined) return known;
    const n = Number(this.#s.nodes!.get(ref));
    remember(this.#nodeCounts, ref, n);
    return n;
  }

  #nodesAdded(ref: number, by: number): void {
    const n = this.#nodeCounts.get(ref);
    if (n !== undefined) this.#nodeCounts.set(ref, n + by);
  }

  /**
   * Bytes of stream rows this store wrote to SQLite since it was made: appended entries,
   * and RECLAIMED_ROW_BYTES per row `reclaim` removed. Unlike key rows (kept in memory and
   * written back), these go to SQLite's pages at once, so a node commits its state by them.
   */
  bytesWritten = 0;

  /** Append an entry with `id` (> last ID: the caller checked); updates the metadata. */
  append(ref: number, id: StreamId, fields: readonly Buffer[]): void {
    this.state.assertInTransaction('stream write');
    const m = this.meta(ref);
    // A new node when the tail node is full (deleted entries count) or was emptied and freed.
    const fresh = m.tailCount >= STREAM_NODE_ENTRIES || m.tailCount === 0 ||
      (this.#liveTail.get(ref) !== m.tailNode && Number(this.#s.nodeCount!.get(ref, m.tailNode)) === 0);
    const node = fresh ? m.tailNode + 1 : m.tailNode;
    const encoded = encodeFields(fields);
    this.#s.insert!.run(ref, encodeId(id), node, encoded);
    if (fresh) this.#nodesAdded(ref, 1);
    this.bytesWritten += encoded.length;
    remember(this.#liveTail, ref, node);
    remember(this.#lastEntry, ref, id);
    this.setMeta(ref, {
      ...m,
      lastId: id,
      entriesAdded: m.entriesAdded + 1n,
      length: m.length + 1,
      tailNode: node,
      tailCount: fresh ? 1 : m.tailCount + 1,
    });
  }

  get(ref: number, id: StreamId): Buffer[] | null {
    const b = this.#s.get!.get(ref, encodeId(id)) as Buffer | undefined;
    return b === undefined ? null : decodeFields(b);
  }

  exists(ref: number, id: StreamId): boolean {
    return this.#s.get!.get(ref, encodeId(id)) !== undefined;
  }

  /** Entries with start <= id <= end, ascending (or descending with `rev`); count 0 = all. */
  range(ref: number, start: StreamId, end: StreamId, count: number, rev = false): StreamEntry[] {
    if (compareIds(start, end) > 0) return [];
    const st = rev ? this.#s.revRange! : this.#s.range!;
    const rows = st.all(ref, encodeId(start), encodeId(end), count > 0 ? count : -1) as Array<{ id: Buffer; fields: Buffer }>;
    return rows.map((r) => ({ id: decodeId(r.id), fields: decodeFields(r.fields) }));
  }

  /** XDEL of one ID: true if it existed. Updates length and the max deleted ID. */
  delete(ref: number, id: StreamId): boolean {
    this.state.assertInTransaction('stream write');
    if (this.#nodeCounts.has(ref)) {
      // Its node's count matters only while the stream's node count is kept.
      const node = this.#s.delNodeOf!.get(ref, encodeId(id)) as bigint | undefined;
      if (node === undefined) return false;
      if (Number(this.#s.nodeCount!.get(ref, node)) === 0) this.#nodesAdded(ref, -1);
    } else if (this.#s.del!.run(ref, encodeId(id)).changes === 0) return false;
    this.#entriesRemoved(ref);
    const m = this.meta(ref);
    this.setMeta(ref, { ...m, length: m.length - 1, maxDeletedId: compareIds(id, m.maxDeletedId) > 0 ? id : m.maxDeletedId });
    return true;
  }

  /**
   * Redis streamTrim: whole nodes first while they may go entirely; approximate trimming
   * stops at the first node it cannot remove whole, exact trimming then removes single
   * entries. Returns the number of entries removed.
   */
  trim(ref: number, args: TrimArgs): number {
    this.state.assertInTransaction('stream write');
    this.#entriesRemoved(ref);
    const m = this.meta(ref);
    let length = m.length;
    let deleted = 0;
    for (;;) {
      if (length === 0) break;
      const node = Number(this.#s.firstNode!.get(ref));
      const inNode = Number(this.#s.nodeCount!.get(ref, node));
      if (args.limit > 0 && deleted + inNode > args.limit) break;
      let whole: boolean;
      if (args.strategy.kind === 'maxlen') whole = BigInt(length - inNode) >= args.strategy.maxlen;
      else whole = compareIds(decodeId(this.#s.nodeLast!.get(ref, node) as Buffer), args.strategy.minid) < 0;
      if (whole) {
        this.#s.delNode!.run(ref, node);
        this.#nodesAdded(ref, -1);
        length -= inNode;
        deleted += inNode;
        continue;
      }
      if (args.approx) break;
      const n = args.strategy.kind === 'maxlen'
        ? Math.max(0, length - Number(args.strategy.maxlen))
        : Number(this.#s.belowCount!.get(ref, encodeId(args.strategy.minid), inNode));
      for (const id of this.#s.oldest!.all(ref, n) as Buffer[]) this.#s.del!.run(ref, id);
      length -= n;
      deleted += n;
      break;
    }
    if (deleted > 0) this.setMeta(ref, { ...m, length });
    return deleted;
  }

  /**
   * The stream's key was deleted, overwritten or flushed: delete its rows now if there
   * are few (RELEASE_NOW_ROWS_MAX), else mark it garbage for `reclaim`. Either way
   * nothing refers to the ref afterwards.
   */
  release(ref: number): void {
    this.state.assertInTransaction('stream release');
    this.#flushMetas();
    this.#metas.delete(ref);
    this.#nodeCounts.delete(ref);
    this.#entriesRemoved(ref);
    const row = this.#s.meta!.get(ref) as MetaRow | undefined;
    const length = row === undefined ? 0 : Number(row.length);
    const pending = length > RELEASE_NOW_ROWS_MAX ? 0 : Number(this.#s.pendingUpTo!.get(ref, RELEASE_NOW_ROWS_MAX + 1 - length));
    if (length + pending > RELEASE_NOW_ROWS_MAX) {
      this.#s.markGarbage!.run(ref);
      return;
    }
    this.#s.releaseEntries!.run(ref);
    this.groups.releaseAll(ref);
    this.#s.release!.run(ref);
  }

  /** Streams released but not yet wholly removed. */
  garbageCount(): number {
    return Number(this.#s.garbageCount!.get());
  }

  /**
   * Remove at most `rows` rows of released streams, oldest ref first: entries, then
   * pending entries, then (all at once: one per consumer or group) consumers and groups
   * and the `streams` row. Deterministic: every replica removes the same rows for the
   * same entry. Returns the rows removed.
   */
  reclaim(rows: number): number {
    this.state.assertInTransaction('stream reclaim');
    const removed = this.#reclaim(rows);
    this.bytesWritten += removed * RECLAIMED_ROW_BYTES;
    return removed;
  }

  #reclaim(rows: number): number {
    let removed = 0;
    while (removed < rows) {
      const ref = this.#s.garbageFirst!.get() as bigint | undefined;
      if (ref === undefined) break;
      const n = Number(ref);
      removed += this.#s.reclaimEntries!.run({ ref: n, limit: rows - removed }).changes;
      if (removed < rows) removed += this.#s.reclaimPel!.run({ ref: n, limit: rows - removed }).changes;
      if (removed >= rows) break;
      this.groups.releaseAll(n);
      this.#s.release!.run(n);
      this.#s.unmarkGarbage!.run(n);
    }
    return removed;
  }

  /** A deep copy (COPY); returns the new reference. */
  clone(ref: number): number {
    this.state.assertInTransaction('stream clone');
    this.#flushMetas();
    const copy = Number(this.#s.cloneMeta!.run(ref).lastInsertRowid);
    this.#nodeCounts.delete(copy);
    this.#s.cloneEntries!.run(copy, ref);
    this.groups.cloneAll(ref, copy);
    return copy;
  }

  get hooks(): ExternalValueHooks {
    return {
      release: (value) => this.release(StreamStore.refOf(value)),
      clone: (value) => StreamStore.refValue(this.clone(StreamStore.refOf(value))),
    };
  }
}

/** The ValueHooks to construct a Keyspace with, so DEL/FLUSH/COPY handle stream rows. */
export function streamValueHooks(state: StateDatabase): ValueHooks {
  return { [STREAM_TYPE]: StreamStore.of(state).hooks };
}

/** Sets `value` in `map`, bounded by META_CACHE_STREAMS (bounded_memo.ts). */
function remember<V>(map: Map<number, V>, ref: number, value: V): void {
  rememberBounded(map, ref, value, META_CACHE_STREAMS);
}
