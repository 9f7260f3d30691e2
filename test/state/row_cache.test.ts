// The write-back row cache: its byte bound and eviction, absent keys, its journal, and a
// seeded random run in which cached keyspaces and an uncached one (cache size 0, every
// read a SELECT, every write at once in SQLite) get the same writes — batched as the node
// batches them, with rolled-back entries, FLUSHDBs and commits at different moments among
// them — and must read back the same rows, and hold the same rows in SQLite once committed.

import test from 'ava';
import { logIndex, term } from '../../consensus/index.ts';
import { Keyspace, StateDatabase, stateDigest, type KeyEntry } from '../../src/state/index.ts';
import { RowCache } from '../../src/state/row_cache.ts';
import { b, tempDir } from './helpers.ts';
import { join } from 'node:path';
import { keysWithOverlay } from '../../src/state/key_overlay.ts';
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
  const fields = (e: KeyEntry): unknown[] => [e.type, e.expiresAtMs, e.id, e.modIndex];
  t.deepEqual(fields(first), fields(row('')), 'the other fields are kept');
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
  /** `writeBackBeforeCommit`: rows it writes to `keys` before each commit, as the node does (the rest go as the overlay). */
  readonly writeBackBeforeCommit: number;
  constructor(cacheBytes: number, writeBackBeforeCommit = 0) {
    this.ks = new Keyspace(this.state, {}, cacheBytes);
    this.writeBackBeforeCommit = writeBackBeforeCommit;
  }
  commit(): void {
    if (this.state.inTransaction) this.ks.rows.writeBackOldest(this.writeBackBeforeCommit);
    this.state.commitBatch();
  }
  /** As the node does: entries are savepoints inside one open batch, committed now and then. */
  apply(fn: (ks: Keyspace, index: number) => void, fail: boolean): void {
    const index = this.index + 1;
    this.state.beginBatch();
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
  /** Every row as the committed state holds it (`keys` with the overlay laid over it), bypassing the cache. */
  rows(): unknown[] {
    return keysWithOverlay(this.state.sqlite);
  }
}

function describe(e: KeyEntry | null): string {
  return e === null ? 'absent' : `${e.type} ${e.value?.toString('hex') ?? 'null'} exp=${e.expiresAtMs} id=${e.id} mod=${e.modIndex}`;
}

for (const seed of [1, 2, 3, 42, 2026]) {
  test(`seed ${seed}: a cached keyspace reads exactly what an uncached one (and SQLite) holds`, (t) => {
    const rng = new Rng(seed);
    const r = (): number => rng.nextInt(1_000_000) / 1_000_000;
    const pick = <T>(xs: readonly T[]): T => rng.pick(xs);
    // A tiny bound on one cached replica, so eviction runs all the time too.
    // Before a commit one writes all dirty rows to keys, another 5, the rest none: what is left goes as the overlay.
    const replicas = [new Replica(0), new Replica(256 * 1024, 1000), new Replica(2 * 1024), new Replica(16 * 1024), new Replica(1 << 20, 5)];
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
      // Each replica commits at its own moments: what SQLite holds may differ until then.
      for (const rep of replicas) if (r() < 0.05) rep.commit();
      if (step % 10 !== 0) continue;
      const atCommit = step % 50 === 0;
      if (atCommit) for (const rep of replicas) rep.commit();
      const expected = replicas[0]!.rows();
      for (const rep of replicas.slice(1)) {
        if (atCommit) t.deepEqual(rep.rows(), expected, `SQLite rows differ at step ${step}`);
        // One comparison per replica (t.deepEqual per key made the test slow), naming the first difference.
        const seen = keys.flatMap((k) => [0, 1].map((d) => `${d}/${k.toString()}: ${describe(rep.ks.lookup(d, k, now))}`));
        const want = keys.flatMap((k) => [0, 1].map((d) => `${d}/${k.toString()}: ${describe(replicas[0]!.ks.lookup(d, k, now))}`));
        t.is(seen.find((line, i) => line !== want[i]), undefined, `lookups differ at step ${step}`);
      }
    }
    for (const rep of replicas) rep.state.close();
  });
}

test('rows written back since they changed are not held until the next commit; one written again is listed again', (t) => {
  const c = new RowCache(4 << 20);
  const value = 'v'.repeat(1000);
  // A fill: each new row goes dirty, then is written back (and soon evicted) before any commit.
  for (let i = 0; i < 20_000; i++) {
    c.write(0, b(`k${i}`), row(value, i + 1));
    if (i % 10 === 9) c.takeDirty();
  }
  t.is(c.dirtyCount, 0);
  t.true(c.changedListed <= 2 * c.dirtyCount + 1024, `${c.changedListed} listed for ${c.dirtyCount} dirty rows`);
  // More small rows, each written back at once: the list is compacted while k19999 is clean...
  for (let i = 0; i < 1100; i++) {
    c.write(0, b(`s${i}`), row('x', 30_000 + i));
    c.takeDirty();
  }
  t.true(c.changedListed < 1100, 'compacted meanwhile');
  // ...and it is still cached (the same slot) when written again in the same round.
  t.not(c.get(0, b('k19999')), undefined);
  c.write(0, b('k19999'), row('again', 99_999));
  const listed: string[] = [];
  c.takeChanged((_db, name) => listed.push(name));
  t.deepEqual(listed, ['k19999'], 'the only dirty row');
  t.is(c.changedListed, 0);
});

