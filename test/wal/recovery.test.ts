// Recovery on open: a torn tail of the last segment is cut (whatever the crash left:
// a short file, garbage, a bad checksum), zeros past the logical end are not mistaken
// for damage, and damage before the tail refuses to open with WalCorruptionError
// naming the file and the offset of the first bad record.

import fs from 'node:fs';
import test from 'ava';
import type { LogIndex } from '../../consensus/index.ts';
import { WalCorruptionError, WalStorage, type WalOptions } from '../../src/replication/wal/index.ts';
import { flipByte, makeEntries, makeEntry, plain, rawRecords, segmentPaths, tempDir } from './wal_kit.ts';

const OPTIONS: WalOptions = { segmentBytes: 1 << 20, preallocateBytes: 64 << 10 };

/** A log of `batches` batches of 10 entries (index 1..10·batches) in `dir`, closed. */
function writeLog(dir: string, batches: number, options: WalOptions = OPTIONS): void {
  const wal = WalStorage.open(dir, options);
  for (let b = 0; b < batches; b++) wal.persist({ entries: makeEntries(b * 10 + 1, 10, 1, 100), hardState: { term: 1, vote: null, commit: b * 10 } as never });
  wal.close();
}

function lastEntryRecord(file: string): { offset: number; bytes: number } {
  const entries = rawRecords(file).filter((r) => r.kind === 1);
  return entries[entries.length - 1]!;
}

/** Opens, checks the log ends at `last` with intact entries, appends once more and reopens. */
function expectRecovered(t: import('ava').ExecutionContext, dir: string, last: number): void {
  const wal = WalStorage.open(dir, OPTIONS);
  t.is<number, number>(wal.lastIndex(), last);
  t.deepEqual(plain(wal.entries(1 as LogIndex, (last + 1) as LogIndex, Infinity)), plain(makeEntries(1, last, 1, 100)));
  wal.persist({ entries: [makeEntry(last + 1, 2, 33)] });
  wal.close();
  const again = WalStorage.open(dir, OPTIONS);
  t.is<number, number>(again.lastIndex(), last + 1);
  t.is<number | undefined, number | undefined>(again.term((last + 1) as LogIndex), 2);
  again.close();
}

test('a file cut in the middle of the last record is recovered without it', (t) => {
  const tmp = tempDir('cut');
  t.teardown(tmp.done);
  writeLog(tmp.dir, 5);
  const [file] = segmentPaths(tmp.dir);
  const rec = rawRecords(file!).at(-1)!; // the last hard state record
  const entry = lastEntryRecord(file!);
  fs.truncateSync(file!, entry.offset + 50);
  t.true(rec.offset > entry.offset);
  expectRecovered(t, tmp.dir, 49);
});

test('a torn tail of garbage followed by preallocated zeros is wiped', (t) => {
  const tmp = tempDir('garbage');
  t.teardown(tmp.done);
  writeLog(tmp.dir, 5);
  const [file] = segmentPaths(tmp.dir);
  const entry = lastEntryRecord(file!);
  const fd = fs.openSync(file!, 'r+');
  fs.writeSync(fd, Buffer.alloc(300, 0xab), 0, 300, entry.offset + 20); // half-written record, then junk
  fs.closeSync(fd);
  t.true(fs.statSync(file!).size > entry.offset + 1000, 'the junk sits inside the preallocated region');
  expectRecovered(t, tmp.dir, 49);
});

test('a bad checksum on the very last record is a torn tail, not corruption', (t) => {
  const tmp = tempDir('lastcrc');
  t.teardown(tmp.done);
  writeLog(tmp.dir, 5);
  const [file] = segmentPaths(tmp.dir);
  const last = rawRecords(file!).at(-1)!;
  flipByte(file!, last.offset + 12);
  expectRecovered(t, tmp.dir, 50);
});

