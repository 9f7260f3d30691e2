// The write-through row cache: its byte bound and eviction, absent keys, and a seeded
// random run in which a cached keyspace and an uncached one (cache size 0, every read a
// SELECT) get the same writes — with rolled-back transactions and flushes among them —
// and must read back the same rows, the rows SQLite itself holds.

import test from 'ava';
import { logIndex, term } from '../../consensus/index.ts';
import { Keyspace, StateDatabase, type KeyEntry } from '../../src/state/index.ts';
import { RowCache } from '../../src/state/row_cache.ts';
import { b } from './helpers.ts';
import { Rng } from '../sim/rng.ts';

const NOW = 1_000_000;

const row = (value: string, id = 1): KeyEntry => ({ type: 'string', value: b(value), expiresAtMs: null, id, modIndex: id });

test('get tells a cached row, a key known absent and an unknown key apart; dbs are separate', (t) => {
  const c = new RowCache(1 << 20);
  c.set(0, b('k'), row('v'));
  c.set(0, b('gone'), null);
  t.is(c.get(0, b('k'))?.value?.toString(), 'v');
  t.is(c.get(0, b('gone')), null);
  t.is(c.get(0, b('other')), undefined);
  t.is(c.get(1, b('k')), undefined);
  c.drop(0, b('k'));
  t.is(c.get(0, b('k')), undefined);
  c.clear();
  t.is(c.get(0, b('gone')), undefined);
  t.is(c.size, 0);
  t.is(c.bytes, 0);
});

test('binary keys that differ in any byte stay distinct', (t) => {
  const c = new RowCache(1 << 20);
  const keys = [b(''), b('\x00'), b('\x00\x00'), b('\xff'), b('a\x00b'), b('a\x00c'), Buffer.from('é')];
  keys.forEach((k, i) => c.set(0, k, row(String(i))));
  keys.forEach((k, i) => t.is(c.get(0, k)?.value?.toString(), String(i)));
});

test('the byte bound holds: oldest rows go first, down to 90 %', (t) => {
  const bound = 256 * 1024;
  const c = new RowCache(bound);
  for (let i = 0; i < 2000; i++) {
    c.set(0, b(`key:${i}`), row('x'.repeat(100), i));
    t.true(c.bytes <= bound, `after ${i + 1} rows: ${c.bytes} bytes`);
  }
  t.true(c.size > 100 && c.size < 2000);
  t.is(c.get(0, b('key:0')), undefined, 'the oldest row was evicted');
  t.truthy(c.get(0, b('key:1999')), 'the newest row stays');
});

test('size 0 caches nothing', (t) => {
  const c = new RowCache(0);
  c.set(0, b('k'), row('v'));
  t.is(c.get(0, b('k')), undefined);
});

test('a small value inside a large buffer is copied, so the cache does not pin the buffer', (t) => {
  const c = new RowCache(1 << 20);
  const big = Buffer.alloc(1 << 20, 7);
  c.set(0, b('k'), { ...row(''), value: big.subarray(10, 20) });
  const kept = c.get(0, b('k'))!.value!;
  t.deepEqual(kept, big.subarray(10, 20));
  t.true(kept.buffer.byteLength < big.length);
});

test('small values are held compactly and read back as equal, separate Buffers; large ones keep their Buffer', (t) => {
  const c = new RowCache(1 << 20);
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  c.set(0, b('all'), { ...row(''), value: bytes });
  const first = c.get(0, b('all'))!;
  const second = c.get(0, b('all'))!;
  t.deepEqual(first.value, bytes, 'every byte value round-trips');
  t.not(first.value, second.value, 'each read gets its own Buffer');
  t.deepEqual({ ...first, value: null }, { ...row(''), value: null }, 'the other fields are kept');
  const compactBytes = c.bytes;
  const large = Buffer.alloc(8000, 1);
  c.set(0, b('large'), { ...row(''), value: large });
  t.is(c.get(0, b('large'))!.value, large, 'a large value is the Buffer it was given');
  t.true(c.bytes - compactBytes > 8000 + (compactBytes - 256), 'a Buffer row is estimated with its own bookkeeping');
});

