// Appending and reading back: 1000 records of varied sizes and both types survive a
// reopen byte for byte, and an independent parse of the segment files finds every
// record's CRC valid and every entry in order.

import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import type { Entry, LogIndex } from '../../consensus/index.ts';
import { crc32c } from '../../src/replication/wal/crc32c.ts';
import { WalStorage } from '../../src/replication/wal/index.ts';
import { makeEntry, plain, prng, tempDir } from './wal_kit.ts';

/** Parses a segment as the format comment in record_codec.ts describes, independently of the code under test. */
function parseSegment(bytes: Buffer): { crcOk: boolean; kind: number; index: number | null }[] {
  const out: { crcOk: boolean; kind: number; index: number | null }[] = [];
  for (let off = 0; off + 8 <= bytes.length; ) {
    const crc = bytes.readUInt32LE(off);
    const len = bytes.readUInt32LE(off + 4);
    if (crc === 0 && len === 0) break;
    const kind = bytes[off + 8]!;
    const entry = kind === 1 || kind === 2;
    out.push({ crcOk: crc32c(bytes, off + 4, off + 8 + len) === crc, kind, index: entry ? bytes.readUInt32LE(off + 17) : null });
    off += 8 + Math.ceil(len / 8) * 8;
  }
  return out;
}

test('1000 records read back identically after reopen, every on-disk CRC valid', (t) => {
  const tmp = tempDir('roundtrip');
  t.teardown(tmp.done);
  const rnd = prng(7);
  const written: Entry[] = [];
  const options = { segmentBytes: 64 << 10, preallocateBytes: 16 << 10 };
  const wal = WalStorage.open(tmp.dir, options);
  while (written.length < 1000) {
    const batch: Entry[] = [];
    for (let k = rnd.int(1, 40); k > 0 && written.length + batch.length < 1000; k--) {
      const index = written.length + batch.length + 1;
      batch.push(makeEntry(index, 1 + Math.floor(index / 100), rnd.pick([0, 1, 7, 8, 9, 100, 1000, 5000]), rnd.next() < 0.1 ? 'config' : 'normal'));
    }
    wal.persist({ entries: batch });
    written.push(...batch);
  }
  t.deepEqual(plain(wal.entries(1 as LogIndex, 1001 as LogIndex, Infinity)), plain(written));
  t.true(wal.segmentSeqs().length > 3, 'several segments were used');
  wal.close();

  const again = WalStorage.open(tmp.dir, { ...options, cacheEntriesMax: 1 });
  t.teardown(() => again.close());
  t.is<number, number>(again.firstIndex(), 1);
  t.is<number, number>(again.lastIndex(), 1000);
  t.deepEqual(plain(again.entries(1 as LogIndex, 1001 as LogIndex, Infinity)), plain(written));
  for (let i = 1; i <= 1000; i += 37) t.is<number | undefined, number | undefined>(again.term(i as LogIndex), written[i - 1]!.term);

  const logDir = path.join(tmp.dir, 'log');
  const indexes: number[] = [];
  for (const name of fs.readdirSync(logDir).sort()) {
    for (const r of parseSegment(fs.readFileSync(path.join(logDir, name)))) {
      t.true(r.crcOk, `${name}: record of kind ${r.kind}`);
      if (r.index !== null) indexes.push(r.index);
    }
  }
  t.deepEqual(indexes, Array.from({ length: 1000 }, (_, i) => i + 1));
});

test('entries() honours maxBytes but always returns at least one entry', (t) => {
  const tmp = tempDir('maxbytes');
  t.teardown(tmp.done);
  const wal = WalStorage.open(tmp.dir, { fsync: 'none', cacheEntriesMax: 1 });
  t.teardown(() => wal.close());
  wal.persist({ entries: Array.from({ length: 10 }, (_, k) => makeEntry(k + 1, 1, 100)) });
  t.is(wal.entries(1 as LogIndex, 11 as LogIndex, 0).length, 1);
  t.is(wal.entries(1 as LogIndex, 11 as LogIndex, 124).length, 1);
  t.is(wal.entries(1 as LogIndex, 11 as LogIndex, 248).length, 2);
  t.is(wal.entries(3 as LogIndex, 11 as LogIndex, 1 << 20).length, 8);
  t.deepEqual(wal.entries(4 as LogIndex, 4 as LogIndex, 100), []);
  t.throws(() => wal.entries(0 as LogIndex, 2 as LogIndex, 100), { name: 'WalUsageError' });
  t.throws(() => wal.entries(1 as LogIndex, 12 as LogIndex, 100), { name: 'WalUsageError' });
});

