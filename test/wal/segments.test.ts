// Segment rollover and removal: a log larger than one segment spans several files;
// compaction deletes exactly the segments wholly below the snapshot and moves
// firstIndex; an installed snapshot that conflicts drops everything; leftovers of
// an interrupted deletion are recognised and removed on open.

import fs from 'node:fs';
import test from 'ava';
import type { LogIndex, SnapshotMeta, Term } from '../../consensus/index.ts';
import { WalStorage, type WalOptions } from '../../src/replication/wal/index.ts';
import { makeEntries, plain, rawRecords, segmentPaths, tempDir } from './wal_kit.ts';

const SMALL: WalOptions = { fsync: 'none', segmentBytes: 4096, preallocateBytes: 1024 };
const meta = (index: number, term: number): SnapshotMeta => ({ index: index as LogIndex, term: term as Term, config: { voters: [], learners: [] } });

test('rollover: every segment opens with its open record; older ones end with a seal within the size bound', (t) => {
  const tmp = tempDir('rollover');
  t.teardown(tmp.done);
  const wal = WalStorage.open(tmp.dir, SMALL);
  for (let b = 0; b < 20; b++) wal.persist({ entries: makeEntries(b * 10 + 1, 10, 1, 100) });
  const seqs = wal.segmentSeqs();
  wal.close();
  const files = segmentPaths(tmp.dir);
  t.is(files.length, seqs.length);
  t.true(files.length >= 6, `${files.length} segments`);
  for (const [i, f] of files.entries()) {
    const recs = rawRecords(f);
    t.is(recs[0]!.kind, 5, 'opens with an open record');
    const end = recs.at(-1)!.offset + recs.at(-1)!.bytes;
    if (i < files.length - 1) {
      t.is(recs.at(-1)!.kind, 6, 'older segments end with a seal');
      t.true(end <= 4096, `segment ${i} logical size ${end}`);
    }
  }
});

test('compaction removes only segments wholly below the snapshot; firstIndex and term move', (t) => {
  const tmp = tempDir('compact');
  t.teardown(tmp.done);
  const wal = WalStorage.open(tmp.dir, SMALL);
  for (let b = 0; b < 20; b++) wal.persist({ entries: makeEntries(b * 10 + 1, 10, 1 + Math.floor(b / 5), 100) });
  const before = wal.segmentSeqs();
  wal.compact(meta(5, 1));
  t.deepEqual(wal.segmentSeqs(), before, 'index 6 still lives in the first segment');
  wal.compact(meta(120, 3));
  const after = wal.segmentSeqs();
  t.true(after[0]! > before[0]!, `segments ${before.join(',')} → ${after.join(',')}`);
  t.is(after.at(-1), before.at(-1));
  t.is<number, number>(wal.firstIndex(), 121);
  t.is<number | undefined, number | undefined>(wal.term(120 as LogIndex), 3);
  t.is<number | undefined, number | undefined>(wal.term(119 as LogIndex), undefined);
  const expected = Array.from({ length: 8 }, (_, k) => makeEntries((12 + k) * 10 + 1, 10, 1 + Math.floor((12 + k) / 5), 100)).flat();
  t.deepEqual(plain(wal.entries(121 as LogIndex, 201 as LogIndex, Infinity)), plain(expected));
  t.is(segmentPaths(tmp.dir).length, after.length, 'the files are gone from disk');
  wal.close();
  const again = WalStorage.open(tmp.dir, SMALL);
  t.teardown(() => again.close());
  t.deepEqual(again.segmentSeqs(), after);
  t.is<number, number>(again.firstIndex(), 121);
  t.deepEqual(again.snapshot(), meta(120, 3));
  t.is<number, number>(again.lastIndex(), 200);
});

test('compacting everything keeps only the active segment, and the log continues', (t) => {
  const tmp = tempDir('compactall');
  t.teardown(tmp.done);
  const wal = WalStorage.open(tmp.dir, SMALL);
  for (let b = 0; b < 10; b++) wal.persist({ entries: makeEntries(b * 10 + 1, 10, 1, 100) });
  wal.compact(meta(100, 1));
  t.is(wal.segmentSeqs().length, 1);
  t.is<number, number>(wal.firstIndex(), 101);
  t.is<number, number>(wal.lastIndex(), 100);
  wal.persist({ entries: makeEntries(101, 3, 2, 10) });
  wal.close();
  const again = WalStorage.open(tmp.dir, SMALL);
  t.teardown(() => again.close());
  t.is<number, number>(again.firstIndex(), 101);
  t.is<number, number>(again.lastIndex(), 103);
  t.is<number | undefined, number | undefined>(again.term(100 as LogIndex), 1);
});

