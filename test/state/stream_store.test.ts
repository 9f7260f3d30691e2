// Stream storage ops on an in-memory state: append/range/delete, exact and approximate
// trimming over the modelled nodes, groups/consumers/PEL, and the value hooks (DEL
// releases every row, COPY deep-copies, FLUSHALL releases).

import test from 'ava';
import { createPrng } from '../../consensus/index.ts';
import { Keyspace, RECLAIM_ROWS, RELEASE_NOW_ROWS_MAX, StateDatabase, StreamStore, STREAM_TYPE, streamValueHooks, type StreamId } from '../../src/state/index.ts';
import { b, Fixture } from './helpers.ts';

const id = (ms: number, seq = 0): StreamId => ({ ms: BigInt(ms), seq: BigInt(seq) });
const MAX: StreamId = { ms: 2n ** 64n - 1n, seq: 2n ** 64n - 1n };

function setup(): { f: Fixture; store: StreamStore; ks: Keyspace; make: (key: string, n: number) => number } {
  const state = StateDatabase.open(':memory:');
  const f = new Fixture(state);
  const ks = new Keyspace(state, streamValueHooks(state));
  const store = StreamStore.of(state);
  const make = (key: string, n: number): number =>
    f.apply((index) => {
      const ref = store.create();
      ks.setValue(0, b(key), STREAM_TYPE, StreamStore.refValue(ref), null, 0, index);
      for (let i = 1; i <= n; i++) store.append(ref, id(i), [b('f'), b(String(i))]);
      return ref;
    });
  return { f, store, ks, make };
}

const rows = (state: StateDatabase, table: string): number => Number(state.sqlite.prepare(`SELECT count(*) FROM ${table}`).pluck().get());

test('append, range (both directions, COUNT), delete and metadata', (t) => {
  const { f, store, make } = setup();
  const ref = make('s', 5);
  t.deepEqual(store.range(ref, id(2), id(4), 0).map((e) => Number(e.id.ms)), [2, 3, 4]);
  t.deepEqual(store.range(ref, id(0), MAX, 2, true).map((e) => Number(e.id.ms)), [5, 4]);
  t.deepEqual(store.get(ref, id(3))?.map(String), ['f', '3']);
  t.true(f.apply(() => store.delete(ref, id(3))));
  t.false(f.apply(() => store.delete(ref, id(3))));
  const m = store.meta(ref);
  t.is(m.length, 4);
  t.is(m.entriesAdded, 5n);
  t.deepEqual(m.maxDeletedId, id(3));
  t.deepEqual(m.lastId, id(5));
  t.deepEqual(store.firstId(ref), id(1));
  f.close();
});

test('exact trimming removes single entries; approximate only whole 100-entry nodes', (t) => {
  const { f, store, make } = setup();
  const ref = make('s', 250);
  t.is(f.apply(() => store.trim(ref, { strategy: { kind: 'maxlen', maxlen: 180n }, approx: true, limit: 10_000 })), 0);
  t.is(f.apply(() => store.trim(ref, { strategy: { kind: 'maxlen', maxlen: 140n }, approx: true, limit: 10_000 })), 100);
  t.is(store.meta(ref).length, 150);
  t.is(f.apply(() => store.trim(ref, { strategy: { kind: 'maxlen', maxlen: 7n }, approx: false, limit: 0 })), 143);
  t.deepEqual(store.firstId(ref), id(244));
  t.is(f.apply(() => store.trim(ref, { strategy: { kind: 'minid', minid: id(248) }, approx: false, limit: 0 })), 4);
  t.is(store.meta(ref).length, 3);
  f.close();
});