test('a fresh directory starts empty, with term 0, no vote and an empty config at index 0', (t) => {
  const tmp = tempDir('fresh');
  t.teardown(tmp.done);
  const wal = WalStorage.open(tmp.dir);
  t.teardown(() => wal.close());
  t.deepEqual(wal.initialState(), {
    hardState: { term: 0, vote: null, commit: 0 },
    snapshot: { index: 0, term: 0, config: { voters: [], learners: [] } },
  });
  t.is<number, number>(wal.firstIndex(), 1);
  t.is<number, number>(wal.lastIndex(), 0);
  t.is<number | undefined, number | undefined>(wal.term(0 as LogIndex), 0);
  t.is<number | undefined, number | undefined>(wal.term(1 as LogIndex), undefined);
});

test('misuse is refused before anything is written', (t) => {
  const tmp = tempDir('misuse');
  t.teardown(tmp.done);
  const wal = WalStorage.open(tmp.dir, { fsync: 'none', recordBytesMax: 8192 });
  t.teardown(() => wal.close());
  wal.persist({ entries: [makeEntry(1, 1, 10), makeEntry(2, 1, 10)] });
  t.throws(() => wal.persist({ entries: [makeEntry(4, 1, 10)] }), { name: 'WalUsageError', message: /gap/ });
  t.throws(() => wal.persist({ entries: [makeEntry(3, 1, 10), makeEntry(5, 1, 10)] }), { name: 'WalUsageError', message: /contiguous/ });
  t.throws(() => wal.persist({ entries: [makeEntry(3, 1, 9000)] }), { name: 'WalUsageError', message: /more than/ });
  t.throws(() => wal.compact({ index: 5 as LogIndex, term: 1, config: { voters: [], learners: [] } } as never), { name: 'WalUsageError' });
  const longVote = 'x'.repeat(70_000) as never;
  t.throws(() => wal.persist({ entries: [makeEntry(3, 1, 10)], hardState: { term: 1, vote: longVote, commit: 0 } as never }), { name: 'WalUsageError', message: /hard state/ });
  t.is<number, number>(wal.lastIndex(), 2);
  wal.persist({ entries: [makeEntry(3, 1, 10)] });
  t.is<number, number>(wal.lastIndex(), 3, 'still usable after refusals');
  wal.close();
  t.throws(() => wal.lastIndex(), { name: 'WalClosedError' });
});

test('releaseCached: released entries are read back from disk, the rest stay cached, appends go on', (t) => {
  const tmp = tempDir('release');
  t.teardown(tmp.done);
  const wal = WalStorage.open(tmp.dir, { fsync: 'none' });
  t.teardown(() => wal.close());
  const written = Array.from({ length: 10 }, (_, k) => makeEntry(k + 1, 1, 100));
  wal.persist({ entries: written });
  t.is(wal.entries(1 as LogIndex, 11 as LogIndex, 1 << 20)[0], written[0], 'before: served from the cache (the same objects)');
  wal.releaseCached(6);
  const back = wal.entries(1 as LogIndex, 11 as LogIndex, 1 << 20);
  t.deepEqual(plain(back), plain(written));
  for (let i = 0; i < 10; i++) {
    if (i < 6) t.not(back[i], written[i], `entry ${i + 1} came from disk`);
    else t.is(back[i], written[i], `entry ${i + 1} is still cached`);
  }
  wal.releaseCached(100); // past the last index: everything, and the cache still follows the log
  wal.persist({ entries: [makeEntry(11, 1, 100)] });
  t.deepEqual(plain(wal.entries(9 as LogIndex, 12 as LogIndex, 1 << 20)), plain([written[8]!, written[9]!, makeEntry(11, 1, 100)]));
});
