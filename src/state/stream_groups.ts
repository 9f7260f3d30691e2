// Owns the consumer-group rows of streams: `stream_groups`, `stream_consumers` and the
// pending entries list `stream_pel` (group PEL and, through its consumer column and
// index, each consumer's PEL). Invariant: a PEL row's consumer exists in the group;
// every write runs in the applying transaction; times are entry times from the caller.

import type { StateDatabase } from './database.ts';
import type { Statement } from './sqlite.ts';
import { rememberBounded } from './bounded_memo.ts';
import { decodeId, encodeId, type StreamId } from './stream_id.ts';

export interface GroupRow {
  readonly name: Buffer;
  readonly lastId: StreamId;
  /** null: unknown (Redis SCG_INVALID_ENTRIES_READ). */
  readonly entriesRead: bigint | null;
}

export interface ConsumerRow {
  readonly name: Buffer;
  readonly seenMs: number;
  readonly activeMs: number;
  readonly pending: number;
}

export interface PendingRow {
  readonly id: StreamId;
  readonly consumer: Buffer;
  readonly deliveryMs: bigint;
  readonly deliveryCount: bigint;
}

interface RawPending {
  id: Buffer;
  consumer: Buffer;
  delivery_ms: bigint;
  delivery_count: bigint;
}

/** better-sqlite3's per-statement switch: integers come back as bigint (IDs, counters up to int64). */
export function prepareBig(state: StateDatabase, sql: string): Statement {
  const st = state.sqlite.prepare(sql) as Statement & { safeIntegers(on: boolean): Statement };
  return st.safeIntegers(true);
}

const pending = (r: RawPending): PendingRow => ({ id: decodeId(r.id), consumer: r.consumer, deliveryMs: r.delivery_ms, deliveryCount: r.delivery_count });

/** Streams whose group rows are kept in memory; those remembered first go first (bounded_memo.ts). */
const GROUP_CACHE_STREAMS = 4096;
/** Streams whose groups' pending counts are kept in memory (once asked for), likewise. */
const PENDING_COUNT_STREAMS = 1024;

/** A group's pending entries: in all, and per consumer (name as a latin1 string). */
interface PendingCounts {
  total: number;
  readonly byConsumer: Map<string, number>;
}

export class StreamGroups {
  readonly state: StateDatabase;
  readonly #s: Record<string, Statement>;
  /**
   * Write-through copies of `stream_groups` rows (null: known absent), by ref, then name
   * as a latin1 string, so each XREADGROUP skips a SELECT. Every change of a group row
   * goes through put/destroy/releaseAll here; a rollback drops them all.
   */
  readonly #groups = new Map<number, Map<string, GroupRow | null>>();
  /**
   * Pending counts by ref, then group name (latin1): counted once when first asked for
   * (XPENDING, XINFO, the admin's stream watcher), then kept by every PEL write here, so
   * asking again costs no scan of the PEL (300 000 pending took 8-24 ms). A rollback
   * drops them all; a destroyed group or released stream its own.
   */
  readonly #pendingCounts = new Map<number, Map<string, PendingCounts>>();

