// The transport envelope carries the sender's id in front of a frame; anything else on
// our subject is not ours and parses to null. Subject tokens refuse dots and wildcards.

import test from 'ava';
import type { NodeId } from '../../consensus/types.ts';
import { batchPayload, checkSubjectToken, envelopeHeader, parseEnvelope, splitBatch } from '../../src/replication/transport/envelope.ts';

test('an envelope round-trips the sender id and the frame bytes', (t) => {
  const header = envelopeHeader('nœud-1' as NodeId);
  t.deepEqual([...header.subarray(0, 2)], [1, Buffer.byteLength('nœud-1')]);
  const frame = Buffer.from([1, 3, 9, 9]);
  const parsed = parseEnvelope(Buffer.concat([header, frame]));
  t.is(parsed?.from as string | undefined, 'nœud-1');
  t.deepEqual(Buffer.from(parsed!.frame), frame);
  t.is(parsed?.fragment, null);
  t.is(parseEnvelope(header)?.frame.length, 0, 'an empty frame is still an envelope');
});

test('payloads that are not envelopes parse to null', (t) => {
  for (const bad of [[], [1], [1, 1], [4, 1, 0x61], [2, 1, 0x61], [1, 0, 0x61], [1, 65, ...Buffer.alloc(65, 0x61)], [1, 3, 0x61], [1, 1, 0xff, 0]]) {
    t.is(parseEnvelope(Uint8Array.from(bad)), null, JSON.stringify(bad));
  }
});

test('subject tokens', (t) => {
  t.notThrows(() => checkSubjectToken('id', 'n-1_ü'));
  for (const bad of ['', 'a.b', '*', 'a>', ' a', 'a\tb', 'x'.repeat(65), '\ud800']) t.throws(() => checkSubjectToken('id', bad), { instanceOf: RangeError }, bad);
});

test('a batch carries several frames in order; a malformed one splits to null', (t) => {
  const header = envelopeHeader('a' as NodeId);
  const frames = [Buffer.from([1, 2, 3]), Buffer.alloc(0), Buffer.from('xyz')];
  const payload = batchPayload(header, frames, 6);
  const parsed = parseEnvelope(payload);
  t.is(parsed?.from as string | undefined, 'a');
  t.true(parsed?.batch);
  t.deepEqual(splitBatch(parsed!.frame)?.map((f) => Buffer.from(f)), frames);
  t.is(splitBatch(parsed!.frame.subarray(0, parsed!.frame.length - 1)), null, 'truncated');
  t.is(splitBatch(Buffer.concat([parsed!.frame, Buffer.from([0])])), null, 'trailing bytes');
  t.is(splitBatch(Buffer.from([1, 0])), null, 'no room for the count');
  t.is(parseEnvelope(Buffer.concat([header, Buffer.from([1])]))?.batch, false);
});
