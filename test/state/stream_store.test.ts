// Stream storage ops on an in-memory state: append/range/delete, exact and approximate
// trimming over the modelled nodes, groups/consumers/PEL, and the value hooks (DEL
// releases every row, COPY deep-copies, FLUSHALL releases).

import test from 'ava';
import { Keyspace, StateDatabase, StreamStore, STREAM_TYPE, streamValueHooks, type StreamId } from '../../src/state/index.ts';
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