test('a conflicting installed snapshot discards the log; a matching one keeps the suffix', (t) => {
  const tmp = tempDir('install');
  t.teardown(tmp.done);
  const wal = WalStorage.open(tmp.dir, SMALL);
  t.teardown(() => wal.close());
  for (let b = 0; b < 10; b++) wal.persist({ entries: makeEntries(b * 10 + 1, 10, 2, 100) });
  wal.applySnapshot(meta(40, 2));
  t.is<number, number>(wal.firstIndex(), 41);
  t.is<number, number>(wal.lastIndex(), 100, 'matching: the suffix stays');
  wal.applySnapshot(meta(60, 3));
  t.is<number, number>(wal.firstIndex(), 61);
  t.is<number, number>(wal.lastIndex(), 60, 'conflicting: the log is gone');
  t.is(wal.segmentSeqs().length, 1);
  wal.applySnapshot(meta(500, 4));
  t.is<number, number>(wal.lastIndex(), 500, 'beyond the log');
  t.is<number | undefined, number | undefined>(wal.term(500 as LogIndex), 4);
  wal.persist({ entries: makeEntries(501, 2, 4, 10) });
  t.is<number, number>(wal.lastIndex(), 502);
});

test('segments left behind by an interrupted deletion (a gap in numbering) are removed on open', (t) => {
  const tmp = tempDir('leftover');
  t.teardown(tmp.done);
  const wal = WalStorage.open(tmp.dir, SMALL);
  for (let b = 0; b < 20; b++) wal.persist({ entries: makeEntries(b * 10 + 1, 10, 1, 100) });
  const files = segmentPaths(tmp.dir);
  const saved = fs.readFileSync(files[0]!);
  wal.compact(meta(150, 1));
  const kept = wal.segmentSeqs();
  t.true(kept[0]! > 2);
  wal.close();
  fs.writeFileSync(files[0]!, saved); // the unlink of segment 1 did not survive; 2.. did
  const again = WalStorage.open(tmp.dir, SMALL);
  t.teardown(() => again.close());
  t.deepEqual(again.segmentSeqs(), kept);
  t.false(fs.existsSync(files[0]!));
  t.is<number, number>(again.firstIndex(), 151);
  t.is<number, number>(again.lastIndex(), 200);
});

test('an oversized record gets a segment of its own', (t) => {
  const tmp = tempDir('oversized');
  t.teardown(tmp.done);
  const wal = WalStorage.open(tmp.dir, SMALL);
  wal.persist({ entries: makeEntries(1, 3, 1, 100) });
  wal.persist({ entries: makeEntries(4, 1, 1, 10_000) });
  wal.persist({ entries: makeEntries(5, 1, 1, 100) });
  wal.close();
  const again = WalStorage.open(tmp.dir, { ...SMALL, cacheEntriesMax: 1 });
  t.teardown(() => again.close());
  t.deepEqual(plain(again.entries(1 as LogIndex, 6 as LogIndex, Infinity)), plain([...makeEntries(1, 3, 1, 100), ...makeEntries(4, 1, 1, 10_000), ...makeEntries(5, 1, 1, 100)]));
});

test('replay from a later segment handles a snapshot that points into entries held by a deleted segment', (t) => {
  const tmp = tempDir('phantom');
  t.teardown(tmp.done);
  const wal = WalStorage.open(tmp.dir, SMALL);
  let i = 0;
  while (wal.segmentSeqs().length < 2) wal.persist({ entries: makeEntries(++i, 1, 1, 300) });
  const n = i - 1; // the last entry of segment 1
  wal.persist({ entries: makeEntries(i + 1, 3, 1, 300) });
  wal.compact(meta(n - 3, 1)); // written to segment 2 while n-2..n still live in segment 1
  t.is(wal.segmentSeqs()[0], 1);
  wal.persist({ entries: makeEntries(n - 2, 4, 2, 50) }); // a new leader overwrites from n-2, in segment 2
  wal.compact(meta(n - 1, 2)); // now nothing live remains in segment 1
  t.deepEqual(wal.segmentSeqs(), [2]);
  wal.close();
  const again = WalStorage.open(tmp.dir, SMALL);
  t.teardown(() => again.close());
  t.deepEqual(again.snapshot(), meta(n - 1, 2));
  t.is<number, number>(again.firstIndex(), n);
  t.is<number, number>(again.lastIndex(), n + 1);
  t.deepEqual(plain(again.entries(n as LogIndex, (n + 2) as LogIndex, Infinity)), plain(makeEntries(n - 2, 4, 2, 50).slice(2)));
});
