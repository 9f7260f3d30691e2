// The entry data codec round-trips every payload kind and refuses malformed bytes.

import test from 'ava';
import { EntryDecodeError, decodePayload, encodePayload, restampPayload, type EntryPayload } from '../../src/state/entry_codec.ts';

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
