// CRC-32C against published vectors (the check value and RFC 3720 appendix B.4) and
// against a bit-at-a-time reference on random buffers, offsets and lengths.

import test from 'ava';
import { crc32c } from '../../src/replication/wal/crc32c.ts';
import { prng } from './wal_kit.ts';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

function reference(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

test('check value: crc32c("123456789") = 0xE3069283', (t) => {
  t.is(crc32c(ascii('123456789')), 0xe3069283);
});

test('RFC 3720 B.4 vectors', (t) => {
  t.is(crc32c(new Uint8Array(0)), 0);
  t.is(crc32c(new Uint8Array(32)), 0x8a9136aa);
  t.is(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  t.is(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  t.is(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
});

test('slice-by-8 equals the bitwise reference on random ranges', (t) => {
  const rnd = prng(42);
  const buf = Uint8Array.from({ length: 4096 }, () => rnd.int(0, 255));
  for (let k = 0; k < 300; k++) {
    const start = rnd.int(0, 100);
    const end = rnd.int(start, buf.length);
    t.is(crc32c(buf, start, end), reference(buf.subarray(start, end)), `range [${start}, ${end})`);
  }
});

test('a single flipped bit changes the checksum', (t) => {
  const data = ascii('raftis write-ahead log record payload');
  const before = crc32c(data);
  for (let bit = 0; bit < data.length * 8; bit += 7) {
    const copy = data.slice();
    copy[bit >> 3]! ^= 1 << (bit & 7);
    t.not(crc32c(copy), before);
  }
});