test('groups, consumers and the PEL', (t) => {
  const { f, store, make } = setup();
  const ref = make('s', 3);
  const g = store.groups;
  f.apply(() => {
    g.put(ref, b('g'), id(0), null);
    g.seeConsumer(ref, b('g'), b('alice'), 10);
    g.putPending(ref, b('g'), id(1), b('alice'), 10, 1);
    g.putPending(ref, b('g'), id(2), b('alice'), 11, 1);
    g.seeConsumer(ref, b('g'), b('bob'), 12);
    g.putPending(ref, b('g'), id(3), b('bob'), 12, 1);
  });
  t.is(g.pendingCount(ref, b('g')), 3);
  t.is(g.pendingCount(ref, b('g'), b('alice')), 2);
  const sum = g.pendingSummary(ref, b('g'))!;
  t.deepEqual(sum.consumers.map((c) => [String(c.name), c.count]), [['alice', 2], ['bob', 1]]);
  t.deepEqual([...g.pendingFrom(ref, b('g'), id(2))].map((r) => Number(r.id.ms)), [2, 3]);
  t.true(f.apply(() => g.ack(ref, b('g'), id(1))));
  t.is(f.apply(() => g.deleteConsumer(ref, b('g'), b('alice'))), 1);
  t.deepEqual(g.consumers(ref, b('g')).map((c) => String(c.name)), ['bob']);
  t.true(f.apply(() => g.destroy(ref, b('g'))));
  t.is(rows(f.state, 'stream_pel'), 0);
  t.is(rows(f.state, 'stream_consumers'), 0);
  f.close();
});

test('pending counts asked for, then kept through random PEL writes and rollbacks, agree with the PEL (100 seeds)', (t) => {
  for (let seed = 1; seed <= 100; seed++) {
    const rng = createPrng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[rng.nextInt(xs.length)]!;
    const { f, store, make } = setup();
    const ref = make('s', 30);
    const g = store.groups;
    const groups = [b('g1'), b('g2')];
    // Consumer names compare bytewise in XPENDING's summary: 'b' < 'b\x00' < 'ba' < '\xff'.
    const consumers = [b('b'), Buffer.from([0x62, 0]), b('ba'), Buffer.from([0xff])];
    f.apply(() => groups.forEach((grp) => g.put(ref, grp, id(0), null)));
    const truth = (grp: Buffer): string[] =>
      (f.state.sqlite.prepare('SELECT consumer, count(*) AS n FROM stream_pel WHERE ref = ? AND grp = ? GROUP BY consumer ORDER BY consumer').all(ref, grp) as Array<{ consumer: Buffer; n: number }>)
        .map((r) => `${r.consumer.toString('hex')}:${r.n}`);
    for (let step = 0; step < 80; step++) {
      const grp = pick(groups);
      const op = rng.nextInt(8);
      const write = (): void => {
        const who = pick(consumers);
        if (op <= 2) {
          g.seeConsumer(ref, grp, who, step);
          g.putPending(ref, grp, id(1 + rng.nextInt(30)), who, step, 1);
        } else if (op <= 4) g.ack(ref, grp, id(1 + rng.nextInt(30)));
        else if (op === 5) g.deleteConsumer(ref, grp, who);
        else if (op === 6 && rng.nextInt(4) === 0) {
          g.destroy(ref, grp);
          g.put(ref, grp, id(0), null);
        }
      };
      if (rng.nextInt(6) === 0) t.throws(() => f.apply(() => (write(), (() => { throw new Error('rolled back'); })())));
      else f.apply(write);
      if (rng.nextInt(3) !== 0) continue; // counts are asked for now and then; kept in between
      for (const q of groups) {
        const want = truth(q);
        const summary = g.pendingSummary(ref, q) ?? { consumers: [] };
        const got = summary.consumers.map((c) => `${c.name.toString('hex')}:${c.count}`);
        const total = want.reduce((n, line) => n + Number(line.split(':')[1]), 0);
        const byConsumer = g.consumers(ref, q).filter((c) => c.pending > 0).map((c) => `${c.name.toString('hex')}:${c.pending}`);
        if (JSON.stringify(got) !== JSON.stringify(want) || g.pendingCount(ref, q) !== total || JSON.stringify(byConsumer) !== JSON.stringify(want)) {
          return t.fail(`seed ${seed} step ${step} op ${op}: summary ${JSON.stringify(got)}, total ${g.pendingCount(ref, q)}, consumers ${JSON.stringify(byConsumer)}; PEL ${JSON.stringify(want)}`);
        }
        for (const c of consumers) t.is(g.pendingCount(ref, q, c), Number(want.find((line) => line.startsWith(`${c.toString('hex')}:`))?.split(':')[1] ?? 0));
      }
    }
    f.close();
  }
});