/** One replica: a state database and its keyspace, applying entries as the node does. */
class Replica {
  readonly state = StateDatabase.open(':memory:');
  readonly ks: Keyspace;
  index = 0;
  constructor(cacheBytes: number) {
    this.ks = new Keyspace(this.state, {}, cacheBytes);
  }
  apply(fn: (ks: Keyspace, index: number) => void, fail: boolean): void {
    const index = this.index + 1;
    try {
      this.state.transaction(() => {
        fn(this.ks, index);
        if (fail) throw new Error('rolled back on purpose');
        this.state.setApplied(logIndex(index), term(1));
      });
      this.index = index;
    } catch (e) {
      if (!fail) throw e;
    }
  }
  /** Every row as SQLite holds it, bypassing the cache. */
  rows(): unknown[] {
    return this.state.sqlite.prepare('SELECT db, key, type, value, expires_at, id, mod_index FROM keys ORDER BY db, key').all();
  }
}

for (const seed of [1, 2, 3, 42, 2026]) {
  test(`seed ${seed}: a cached keyspace reads exactly what an uncached one (and SQLite) holds`, (t) => {
    const rng = new Rng(seed);
    const r = (): number => rng.nextInt(1_000_000) / 1_000_000;
    const pick = <T>(xs: readonly T[]): T => rng.pick(xs);
    // A tiny bound on one cached replica, so eviction runs all the time too.
    const replicas = [new Replica(0), new Replica(256 * 1024), new Replica(2 * 1024)];
    const keys = Array.from({ length: 40 }, (_, i) => b(`k${i}`));
    for (let step = 0; step < 3000; step++) {
      const db = r() < 0.8 ? 0 : 1;
      const key = pick(keys);
      const other = pick(keys);
      const now = NOW + step;
      const op = Math.floor(r() * 9);
      const fail = r() < 0.05;
      // Small values are cached as latin1 strings (every byte value must survive), large ones as Buffers.
      const shape = r();
      const value = shape < 0.1 ? b(`${'L'.repeat(5000)}${step}`) : shape < 0.3 ? Buffer.from([0xff, 0x00, 0x80, step & 0xff, 0xe9]) : b(`v${step}`);
      const ttl = r() < 0.3 ? now + Math.floor(r() * 20) : null;
      for (const rep of replicas) {
        rep.apply((ks, index) => {
          switch (op) {
            case 0:
            case 1:
              ks.setString(db, key, value, ttl, now, logIndex(index));
              break;
            case 2:
              ks.delete(db, key, now, logIndex(index));
              break;
            case 3:
              ks.setExpiry(db, key, ttl, now, logIndex(index));
              break;
            case 4:
              ks.rename(db, key, other, 'replace', now, logIndex(index));
              break;
            case 5:
              ks.copy(db, key, 1 - db, other, true, now, logIndex(index));
              break;
            case 6:
              ks.move(db, key, 1 - db, now, logIndex(index));
              break;
            case 7:
              ks.deleteExpired(ks.expiredKeys(5, now), now, logIndex(index));
              break;
            case 8:
              if (step % 500 === 499) ks.flushDb(db, logIndex(index));
              else ks.touch(db, key, now, logIndex(index));
              break;
          }
        }, fail);
      }
      if (step % 50 !== 0) continue;
      const expected = replicas[0]!.rows();
      for (const rep of replicas.slice(1)) {
        t.deepEqual(rep.rows(), expected, `SQLite rows differ at step ${step}`);
        for (const k of keys) {
          for (const d of [0, 1]) {
            t.deepEqual(rep.ks.lookup(d, k, now), replicas[0]!.ks.lookup(d, k, now), `lookup ${d}/${k.toString()} at step ${step}`);
          }
        }
      }
    }
    for (const rep of replicas) rep.state.close();
  });
}