test('a rolled-back transaction restores the cache: dirty rows, clean rows and a clear', (t) => {
  const c = new RowCache(1 << 20);
  c.set(0, b('clean'), row('c'));
  c.write(0, b('dirty'), row('d'));
  c.begin();
  c.write(0, b('clean'), row('c2'));
  c.write(0, b('new'), null);
  t.is(c.dirtyCount, 3);
  t.deepEqual(c.takeDirty().map((r) => r.key.toString()).sort(), ['clean', 'dirty', 'new']);
  c.clear();
  c.set(1, b('later'), row('l'));
  c.rollback();
  t.is(c.get(0, b('clean'))?.value?.toString(), 'c');
  t.is(c.get(0, b('dirty'))?.value?.toString(), 'd');
  t.is(c.get(0, b('new')), undefined);
  t.is(c.get(1, b('later')), undefined);
  t.deepEqual(c.takeDirty().map((r) => r.key.toString()), ['dirty'], 'only the row dirty before the transaction is dirty again');
  t.throws(() => c.rollback(), { message: /without begin/ });
});

test('dirty rows are never evicted; once they keep the cache over its bound they ask for a flush', (t) => {
  const bound = 64 * 1024;
  const c = new RowCache(bound);
  let i = 0;
  while (!c.overBudget) c.write(0, b(`key:${i++}`), row('x'.repeat(100), i));
  for (let j = 0; j < i; j++) t.truthy(c.get(0, b(`key:${j}`)), `dirty row ${j} is still there`);
  t.is(c.takeDirty().length, i);
  t.false(c.overBudget);
  t.throws(() => {
    c.write(0, b('d'), null);
    c.drop(0, b('d'));
  }, { message: /cannot be dropped/ });
});

test('takeDirty(n) gives the rows dirty longest first; a row created and deleted since SQLite saw it needs no statement', (t) => {
  const c = new RowCache(1 << 20);
  c.set(0, b('old'), row('o', 7)); // as SQLite holds it
  for (const k of ['a', 'b', 'old', 'c']) c.write(0, b(k), row(k, 7));
  c.write(0, b('a'), row('a2', 7)); // written again: it stays the oldest
  c.write(0, b('gone'), row('g'));
  c.write(0, b('gone'), null);
  const first = c.takeDirty(2);
  t.deepEqual(first.map((r) => r.key.toString()), ['a', 'b']);
  t.is(first[0]!.entry?.value?.toString(), 'a2');
  const rest = c.takeDirty();
  t.deepEqual(rest.map((r) => [r.key.toString(), r.persistedId]), [['old', 7], ['c', undefined], ['gone', undefined]]);
  c.write(0, b('c'), null);
  t.deepEqual(c.takeDirty().map((r) => [r.key.toString(), r.entry, r.persistedId]), [['c', null, 7]], 'after a flush SQLite holds c with its id');
});

test('dirty rows that keep the copies over their bound go to keys, those dirty longest first, a bounded number at a time', (t) => {
  const state = StateDatabase.open(':memory:');
  t.teardown(() => state.close());
  const ks = new Keyspace(state, {}, 256 * 1024);
  const n = 20_000;
  let maxDirty = 0;
  state.beginBatch();
  state.transaction(() => {
    for (let i = 0; i < n; i++) {
      ks.setString(0, b(`k${i}`), b('v'.repeat(100)), null, NOW, logIndex(1));
      maxDirty = Math.max(maxDirty, ks.rows.dirtyCount);
    }
    state.setApplied(logIndex(1), term(1));
  });
  const has = state.sqlite.prepare('SELECT count(*) FROM keys WHERE key = ?').pluck();
  t.true(maxDirty < 2000, `at most ${maxDirty} rows were dirty at once (the copies hold ~800 rows)`);
  t.is(has.get(b('k0')), 1, 'the oldest went to keys');
  t.is(has.get(b(`k${n - 1}`)), 0, 'the newest is still dirty');
  state.commitBatch();
  t.is(keysWithOverlay(state.sqlite).length, n);
});

