// The key overlay's record encoding: what OverlayWriter writes, readOverlayChunk reads
// back exactly, for keys and values of any bytes and length (the short ones are written
// byte by byte, the long ones by Buffer.write), values given as latin1 text or as
// Buffers, null values, absent rows, 'keys' records, and rows that spill into new chunks.

import test from 'ava';
import { OverlayWriter, readOverlayChunk, type OverlayEntry } from '../../src/state/key_overlay.ts';
import { Rng } from '../sim/rng.ts';

interface Written {
  readonly db: number;
  readonly key: Buffer;
  readonly entry: OverlayEntry;
}

function bytes(rng: Rng, max: number): Buffer {
  // Lengths around the byte-by-byte limit (64) and well past it, some very long.
  const length = rng.chance(0.05) ? rng.int(0, 300_000) : rng.pick([0, 1, rng.int(2, 63), 64, 65, rng.int(66, max)]);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = rng.nextInt(256);
  return out;
}

test('every record written is read back as written, over 200 random seeds', (t) => {
  for (let seed = 1; seed <= 200; seed++) {
    const rng = new Rng(seed);
    const w = new OverlayWriter();
    const written: Written[] = [];
    for (let i = rng.int(0, 60); i > 0; i--) {
      const db = rng.int(0, 15);
      const key = bytes(rng, 600);
      const name = key.toString('latin1');
      const roll = rng.nextInt(4);
      if (roll === 0) {
        w.add(db, name, 'keys');
        written.push({ db, key, entry: 'keys' });
        continue;
      }
      if (roll === 1) {
        w.add(db, name, null);
        written.push({ db, key, entry: null });
        continue;
      }
      const value = rng.chance(0.1) ? null : bytes(rng, 2_000);
      const entry = {
        type: rng.pick(['string', 'stream', 'hash', 'tÿpe']),
        value,
        expiresAtMs: rng.chance(0.3) ? rng.int(0, 2 ** 40) : null,
        id: rng.int(1, 2 ** 50),
        modIndex: rng.int(0, 2 ** 50),
      };
      // The row cache hands small values over as latin1 text.
      const asText = value !== null && rng.chance(0.5);
      w.add(db, name, entry, asText ? value.toString('latin1') : null);
      written.push({ db, key, entry });
    }
    const read = w.finish().flatMap(readOverlayChunk);
    t.is(read.length, written.length, `seed ${seed}`);
    read.forEach((r, i) => {
      const want = written[i]!;
      t.is(r.db, want.db, `seed ${seed} record ${i}`);
      t.true(r.key.equals(want.key), `seed ${seed} record ${i} key`);
      if (want.entry === null || want.entry === 'keys') {
        t.is(r.entry, want.entry, `seed ${seed} record ${i}`);
        return;
      }
      const e = r.entry;
      if (e === null || e === 'keys') return t.fail(`seed ${seed} record ${i}: ${String(e)}`);
      t.deepEqual(
        { type: e.type, value: e.value === null ? null : Buffer.from(e.value).toString('hex'), expiresAtMs: e.expiresAtMs, id: e.id, modIndex: e.modIndex },
        { ...want.entry, value: want.entry.value === null ? null : want.entry.value.toString('hex') },
        `seed ${seed} record ${i}`,
      );
    });
  }
});

test('a record never splits across chunks; a record larger than a chunk gets one of its own', (t) => {
  const w = new OverlayWriter();
  const big = Buffer.alloc(3 * 1024 * 1024, 7);
  w.add(0, 'small', { type: 'string', value: Buffer.from('v'), expiresAtMs: null, id: 1, modIndex: 1 });
  w.add(0, 'big', { type: 'string', value: big, expiresAtMs: null, id: 2, modIndex: 2 });
  w.add(0, 'after', null);
  const chunks = w.finish();
  t.is(chunks.length, 3);
  t.deepEqual(
    chunks.map((c) => readOverlayChunk(c).map((r) => r.key.toString())),
    [['small'], ['big'], ['after']],
  );
});
