// Hard state and snapshot meta durability: the latest hard state wins after reopen,
// also when the segment that held it was deleted by compaction or a conflicting
// snapshot truncated the log; bootstrap writes the founding log once.

import test from 'ava';
import { bootstrapLog, type HardState, type LogIndex, type NodeId, type SnapshotMeta, type Term } from '../../consensus/index.ts';
import { WalStorage, type WalOptions } from '../../src/replication/wal/index.ts';
import { makeEntries, plain, tempDir } from './wal_kit.ts';

const SMALL: WalOptions = { segmentBytes: 4096, preallocateBytes: 1024 };
const hs = (term: number, vote: string | null, commit: number): HardState => ({ term: term as Term, vote: vote as NodeId | null, commit: commit as LogIndex });

test('the latest hard state survives reopen', (t) => {
  const tmp = tempDir('hs');
  t.teardown(tmp.done);
  const wal = WalStorage.open(tmp.dir, SMALL);
  wal.persist({ entries: [], hardState: hs(1, 'n1', 0) });
  wal.persist({ entries: makeEntries(1, 5, 1, 10), hardState: hs(1, 'n1', 3) });
  wal.persist({ entries: [], hardState: hs(2, null, 4) });
  wal.persist({ entries: [], hardState: hs(3, 'n2', 5) });
  wal.close();
  const again = WalStorage.open(tmp.dir, SMALL);
  t.deepEqual(again.initialState().hardState, hs(3, 'n2', 5));
  again.persist({ entries: [], hardState: hs(3, 'n2', 5) }); // unchanged: nothing written
  again.close();
  const third = WalStorage.open(tmp.dir, SMALL);
  t.teardown(() => third.close());
  t.deepEqual(third.initialState().hardState, hs(3, 'n2', 5));
});

test('hard state and snapshot meta survive compaction deleting the segments that held them', (t) => {
  const tmp = tempDir('hscompact');
  t.teardown(tmp.done);
  const wal = WalStorage.open(tmp.dir, SMALL);
  wal.persist({ entries: makeEntries(1, 5, 7, 100), hardState: hs(7, 'node-with-a-long-name-é', 5) });
  for (let b = 0; b < 20; b++) wal.persist({ entries: makeEntries(6 + b * 10, 10, 7, 100) });
  const snap: SnapshotMeta = { index: 200 as LogIndex, term: 7 as Term, config: { voters: ['a', 'b', 'c'] as NodeId[], learners: ['d'] as NodeId[] } };
  wal.compact(snap);
  t.is(wal.segmentSeqs().length, 1);
  wal.close();
  const again = WalStorage.open(tmp.dir, SMALL);
  t.teardown(() => again.close());
  t.deepEqual(again.initialState(), { hardState: hs(7, 'node-with-a-long-name-é', 5), snapshot: snap });
  t.is<number, number>(again.firstIndex(), 201);
  t.is<number, number>(again.lastIndex(), 205);
});

test('a vote recorded in the same batch as a truncating append survives reopen', (t) => {
  const tmp = tempDir('hstrunc');
  t.teardown(tmp.done);
  const wal = WalStorage.open(tmp.dir, SMALL);
  for (let b = 0; b < 10; b++) wal.persist({ entries: makeEntries(b * 10 + 1, 10, 1, 100), hardState: hs(1, 'a', b * 10) });
  wal.persist({ entries: makeEntries(3, 2, 5, 10), hardState: hs(5, 'b', 2) });
  wal.close();
  const again = WalStorage.open(tmp.dir, SMALL);
  t.teardown(() => again.close());
  t.deepEqual(again.initialState().hardState, hs(5, 'b', 2));
  t.is<number, number>(again.lastIndex(), 4);
  t.is<number | undefined, number | undefined>(again.term(4 as LogIndex), 5);
  t.is<number | undefined, number | undefined>(again.term(2 as LogIndex), 1);
});

test('bootstrap writes the founding log into a fresh directory and refuses a used one', (t) => {
  const tmp = tempDir('bootstrap');
  t.teardown(tmp.done);
  const voters = ['n3', 'n1', 'n2'] as NodeId[];
  const wal = WalStorage.bootstrap(tmp.dir, voters);
  const expected = bootstrapLog(voters);
  t.deepEqual(plain(wal.entries(1 as LogIndex, 4 as LogIndex, Infinity)), plain(expected.entries));
  t.deepEqual(wal.initialState().hardState, expected.hardState);
  wal.close();
  const again = WalStorage.open(tmp.dir);
  t.deepEqual(plain(again.entries(1 as LogIndex, 4 as LogIndex, Infinity)), plain(expected.entries));
  t.deepEqual(again.initialState().hardState, expected.hardState);
  again.close();
  t.throws(() => WalStorage.bootstrap(tmp.dir, voters), { name: 'WalUsageError' });
});

test('write() then syncAsync(): entries are readable at once and durable once it resolves, across segment rolls', async (t) => {
  const tmp = tempDir('async');
  t.teardown(tmp.done);
  const wal = WalStorage.open(tmp.dir, SMALL);
  for (let i = 0; i < 20; i++) {
    wal.write({ entries: makeEntries(1 + i * 10, 10, 1, 100), hardState: hs(1, 'n1', i * 10) });
    t.is(Number(wal.lastIndex()), 10 + i * 10, 'readable before the fsync');
    await wal.syncAsync();
  }
  t.true(wal.segmentSeqs().length > 1, 'the writes rolled segments');
  wal.close();
  const again = WalStorage.open(tmp.dir, SMALL);
  t.teardown(() => again.close());
  t.is(Number(again.lastIndex()), 200);
  t.deepEqual(again.initialState().hardState, hs(1, 'n1', 190));
  t.deepEqual(again.entries(195 as LogIndex, 201 as LogIndex, 1 << 20).map((e) => Number(e.index)), [195, 196, 197, 198, 199, 200]);
});