test('a commit saves the dirty rows as the overlay, not in keys; opening the state lays it in', (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const path = join(temp.dir, 'state.db');
  const state = StateDatabase.open(path);
  const ks = new Keyspace(state);
  const entry = (index: number, fn: (i: ReturnType<typeof logIndex>) => void): void => {
    state.beginBatch();
    state.transaction(() => {
      fn(logIndex(index));
      state.setApplied(logIndex(index), term(1));
    });
    state.commitBatch();
  };
  entry(1, (i) => {
    ks.setString(0, b('old'), b('in keys'), null, NOW, i);
    ks.rows.flush();
  });
  entry(2, (i) => {
    for (let n = 0; n < 3000; n++) ks.setString(0, b(`k${n}`), b(`v${n}`), null, NOW, i);
    ks.setString(0, b('big'), Buffer.alloc(5000, 1), null, NOW, i); // held as a Buffer, not a string
  });
  entry(3, (i) => {
    ks.delete(0, b('old'), NOW, i);
    ks.setString(1, b('k1'), b('other db'), null, NOW, i);
  });
  const keysRows = state.sqlite.prepare('SELECT count(*) FROM keys').pluck();
  t.is(keysRows.get(), 1, 'only the row written back before is in keys');
  const committed = keysWithOverlay(state.sqlite);
  t.is(committed.length, 3002);
  state.close();
  const again = StateDatabase.open(path);
  t.teardown(() => again.close());
  const ks2 = new Keyspace(again);
  t.is(again.sqlite.prepare('SELECT count(*) FROM key_overlay').pluck().get(), 0, 'laid in and emptied');
  t.deepEqual(keysWithOverlay(again.sqlite), committed);
  t.is(ks2.lookup(0, b('k2999'), NOW)?.value?.toString(), 'v2999');
  t.is(ks2.lookup(0, b('big'), NOW)?.value?.length, 5000);
  t.is(ks2.lookup(0, b('old'), NOW), null, 'a deletion in the overlay removes the row from keys');
  t.is(ks2.lookup(1, b('k1'), NOW)?.value?.toString(), 'other db');
});

test('after a commit that left rows dirty, a flush outside any transaction (as loading the key counts does) writes them back on its own', (t) => {
  const state = StateDatabase.open(':memory:');
  t.teardown(() => state.close());
  const ks = new Keyspace(state);
  state.beginBatch();
  state.transaction(() => {
    for (let i = 0; i < 10; i++) ks.setString(0, b(`k${i}`), b('v'), null, NOW, logIndex(1));
    state.setApplied(logIndex(1), term(1));
  });
  state.commitBatch();
  t.false(state.inTransaction);
  t.is(ks.rows.dirtyCount, 10, 'saved as the overlay, still dirty');
  t.is(ks.dbSize(0, NOW), 10);
  ks.rows.flush();
  t.is(ks.rows.dirtyCount, 0);
  t.false(state.inTransaction, 'its transaction committed');
  t.is(state.sqlite.prepare('SELECT count(*) FROM keys').pluck().get(), 10);
  t.is(keysWithOverlay(state.sqlite).length, 10, 'the committed state agrees (the overlay names them as in keys)');
});

test('deadlines beyond 2^53 ms are stored, read back after reopening and digested exactly', (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const path = join(temp.dir, 'state.db');
  const max = 2n ** 63n - 1n;
  const state = StateDatabase.open(path);
  const ks = new Keyspace(state);
  state.beginBatch();
  state.transaction(() => {
    ks.setString(0, b('max'), b('v'), max, NOW, logIndex(1));
    ks.setString(0, b('just'), b('v'), 2n ** 53n + 1n, NOW, logIndex(1));
    ks.setString(0, b('safe'), b('v'), Number.MAX_SAFE_INTEGER, NOW, logIndex(1));
    ks.setString(0, b('later'), b('v'), null, NOW, logIndex(1));
    ks.setExpiry(0, b('later'), max - 1n, NOW, logIndex(1));
    state.setApplied(logIndex(1), term(1));
  });
  state.commitBatch();
  const expected = [['just', 2n ** 53n + 1n], ['later', max - 1n], ['max', max], ['safe', Number.MAX_SAFE_INTEGER]] as const;
  t.deepEqual(keysWithOverlay(state.sqlite).map((row) => row.expires_at), expected.map(([, d]) => d));
  const digest = stateDigest(state);
  state.close();
  const again = new Keyspace(StateDatabase.open(path));
  t.teardown(() => again.state.close());
  // A fresh row cache: each lookup reads SQLite.
  for (const [key, deadline] of expected) t.is(again.lookup(0, b(key), NOW)?.expiresAtMs, deadline, key);
  t.is(stateDigest(again.state), digest);
  t.is(again.state.sqlite.prepare('SELECT CAST(expires_at AS TEXT) FROM keys WHERE key = ?').pluck().get(b('max')), String(max), 'as int64 in SQLite');
});