test('the node count asked for, then kept through random appends, deletions, trims and rollbacks, agrees with the rows (100 seeds)', (t) => {
  for (let seed = 1; seed <= 100; seed++) {
    const rng = createPrng(seed);
    const { f, store, make } = setup();
    const ref = make('s', 1 + rng.nextInt(250));
    let next = 1000;
    const truth = (): number => Number(f.state.sqlite.prepare('SELECT count(DISTINCT node) FROM stream_entries WHERE ref = ?').pluck().get(ref));
    for (let step = 0; step < 60; step++) {
      const op = rng.nextInt(6);
      const write = (): void => {
        if (op <= 1) for (let n = 1 + rng.nextInt(150); n > 0; n--) store.append(ref, id(next++), [b('f'), b('v')]);
        else if (op === 2) {
          // A run of IDs, so that whole nodes get emptied too.
          const from = 1 + rng.nextInt(next);
          for (let n = 1 + rng.nextInt(160); n > 0; n--) store.delete(ref, id(from + n));
        }
        else if (op === 3) store.trim(ref, { strategy: { kind: 'maxlen', maxlen: BigInt(rng.nextInt(300)) }, approx: rng.nextInt(2) === 0, limit: 0 });
        else if (op === 4) store.trim(ref, { strategy: { kind: 'minid', minid: id(rng.nextInt(next)) }, approx: rng.nextInt(2) === 0, limit: 100 * rng.nextInt(3) });
      };
      if (rng.nextInt(6) === 0) t.throws(() => f.apply(() => (write(), (() => { throw new Error('rolled back'); })())));
      else f.apply(write);
      if (rng.nextInt(3) !== 0) continue; // asked for now and then; kept in between
      const want = truth();
      if (store.nodeCount(ref) !== want) return t.fail(`seed ${seed} step ${step} op ${op}: ${store.nodeCount(ref)} nodes, the rows have ${want}`);
    }
    f.close();
  }
  t.pass();
});

test('hooks: COPY deep-copies, DEL releases every row', (t) => {
  const { f, store, ks, make } = setup();
  const ref = make('s', 3);
  f.apply(() => {
    store.groups.put(ref, b('g'), id(1), 1n);
    store.groups.seeConsumer(ref, b('g'), b('c'), 1);
    store.groups.putPending(ref, b('g'), id(1), b('c'), 1, 1);
  });
  t.is(f.apply((i) => ks.copy(0, b('s'), 0, b('t'), false, 0, i)), 'copied');
  const copy = StreamStore.refOf(ks.lookup(0, b('t'), 0)!.value);
  t.not(copy, ref);
  f.apply(() => store.append(copy, id(9), [b('x'), b('y')]));
  t.is(store.meta(ref).length, 3);
  t.is(store.meta(copy).length, 4);
  t.is(store.groups.pendingCount(copy, b('g')), 1);
  t.true(f.apply((i) => ks.delete(0, b('s'), 0, i)));
  t.is(rows(f.state, 'streams'), 1);
  t.is(rows(f.state, 'stream_entries'), 4);
  f.close();
});

// Keyspace.flushDb/flushAll collect the rows before releasing them: better-sqlite3 refuses a
// write while a SELECT is being stepped.
test('hooks: FLUSHALL releases every stream row', (t) => {
  const { f, ks, make } = setup();
  make('s', 3);
  make('t', 2);
  f.apply((i) => ks.flushAll(i));
  for (const table of ['streams', 'stream_entries', 'stream_groups', 'stream_consumers', 'stream_pel']) t.is(rows(f.state, table), 0, table);
  f.close();
});