test('a flipped byte in an earlier record refuses to open, naming file and offset', (t) => {
  const tmp = tempDir('flip');
  t.teardown(tmp.done);
  writeLog(tmp.dir, 5);
  const [file] = segmentPaths(tmp.dir);
  const victim = rawRecords(file!).filter((r) => r.kind === 1)[20]!;
  flipByte(file!, victim.offset + Math.floor(victim.bytes / 2));
  const err = t.throws(() => WalStorage.open(tmp.dir, OPTIONS), { instanceOf: WalCorruptionError });
  t.is(err?.path, file!);
  t.is(err?.offset, victim.offset);
  t.regex(err?.message ?? '', /checksum mismatch, followed by a valid record/);
});

test('a zeroed record followed by valid records is corruption, not the end of the log', (t) => {
  const tmp = tempDir('zeroed');
  t.teardown(tmp.done);
  writeLog(tmp.dir, 5);
  const [file] = segmentPaths(tmp.dir);
  const victim = rawRecords(file!).filter((r) => r.kind === 1)[30]!;
  const fd = fs.openSync(file!, 'r+');
  fs.writeSync(fd, Buffer.alloc(victim.bytes), 0, victim.bytes, victim.offset);
  fs.closeSync(fd);
  const err = t.throws(() => WalStorage.open(tmp.dir, OPTIONS), { instanceOf: WalCorruptionError });
  t.is(err?.offset, victim.offset);
});

test('damage to the last record of an older segment refuses to open', (t) => {
  const tmp = tempDir('older');
  t.teardown(tmp.done);
  const small = { segmentBytes: 4096, preallocateBytes: 1024 };
  writeLog(tmp.dir, 10, small);
  const files = segmentPaths(tmp.dir);
  t.true(files.length >= 3);
  const victim = lastEntryRecord(files[0]!);
  flipByte(files[0]!, victim.offset + 20);
  const err = t.throws(() => WalStorage.open(tmp.dir, small), { instanceOf: WalCorruptionError });
  t.is(err?.path, files[0]!);
  t.is(err?.offset, victim.offset);
});

test('an older segment cut short (no seal) refuses to open', (t) => {
  const tmp = tempDir('noseal');
  t.teardown(tmp.done);
  const small = { segmentBytes: 4096, preallocateBytes: 1024 };
  writeLog(tmp.dir, 10, small);
  const files = segmentPaths(tmp.dir);
  const seal = rawRecords(files[1]!).at(-1)!;
  t.is(seal.kind, 6);
  fs.truncateSync(files[1]!, seal.offset);
  t.throws(() => WalStorage.open(tmp.dir, small), { instanceOf: WalCorruptionError, message: /without a seal/ });
});

test('a missing segment in the middle refuses to open', (t) => {
  const tmp = tempDir('missing');
  t.teardown(tmp.done);
  const small = { segmentBytes: 4096, preallocateBytes: 1024 };
  writeLog(tmp.dir, 10, small);
  const files = segmentPaths(tmp.dir);
  fs.unlinkSync(files[1]!);
  t.throws(() => WalStorage.open(tmp.dir, small), { instanceOf: WalCorruptionError, message: /segment is missing/ });
});

test('zeros after the logical end of a preallocated segment are not corruption', (t) => {
  const tmp = tempDir('zeros');
  t.teardown(tmp.done);
  writeLog(tmp.dir, 3);
  const [file] = segmentPaths(tmp.dir);
  const records = rawRecords(file!);
  const end = records.at(-1)!.offset + records.at(-1)!.bytes;
  const size = fs.statSync(file!).size;
  t.true(size >= end + 1024, `file ${size} bytes, logical end ${end}`);
  for (let round = 0; round < 3; round++) {
    const wal = WalStorage.open(tmp.dir, OPTIONS);
    t.is<number, number>(wal.lastIndex(), 30 + round);
    wal.persist({ entries: [makeEntry(31 + round, 1, 100)] });
    wal.close();
  }
  t.is(fs.statSync(file!).size, size, 'appends went into the preallocated zeros');
});
