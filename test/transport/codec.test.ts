// The wire codec round-trips every frame type with seeded random contents, is
// canonical (a frame that decodes re-encodes to the same bytes), and refuses
// malformed input with WireDecodeError: unknown versions and types, truncation,
// trailing bytes, non-canonical or oversized varints, bad ids, forged counts.

import test from 'ava';
import type { Message, NodeId } from '../../consensus/types.ts';
import { SNAPSHOT_CHUNK_OVERHEAD_BYTES_MAX, decodeFrame, encodeFrame, encodeMessage } from '../../src/replication/transport/codec.ts';
import { FRAME_TYPE, WIRE_VERSION, type Frame } from '../../src/replication/transport/frames.ts';
import { WireDecodeError, WireEncodeError } from '../../src/replication/transport/wire_errors.ts';
import { Prng } from '../support/prng.ts';
import { MESSAGE_TYPES, TRANSPORT_KINDS, genFrame, genMessage, genTransportFrame } from './wire_gen.ts';

const SEED = 0x5eed_c0de;
const ROUNDS_PER_TYPE = 300;

const decodeError = { instanceOf: WireDecodeError };
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

for (const type of MESSAGE_TYPES) {
  test(`message ${type} round-trips with random contents`, (t) => {
    const p = new Prng(SEED ^ FRAME_TYPE[type]);
    for (let i = 0; i < ROUNDS_PER_TYPE; i++) {
      const message = genMessage(p, type);
      const bytes = encodeMessage(message);
      t.is(bytes[0], WIRE_VERSION);
      t.is(bytes[1], FRAME_TYPE[type]);
      const back = decodeFrame(bytes);
      if (back.kind !== 'message') return t.fail(`decoded a ${back.kind}`);
      t.deepEqual(back.message, message);
      t.deepEqual(Object.keys(back.message).sort(), Object.keys(message).sort());
    }
  });
}

for (const kind of TRANSPORT_KINDS) {
  test(`transport frame ${kind} round-trips with random contents`, (t) => {
    const p = new Prng(SEED ^ FRAME_TYPE[kind]);
    for (let i = 0; i < ROUNDS_PER_TYPE; i++) {
      const frame = genTransportFrame(p, kind);
      const bytes = encodeFrame(frame);
      t.is(bytes[1], FRAME_TYPE[kind]);
      t.deepEqual(decodeFrame(bytes), frame);
      if (frame.kind === 'snapshotChunk') t.true(bytes.length <= frame.data.length + SNAPSHOT_CHUNK_OVERHEAD_BYTES_MAX);
    }
  });
}

test('a heartbeat is compact', (t) => {
  const hb: Message = { type: 'heartbeat', from: 'n1' as NodeId, to: 'n2' as NodeId, term: 7 as never, commit: 1000 as never, context: 3 };
  // version, type, two 3-byte ids, term, 2-byte commit, context.
  t.is(encodeMessage(hb).length, 2 + 3 + 3 + 1 + 2 + 1);
});

test('a known encoding stays stable (format version 1)', (t) => {
  const vote: Message = { type: 'preVote', from: 'a' as NodeId, to: 'b' as NodeId, term: 300 as never, lastIndex: 5 as never, lastTerm: 2 as never, transfer: true };
  t.deepEqual(encodeMessage(vote), hex('01 06 0161 0162 ac02 05 02 01'));
  const ack: Frame = { kind: 'snapshotAck', index: 9 as never, term: 1 as never, ackedBytes: 262144, status: 'done' };
  t.deepEqual(encodeFrame(ack), hex('01 21 09 01 808010 01'));
});

test('every strict prefix of a valid frame is refused as truncated', (t) => {
  const p = new Prng(SEED + 1);
  for (let i = 0; i < 200; i++) {
    const bytes = encodeFrame(genFrame(p));
    for (let n = 0; n < bytes.length; n++) t.throws(() => decodeFrame(bytes.subarray(0, n)), decodeError);
  }
});

test('trailing bytes are refused', (t) => {
  const p = new Prng(SEED + 2);
  for (let i = 0; i < 200; i++) {
    const bytes = encodeFrame(genFrame(p));
    const err = t.throws(() => decodeFrame(Buffer.concat([bytes, Buffer.from([p.int(256)])])), decodeError);
    t.regex(err.message, /trailing/);
  }
});

test('unknown versions and types are refused with a named error', (t) => {
  const good = encodeMessage(genMessage(new Prng(3), 'timeoutNow'));
  for (const version of [0, 2, 0x7f, 0xff]) {
    const err = t.throws(() => decodeFrame(Buffer.concat([Buffer.from([version]), good.subarray(1)])), decodeError);
    t.regex(err.message, /unknown wire version/);
  }
  for (const type of [0, 14, 31, 36, 0xff]) {
    const err = t.throws(() => decodeFrame(Buffer.concat([Buffer.from([WIRE_VERSION, type]), good.subarray(2)])), decodeError);
    t.regex(err.message, /unknown frame type/);
  }
  t.throws(() => decodeFrame(new Uint8Array(0)), decodeError);
});