  constructor(state: StateDatabase) {
    this.state = state;
    state.onRollback(() => {
      this.#groups.clear();
      this.#pendingCounts.clear();
    });
    const p = (sql: string): Statement => prepareBig(state, sql);
    this.#s = {
      group: p('SELECT name, last_id, entries_read FROM stream_groups WHERE ref = ? AND name = ?'),
      groups: p('SELECT name, last_id, entries_read FROM stream_groups WHERE ref = ? ORDER BY name'),
      groupCount: p('SELECT count(*) FROM stream_groups WHERE ref = ?').pluck(),
      putGroup: p('INSERT INTO stream_groups (ref, name, last_id, entries_read) VALUES (?, ?, ?, ?) ON CONFLICT (ref, name) DO UPDATE SET last_id = excluded.last_id, entries_read = excluded.entries_read'),
      delGroup: p('DELETE FROM stream_groups WHERE ref = ? AND name = ?'),
      delGroupConsumers: p('DELETE FROM stream_consumers WHERE ref = ? AND grp = ?'),
      delGroupPel: p('DELETE FROM stream_pel WHERE ref = ? AND grp = ?'),
      consumer: p('SELECT name, seen_ms, active_ms FROM stream_consumers WHERE ref = ? AND grp = ? AND name = ?'),
      consumers: p('SELECT name, seen_ms, active_ms FROM stream_consumers WHERE ref = ? AND grp = ? ORDER BY name'),
      consumerCount: p('SELECT count(*) FROM stream_consumers WHERE ref = ? AND grp = ?').pluck(),
      insConsumer: p('INSERT INTO stream_consumers (ref, grp, name, seen_ms, active_ms) VALUES (?, ?, ?, ?, ?)'),
      seeConsumer: p('INSERT INTO stream_consumers (ref, grp, name, seen_ms, active_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT (ref, grp, name) DO UPDATE SET seen_ms = excluded.seen_ms'),
      active: p('UPDATE stream_consumers SET seen_ms = ?, active_ms = ? WHERE ref = ? AND grp = ? AND name = ?'),
      delConsumer: p('DELETE FROM stream_consumers WHERE ref = ? AND grp = ? AND name = ?'),
      delConsumerPel: p('DELETE FROM stream_pel WHERE ref = ? AND grp = ? AND consumer = ?'),
      pelGet: p('SELECT id, consumer, delivery_ms, delivery_count FROM stream_pel WHERE ref = ? AND grp = ? AND id = ?'),
      pelPut: p('INSERT INTO stream_pel (ref, grp, id, consumer, delivery_ms, delivery_count) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (ref, grp, id) DO UPDATE SET consumer = excluded.consumer, delivery_ms = excluded.delivery_ms, delivery_count = excluded.delivery_count'),
      pelInsert: p('INSERT OR IGNORE INTO stream_pel (ref, grp, id, consumer, delivery_ms, delivery_count) VALUES (?, ?, ?, ?, ?, ?)'),
      pelUpdate: p('UPDATE stream_pel SET consumer = ?, delivery_ms = ?, delivery_count = ? WHERE ref = ? AND grp = ? AND id = ?'),
      pelDel: p('DELETE FROM stream_pel WHERE ref = ? AND grp = ? AND id = ?'),
      pelDelOwner: p('DELETE FROM stream_pel WHERE ref = ? AND grp = ? AND id = ? RETURNING consumer').pluck(),
      pelRange: p('SELECT id, consumer, delivery_ms, delivery_count FROM stream_pel WHERE ref = ? AND grp = ? AND id >= ? AND id <= ? ORDER BY id LIMIT ?'),
      pelRangeOf: p('SELECT id, consumer, delivery_ms, delivery_count FROM stream_pel WHERE ref = ? AND grp = ? AND consumer = ? AND id >= ? AND id <= ? ORDER BY id LIMIT ?'),
      pelCountOf: p('SELECT count(*) FROM stream_pel WHERE ref = ? AND grp = ? AND consumer = ?').pluck(),
      pelFirst: p('SELECT id FROM stream_pel WHERE ref = ? AND grp = ? ORDER BY id LIMIT 1').pluck(),
      pelLast: p('SELECT id FROM stream_pel WHERE ref = ? AND grp = ? ORDER BY id DESC LIMIT 1').pluck(),
      pelByConsumer: p('SELECT consumer, count(*) AS n FROM stream_pel WHERE ref = ? AND grp = ? GROUP BY consumer ORDER BY consumer'),
      relGroups: p('DELETE FROM stream_groups WHERE ref = ?'),
      relConsumers: p('DELETE FROM stream_consumers WHERE ref = ?'),
      relPel: p('DELETE FROM stream_pel WHERE ref = ?'),
      cloneGroups: p('INSERT INTO stream_groups (ref, name, last_id, entries_read) SELECT ?, name, last_id, entries_read FROM stream_groups WHERE ref = ?'),
      cloneConsumers: p('INSERT INTO stream_consumers (ref, grp, name, seen_ms, active_ms) SELECT ?, grp, name, seen_ms, active_ms FROM stream_consumers WHERE ref = ?'),
      clonePel: p('INSERT INTO stream_pel (ref, grp, id, consumer, delivery_ms, delivery_count) SELECT ?, grp, id, consumer, delivery_ms, delivery_count FROM stream_pel WHERE ref = ?'),
    };
  }

  #write(what: string): void {
    this.state.assertInTransaction(what);
  }

  // ---- groups ----

  group(ref: number, name: Buffer): GroupRow | null {
    const rows = this.#rowsOf(ref);
    const key = name.toString('latin1');
    const known = rows.get(key);
    if (known !== undefined) return known;
    const r = this.#s.group!.get(ref, name) as { name: Buffer; last_id: Buffer; entries_read: bigint | null } | undefined;
    const row = r === undefined ? null : { name: r.name, lastId: decodeId(r.last_id), entriesRead: r.entries_read };
    rows.set(key, row);
    return row;
  }

  /** The ref's cached group rows (an empty map remembered if none yet). */
  #rowsOf(ref: number): Map<string, GroupRow | null> {
    let rows = this.#groups.get(ref);
    if (rows === undefined) {
      rows = new Map();
      rememberBounded(this.#groups, ref, rows, GROUP_CACHE_STREAMS);
    }
    return rows;
  }

  list(ref: number): GroupRow[] {
    const rows = this.#s.groups!.all(ref) as Array<{ name: Buffer; last_id: Buffer; entries_read: bigint | null }>;
    return rows.map((r) => ({ name: r.name, lastId: decodeId(r.last_id), entriesRead: r.entries_read }));
  }

  count(ref: number): number {
    return Number(this.#s.groupCount!.get(ref));
  }

  /** Create or update a group's last delivered ID and read counter. */
  put(ref: number, name: Buffer, lastId: StreamId, entriesRead: bigint | null): void {
    this.#write('stream group write');
    this.#s.putGroup!.run(ref, name, encodeId(lastId), entriesRead);
    this.#rowsOf(ref).set(name.toString('latin1'), { name: Buffer.from(name), lastId, entriesRead });
  }

  destroy(ref: number, name: Buffer): boolean {
    this.#write('stream group write');
    this.#groups.get(ref)?.delete(name.toString('latin1'));
    this.#pendingCounts.get(ref)?.delete(name.toString('latin1'));
    if (this.#s.delGroup!.run(ref, name).changes === 0) return false;
    this.#s.delGroupConsumers!.run(ref, name);
    this.#s.delGroupPel!.run(ref, name);
    return true;
  }

  // ---- consumers ----

  consumer(ref: number, grp: Buffer, name: Buffer): { seenMs: number; activeMs: number } | null {
    const r = this.#s.consumer!.get(ref, grp, name) as { seen_ms: bigint; active_ms: bigint } | undefined;
    return r === undefined ? null : { seenMs: Number(r.seen_ms), activeMs: Number(r.active_ms) };
  }

  consumers(ref: number, grp: Buffer): ConsumerRow[] {
    const counts = this.#countsOf(ref, grp);
    const rows = this.#s.consumers!.all(ref, grp) as Array<{ name: Buffer; seen_ms: bigint; active_ms: bigint }>;
    return rows.map((r) => ({
      name: r.name,
      seenMs: Number(r.seen_ms),
      activeMs: Number(r.active_ms),
      pending: counts.byConsumer.get(r.name.toString('latin1')) ?? 0,
    }));
  }

  consumerCount(ref: number, grp: Buffer): number {
    return Number(this.#s.consumerCount!.get(ref, grp));
  }

  /** Create the consumer if absent (seen at `nowMs`); true if created. */
  createConsumer(ref: number, grp: Buffer, name: Buffer, nowMs: number): boolean {
    this.#write('stream consumer write');
    if (this.consumer(ref, grp, name) !== null) return false;
    this.#s.insConsumer!.run(ref, grp, name, nowMs, nowMs);
    return true;
  }

  /** Redis streamLookupConsumer(SLC_DEFAULT) or create: the consumer exists and was seen at `nowMs`. */
  seeConsumer(ref: number, grp: Buffer, name: Buffer, nowMs: number): void {
    this.#write('stream consumer write');
    // One statement (an XREADGROUP runs this each time): created active at nowMs, or seen at nowMs.
    this.#s.seeConsumer!.run(ref, grp, name, nowMs, nowMs);
  }

  /** Delete a consumer and its pending entries; returns how many were pending (0 if absent). */
  deleteConsumer(ref: number, grp: Buffer, name: Buffer): number {
    this.#write('stream consumer write');
    if (this.consumer(ref, grp, name) === null) return 0;
    const n = Number(this.#s.pelCountOf!.get(ref, grp, name));
    this.#s.delConsumerPel!.run(ref, grp, name);
    this.#s.delConsumer!.run(ref, grp, name);
    const counts = this.#loadedCounts(ref, grp);
    if (counts !== undefined) {
      counts.total -= n;
      counts.byConsumer.delete(name.toString('latin1'));
    }
    return n;
  }

  // ---- pending entries ----

  pending(ref: number, grp: Buffer, id: StreamId): PendingRow | null {
    const r = this.#s.pelGet!.get(ref, grp, encodeId(id)) as RawPending | undefined;
    return r === undefined ? null : pending(r);
  }

  putPending(ref: number, grp: Buffer, id: StreamId, consumer: Buffer, deliveryMs: bigint | number, deliveryCount: bigint | number): void {
    this.#write('stream pel write');
    const counts = this.#loadedCounts(ref, grp);
    const at = encodeId(id);
    if (counts === undefined) {
      this.#s.pelPut!.run(ref, grp, at, consumer, deliveryMs, deliveryCount);
      return;
    }
    // While the group's counts are kept: a new entry (a delivery) is one statement still;
    // an entry pending already (a re-read, a claim) is read first, for whose it was.
    if (this.#s.pelInsert!.run(ref, grp, at, consumer, deliveryMs, deliveryCount).changes === 0) {
      const before = this.#s.pelGet!.get(ref, grp, at) as RawPending;
      this.#s.pelUpdate!.run(consumer, deliveryMs, deliveryCount, ref, grp, at);
      add(counts, before.consumer.toString('latin1'), -1);
    }
    add(counts, consumer.toString('latin1'), 1);
  }

  ack(ref: number, grp: Buffer, id: StreamId): boolean {
    this.#write('stream pel write');
    const counts = this.#loadedCounts(ref, grp);
    if (counts === undefined) return this.#s.pelDel!.run(ref, grp, encodeId(id)).changes > 0;
    const owner = this.#s.pelDelOwner!.get(ref, grp, encodeId(id)) as Buffer | undefined;
    if (owner === undefined) return false;
    add(counts, owner.toString('latin1'), -1);
    return true;
  }

  /** PEL rows with start <= id <= end in ID order, of one consumer if given; limit 0 = all. */
  pendingRange(ref: number, grp: Buffer, start: StreamId, end: StreamId, limit: number, consumer: Buffer | null = null): PendingRow[] {
    const lim = limit > 0 ? limit : -1;
    const rows = consumer === null
      ? this.#s.pelRange!.all(ref, grp, encodeId(start), encodeId(end), lim)
      : this.#s.pelRangeOf!.all(ref, grp, consumer, encodeId(start), encodeId(end), lim);
    return (rows as RawPending[]).map(pending);
  }

  /** Iterate PEL rows from `start` in ID order (lazily: callers stop early). */
  *pendingFrom(ref: number, grp: Buffer, start: StreamId, consumer: Buffer | null = null): Generator<PendingRow> {
    let from = start;
    for (;;) {
      const page = this.pendingRange(ref, grp, from, { ms: 0xffffffffffffffffn, seq: 0xffffffffffffffffn }, 64, consumer);
      for (const row of page) yield row;
      if (page.length < 64) return;
      const last = page[page.length - 1]!.id;
      if (last.seq === 0xffffffffffffffffn && last.ms === 0xffffffffffffffffn) return;
      from = last.seq === 0xffffffffffffffffn ? { ms: last.ms + 1n, seq: 0n } : { ms: last.ms, seq: last.seq + 1n };
    }
  }

  pendingCount(ref: number, grp: Buffer, consumer: Buffer | null = null): number {
    const counts = this.#countsOf(ref, grp);
    return consumer === null ? counts.total : (counts.byConsumer.get(consumer.toString('latin1')) ?? 0);
  }

  /** XPENDING summary: first and last pending IDs and the count per consumer (name order, bytewise). */
  pendingSummary(ref: number, grp: Buffer): { first: StreamId; last: StreamId; consumers: Array<{ name: Buffer; count: number }> } | null {
    const first = this.#s.pelFirst!.get(ref, grp) as Buffer | undefined;
    if (first === undefined) return null;
    const last = this.#s.pelLast!.get(ref, grp) as Buffer;
    const consumers = [...this.#countsOf(ref, grp).byConsumer]
      .filter(([, n]) => n > 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, count]) => ({ name: Buffer.from(name, 'latin1'), count }));
    return { first: decodeId(first), last: decodeId(last), consumers };
  }

  /** The group's pending counts, counted now if not kept yet. */
  #countsOf(ref: number, grp: Buffer): PendingCounts {
    const known = this.#loadedCounts(ref, grp);
    if (known !== undefined) return known;
    const counts: PendingCounts = { total: 0, byConsumer: new Map() };
    for (const r of this.#s.pelByConsumer!.all(ref, grp) as Array<{ consumer: Buffer; n: bigint }>) {
      counts.byConsumer.set(r.consumer.toString('latin1'), Number(r.n));
      counts.total += Number(r.n);
    }
    let groups = this.#pendingCounts.get(ref);
    if (groups === undefined) {
      groups = new Map();
      rememberBounded(this.#pendingCounts, ref, groups, PENDING_COUNT_STREAMS);
    }
    groups.set(grp.toString('latin1'), counts);
    return counts;
  }

  #loadedCounts(ref: number, grp: Buffer): PendingCounts | undefined {
    return this.#pendingCounts.get(ref)?.get(grp.toString('latin1'));
  }

  // ---- whole-stream operations (release, clone) ----

  releaseAll(ref: number): void {
    this.#groups.delete(ref);
    this.#pendingCounts.delete(ref);
    this.#s.relPel!.run(ref);
    this.#s.relConsumers!.run(ref);
    this.#s.relGroups!.run(ref);
  }

  cloneAll(from: number, to: number): void {
    this.#groups.delete(to);
    this.#pendingCounts.delete(to);
    this.#s.cloneGroups!.run(to, from);
    this.#s.cloneConsumers!.run(to, from);
    this.#s.clonePel!.run(to, from);
  }
}

function add(counts: PendingCounts, consumer: string, by: 1 | -1): void {
  counts.total += by;
  const n = (counts.byConsumer.get(consumer) ?? 0) + by;
  if (n === 0) counts.byConsumer.delete(consumer);
  else counts.byConsumer.set(consumer, n);
}
