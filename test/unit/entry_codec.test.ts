// The entry data codec round-trips every payload kind and refuses malformed bytes.

import test from 'ava';
import { EntryDecodeError, decodePayload, encodeBatch, encodePayload, restampPayload, splitEntry, type EntryPayload } from '../../src/state/entry_codec.ts';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

test('commands with watches and a transaction round-trip', (t) => {
  const p: EntryPayload = {
    kind: 'commands',
    timeMs: 1_700_000_000_123,
    watches: [{ db: 3, key: b('w\x00\xff'), stamp: 42, existed: true }],
    transaction: true,
    commands: [
      { db: 0, args: [b('SET'), b('k'), Buffer.alloc(0)] },
      { db: 15, args: [b('GET'), b('\r\n')] },
    ],
  };
  t.deepEqual(decodePayload(encodePayload(p)), p);
});

test('expire and noop round-trip', (t) => {
  const p: EntryPayload = { kind: 'expire', timeMs: 5, keys: [{ db: 1, key: b('a') }, { db: 2, key: b('') }] };
  t.deepEqual(decodePayload(encodePayload(p)), p);
  t.deepEqual(decodePayload(encodePayload({ kind: 'noop' })), { kind: 'noop' });
});

test('reclaim round-trips; zero rows or a truncated one are refused', (t) => {
  const p: EntryPayload = { kind: 'reclaim', timeMs: 1_700_000_000_000, rows: 2000 };
  const bytes = encodePayload(p);
  t.deepEqual(decodePayload(bytes), p);
  t.throws(() => decodePayload(bytes.subarray(0, bytes.length - 1)), { instanceOf: EntryDecodeError });
  const zero = Buffer.from(bytes);
  zero.writeUInt32LE(0, 9);
  t.throws(() => decodePayload(zero), { instanceOf: EntryDecodeError, message: /0 rows/ });
  t.throws(() => encodePayload({ ...p, rows: 0 }), { instanceOf: RangeError });
});

test('malformed data throws a named error', (t) => {
  const good = encodePayload({ kind: 'commands', timeMs: 1, watches: [], transaction: false, commands: [{ db: 0, args: [b('PING')] }] });
  t.throws(() => decodePayload(good.subarray(0, good.length - 1)), { instanceOf: EntryDecodeError });
  t.throws(() => decodePayload(Buffer.concat([good, b('x')])), { instanceOf: EntryDecodeError });
  t.throws(() => decodePayload(b('\x09')), { instanceOf: EntryDecodeError });
});

test('a forwarded payload carries its origin and can be restamped by the leader', (t) => {
  const p: EntryPayload = {
    kind: 'commands',
    timeMs: 0,
    watches: [],
    transaction: false,
    commands: [{ db: 2, args: [b('INCR'), b('n')] }],
    origin: { node: 'n2', seq: 18446744073709551615n },
  };
  const stamped = restampPayload(encodePayload(p), 1234.5);
  t.deepEqual(decodePayload(stamped), { ...p, timeMs: 1234.5 });
  t.throws(() => restampPayload(Buffer.alloc(0), 1), { instanceOf: EntryDecodeError });
});

test('a batch holds payloads in order; one payload is proposed as itself', (t) => {
  const set = encodePayload({ kind: 'commands', timeMs: 7, watches: [], transaction: false, commands: [{ db: 0, args: [b('SET'), b('k'), b('v')] }] });
  const expire = encodePayload({ kind: 'expire', timeMs: 8, keys: [{ db: 0, key: b('k') }] });
  const reclaim = encodePayload({ kind: 'reclaim', timeMs: 9, rows: 10 });
  const batch = encodeBatch([set, expire, reclaim]);
  t.deepEqual(splitEntry(batch).map((p) => decodePayload(p)), [set, expire, reclaim].map((p) => decodePayload(p)));
  t.deepEqual(splitEntry(encodeBatch([set])), [set], 'not wrapped');
  t.deepEqual(splitEntry(Buffer.alloc(0)), [Buffer.alloc(0)], 'the no-op is one (empty) payload');
});

test('malformed batches are refused', (t) => {
  const set = encodePayload({ kind: 'commands', timeMs: 7, watches: [], transaction: false, commands: [{ db: 0, args: [b('PING')] }] });
  const batch = encodeBatch([set, set]);
  t.throws(() => splitEntry(batch.subarray(0, batch.length - 1)), { instanceOf: EntryDecodeError });
  t.throws(() => splitEntry(Buffer.concat([batch, b('x')])), { instanceOf: EntryDecodeError });
  const one = Buffer.from(batch);
  one.writeUInt32LE(1, 1);
  t.throws(() => splitEntry(one.subarray(0, 5 + 4 + set.length)), { instanceOf: EntryDecodeError, message: /batch of 1/ });
  t.throws(() => encodeBatch([]), { instanceOf: RangeError });
  t.throws(() => encodeBatch([set, batch]), { instanceOf: RangeError }, 'no batch inside a batch');
  t.throws(() => encodeBatch([set, Buffer.alloc(0)]), { instanceOf: RangeError }, 'no no-op inside a batch');
});