test('malformed fields are refused', (t) => {
  const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
    ['non-canonical varint', '01 0a 0161 0162 8000', /non-canonical/],
    ['varint over 2^53', '01 0a 0161 0162 ffffffffffffff10', /2\^53/],
    ['varint over 8 bytes', '01 0a 0161 0162 8080808080808080 01', /longer than 8/],
    ['bool of 2', '01 07 0161 0162 01 02', /not 0 or 1/],
    ['empty node id', '01 0a 00 0162 01', /outside 1\.\.64/],
    ['node id of 65 bytes', `01 0a 41 ${'61'.repeat(65)} 0162 01`, /outside 1\.\.64/],
    ['invalid UTF-8 id', '01 0a 01ff 0162 01', /UTF-8/],
    ['forged entry count', '01 01 0161 0162 01 00 00 00 ffffffff0f', /cannot fit/],
    ['unknown entry type', '01 01 0161 0162 01 00 00 00 01 07 01 01 00', /unknown entry type/],
    ['chunk beyond total', '01 20 01 01 00 02 00 03 616263', /beyond totalBytes/],
    ['chunk last flag lies', '01 20 01 01 00 03 00 03 616263', /last=false/],
    ['empty chunk of a non-empty snapshot', '01 20 01 01 00 03 00 00', /empty chunk/],
    ['unknown ack status', '01 21 01 01 00 03', /unknown ack status/],
    ['forged argc', '01 22 0161 0000000000000000 00 00 ff7f', /cannot fit/],
  ];
  for (const [name, bytes, reason] of cases) {
    const err = t.throws(() => decodeFrame(hex(bytes)), decodeError, name);
    t.regex(err.message, reason, name);
  }
});

test('random and mutated bytes either decode canonically or throw WireDecodeError', (t) => {
  const p = new Prng(SEED + 4);
  let decoded = 0;
  for (let i = 0; i < 5000; i++) {
    let bytes: Buffer;
    if (i % 2 === 0) {
      bytes = Buffer.from(encodeFrame(genFrame(p)));
      for (let flips = p.range(1, 3); flips > 0; flips--) bytes[p.int(bytes.length)] = p.int(256);
    } else {
      bytes = Buffer.concat([Buffer.from([WIRE_VERSION, p.pick(Object.values(FRAME_TYPE))]), p.bytes(p.int(40))]);
    }
    let frame: Frame;
    try {
      frame = decodeFrame(bytes);
    } catch (e) {
      if (!(e instanceof WireDecodeError)) return t.fail(`threw ${String(e)} for ${bytes.toString('hex')}`);
      continue;
    }
    decoded++;
    t.deepEqual(encodeFrame(frame), bytes, `re-encoding of ${bytes.toString('hex')}`);
  }
  t.true(decoded > 100, `only ${decoded} inputs decoded; the property was barely exercised`);
});

test('values the format cannot carry are refused at encoding', (t) => {
  const base = genMessage(new Prng(5), 'heartbeat');
  if (base.type !== 'heartbeat') return t.fail();
  const bad: Message[] = [
    { ...base, term: 1.5 as never },
    { ...base, term: -1 as never },
    { ...base, commit: 2 ** 53 as never },
    { ...base, context: Number.NaN },
    { ...base, context: -1 },
    { ...base, from: 'x'.repeat(65) as NodeId },
    { ...base, to: '' as NodeId },
    { ...base, to: '\ud800' as NodeId },
  ];
  for (const m of bad) t.throws(() => encodeMessage(m), { instanceOf: WireEncodeError });
  t.throws(() => encodeFrame({ kind: 'forwardResponse', id: { node: 'a' as NodeId, seq: 1n << 64n }, reply: Buffer.alloc(0) }), { instanceOf: WireEncodeError });
  t.throws(() => encodeFrame({ kind: 'forwardResponse', id: { node: 'a' as NodeId, seq: -1n }, reply: Buffer.alloc(0) }), { instanceOf: WireEncodeError });
  t.throws(
    () => encodeFrame({ kind: 'snapshotChunk', index: 1 as never, term: 1 as never, offset: 0, totalBytes: 10, last: true, data: Buffer.alloc(3) }),
    { instanceOf: WireEncodeError },
  );
});

test('decoded byte fields are views into the input (no copy)', (t) => {
  const m: Message = {
    type: 'append', from: 'a' as NodeId, to: 'b' as NodeId, term: 1 as never, prevIndex: 0 as never, prevTerm: 0 as never, commit: 0 as never,
    entries: [{ term: 1 as never, index: 1 as never, type: 'normal', data: Buffer.from('hello') }],
  };
  const bytes = encodeMessage(m);
  const back = decodeFrame(bytes);
  if (back.kind !== 'message' || back.message.type !== 'append') return t.fail();
  t.is(back.message.entries[0]!.data.buffer, bytes.buffer);
});
