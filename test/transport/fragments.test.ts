// Putting a frame back together from its pieces: in order it completes; a missing piece,
// a piece of another frame or a whole frame in between lose it (counted), and what
// follows is delivered normally. Pieces of different senders do not mix.

import test from 'ava';
import type { NodeId } from '../../consensus/types.ts';
import { envelopeHeader, fragmentPayload, parseEnvelope, type FragmentPosition } from '../../src/replication/transport/envelope.ts';
import { FRAGMENTED_FRAME_BYTES_MAX, Reassembler } from '../../src/replication/transport/fragments.ts';

const A = 'a' as NodeId;
const B = 'b' as NodeId;

function pieces(id: number, frame: Buffer, size: number): Array<{ at: FragmentPosition; bytes: Buffer }> {
  const out = [];
  for (let offset = 0; offset < frame.length; offset += size) out.push({ at: { id, total: frame.length, offset }, bytes: frame.subarray(offset, offset + size) });
  return out;
}

test('a piece round-trips through the envelope', (t) => {
  const payload = fragmentPayload(envelopeHeader(A), { id: 0xfffffffe, total: 10, offset: 4 }, Buffer.from('xyz'));
  t.deepEqual(parseEnvelope(payload), { from: A, frame: Buffer.from('xyz'), fragment: { id: 0xfffffffe, total: 10, offset: 4 }, batch: false });
  t.is(parseEnvelope(fragmentPayload(envelopeHeader(A), { id: 1, total: 5, offset: 4 }, Buffer.from('xy'))), null, 'a piece past the frame end');
  t.is(parseEnvelope(payload.subarray(0, 2 + 1 + 11)), null, 'a truncated piece header');
});

test('pieces in order make the frame; interleaved senders do not mix', (t) => {
  const r = new Reassembler();
  const fa = Buffer.from('the frame from a, in pieces');
  const fb = Buffer.from('and the one from b');
  const pa = pieces(1, fa, 5);
  const pb = pieces(1, fb, 4);
  const done: Uint8Array[] = [];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    for (const [from, p] of [[A, pa[i]], [B, pb[i]]] as const) {
      if (p === undefined) continue;
      const whole = r.piece(from, p.at, p.bytes);
      if (whole !== null) done.push(whole);
    }
  }
  t.deepEqual(done.map((d) => Buffer.from(d).toString()).sort(), [fa.toString(), fb.toString()].sort());
  t.is(r.lost, 0);
});

test('a missing piece, another frame, or a whole frame in between lose the frame; the next one completes', (t) => {
  const r = new Reassembler();
  const f = Buffer.from('0123456789abcdef');
  const p = pieces(7, f, 4);
  t.is(r.piece(A, p[0]!.at, p[0]!.bytes), null);
  t.is(r.piece(A, p[2]!.at, p[2]!.bytes), null, 'a gap');
  t.is(r.lost, 1);
  t.is(r.piece(A, p[3]!.at, p[3]!.bytes), null, 'a remnant of the lost frame starts nothing');
  r.piece(A, p[0]!.at, p[0]!.bytes);
  r.whole(A);
  t.is(r.lost, 2, 'a whole frame between pieces');
  const q = pieces(8, f, 4);
  r.piece(A, p[0]!.at, p[0]!.bytes);
  t.is(r.piece(A, q[0]!.at, q[0]!.bytes), null, 'the first piece of the next frame');
  t.is(r.lost, 3);
  let whole: Uint8Array | null = null;
  for (const x of q.slice(1)) whole = r.piece(A, x.at, x.bytes);
  t.deepEqual(Buffer.from(whole!), f);
});

test('a frame announced above the bound is not started', (t) => {
  const r = new Reassembler();
  t.is(r.piece(A, { id: 1, total: FRAGMENTED_FRAME_BYTES_MAX + 1, offset: 0 }, Buffer.alloc(10)), null);
  t.is(r.piece(A, { id: 1, total: FRAGMENTED_FRAME_BYTES_MAX + 1, offset: 10 }, Buffer.alloc(10)), null);
  t.is(r.lost, 0);
});