const STREAM_TABLES = ['streams', 'stream_entries', 'stream_groups', 'stream_consumers', 'stream_pel', 'stream_garbage'];

test('a large stream released (DEL) becomes garbage: reclaim removes its rows a bounded number at a time, its streams row last', (t) => {
  const { f, store, ks, make } = setup();
  const entries = RELEASE_NOW_ROWS_MAX + 1;
  const ref = make('big', entries);
  f.apply(() => {
    store.groups.put(ref, b('g'), id(0), null);
    store.groups.seeConsumer(ref, b('g'), b('c'), 1);
    for (let i = 1; i <= 50; i++) store.groups.putPending(ref, b('g'), id(i), b('c'), 1, 1);
  });
  t.true(f.apply((i) => ks.delete(0, b('big'), 0, i)));
  t.is(ks.lookup(0, b('big'), 0), null, 'the key is gone at once');
  t.is(store.garbageCount(), 1);
  t.is(rows(f.state, 'stream_entries'), entries, 'the rows are not deleted by the DEL itself');
  // A new stream meanwhile gets a fresh ref: the released one still has its streams row.
  const fresh = make('new', 1);
  t.not(fresh, ref);
  const before = rows(f.state, 'stream_entries') + rows(f.state, 'stream_pel');
  t.is(f.apply(() => store.reclaim(400)), 400);
  t.is(rows(f.state, 'stream_entries') + rows(f.state, 'stream_pel'), before - 400, 'one reclaim removes at most its bound');
  let steps = 1;
  while (store.garbageCount() > 0 && steps < 100) {
    f.apply(() => store.reclaim(400));
    steps++;
  }
  t.is(store.garbageCount(), 0);
  t.is(steps, Math.ceil((entries + 50) / 400) + (((entries + 50) % 400 === 0) ? 1 : 0));
  t.is(rows(f.state, 'stream_entries'), 1, "only the new stream's entry is left");
  t.is(rows(f.state, 'streams'), 1);
  for (const table of ['stream_groups', 'stream_consumers', 'stream_pel']) t.is(rows(f.state, table), 0, table);
  t.is(f.apply(() => store.reclaim(400)), 0, 'nothing left to reclaim');
  t.is(store.meta(fresh).length, 1);
  f.close();
});

test('a small stream with a large PEL is released lazily too; a small one with a small PEL at once', (t) => {
  const { f, store, ks, make } = setup();
  const small = make('small', 10);
  const pel = make('pel', 10);
  f.apply(() => {
    store.groups.put(pel, b('g'), id(0), null);
    store.groups.seeConsumer(pel, b('g'), b('c'), 1);
    for (let i = 1; i <= RELEASE_NOW_ROWS_MAX; i++) store.groups.putPending(pel, b('g'), id(i), b('c'), 1, 1);
  });
  f.apply((i) => ks.delete(0, b('small'), 0, i));
  t.is(store.garbageCount(), 0);
  t.is(Number(f.state.sqlite.prepare('SELECT count(*) FROM stream_entries WHERE ref = ?').pluck().get(small)), 0);
  f.apply((i) => ks.flushAll(i));
  t.is(store.garbageCount(), 1, 'FLUSHALL releases through the same path');
  while (store.garbageCount() > 0) f.apply(() => store.reclaim(RECLAIM_ROWS));
  for (const table of STREAM_TABLES) t.is(rows(f.state, table), 0, table);
  f.close();
});

test('a reclaim rolled back with its entry leaves the garbage as it was', (t) => {
  const { f, store, ks, make } = setup();
  make('big', RELEASE_NOW_ROWS_MAX + 10);
  f.apply((i) => ks.delete(0, b('big'), 0, i));
  const before = rows(f.state, 'stream_entries');
  t.throws(() => f.state.transaction(() => {
    store.reclaim(RECLAIM_ROWS);
    throw new Error('rolled back on purpose');
  }), { message: 'rolled back on purpose' });
  t.is(rows(f.state, 'stream_entries'), before);
  t.is(store.garbageCount(), 1);
  f.close();
});
