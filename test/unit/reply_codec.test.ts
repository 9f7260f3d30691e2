// Forwarded replies survive the trip byte for byte, and malformed bytes are refused.

import test from 'ava';
import type { Reply } from '../../protocol/index.ts';
import { ReplyDecodeError, decodeReply, encodeReply } from '../../protocol/reply_codec.ts';

const samples: Reply[] = [
  { type: 'simple', value: 'OK' },
  { type: 'error', message: 'WRONGTYPE Operation against a key holding the wrong kind of value' },
  { type: 'integer', value: 42 },
  { type: 'integer', value: 9223372036854775807n },
  { type: 'bulk', value: Buffer.from([0, 255, 13, 10]) },
  { type: 'null' },
  { type: 'null-array' },
  { type: 'array', items: [{ type: 'bulk', value: Buffer.from('a') }, { type: 'null' }, { type: 'array', items: [] }] },
  { type: 'map', entries: [[{ type: 'bulk', value: Buffer.from('k') }, { type: 'double', value: 1.5 }]] },
  { type: 'set', items: [{ type: 'boolean', value: true }] },
  { type: 'verbatim', format: 'txt', value: Buffer.from('line\n') },
  { type: 'big-number', value: '123456789012345678901234567890' },
];

for (const [i, r] of samples.entries()) {
  test(`round trip ${i}: ${r.type}`, (t) => {
    t.deepEqual(decodeReply(encodeReply(r)), r);
  });
}

test('truncated, trailing and unknown bytes are refused', (t) => {
  const b = encodeReply({ type: 'array', items: [{ type: 'bulk', value: Buffer.from('abc') }] });
  t.throws(() => decodeReply(b.subarray(0, b.length - 1)), { instanceOf: ReplyDecodeError });
  t.throws(() => decodeReply(Buffer.concat([b, Buffer.from([0])])), { instanceOf: ReplyDecodeError });
  t.throws(() => decodeReply(Buffer.from([200])), { instanceOf: ReplyDecodeError });
});
