// Iteration over many keys: SCAN (paging, filters, and its guarantee under concurrent
// writes), KEYS, RANDOMKEY, DBSIZE, INFO keyspace, and the expired-key sample.

import test from 'ava';
import { createPrng, logIndex } from '../../consensus/index.ts';
import { globMatch } from '../../src/state/index.ts';
import { Rng } from '../sim/rng.ts';
import { b, Fixture, s, strs } from './helpers.ts';

const NOW = 10_000;

function filled(names: readonly string[], db = 0): Fixture {
  const f = new Fixture();
  for (const name of names) f.apply((index) => f.ks.setString(db, b(name), b('v'), null, NOW, index));
  return f;
}

function scanAll(f: Fixture, count: number, nowMs = NOW): { keys: string[]; pages: number } {
  const keys: string[] = [];
  let cursor = 0;
  let pages = 0;
  do {
    const page = f.ks.scan(0, cursor, count, null, null, nowMs);
    keys.push(...strs(page.keys));
    cursor = page.cursor;
    pages++;
    if (pages > 10_000) throw new Error('scan does not terminate');
  } while (cursor !== 0);
  return { keys, pages };
}

test('scan pages through every key once, in id order, at most count per page', (t) => {
  const names = Array.from({ length: 25 }, (_, i) => `key:${i}`);
  const f = filled(names);
  const first = f.ks.scan(0, 0, 10, null, null, NOW);
  t.is(first.keys.length, 10);
  t.not(first.cursor, 0);
  const all = scanAll(f, 10);
  t.deepEqual(all.keys, names);
  t.is(all.pages, 3, 'no trailing empty page when the last page is full or short');
  t.deepEqual(scanAll(f, 25).pages, 1);
  t.deepEqual(f.ks.scan(0, 0, 10, null, null, NOW).keys.length, 10);
  t.deepEqual(f.ks.scan(5, 0, 10, null, null, NOW), { cursor: 0, keys: [] });
  t.deepEqual(f.ks.scan(0, Number.MAX_SAFE_INTEGER, 10, null, null, NOW), { cursor: 0, keys: [] }, 'a cursor past the end ends');
});

test('scan filters by pattern, type and liveness after examining count rows', (t) => {
  const f = filled(['user:1', 'user:2', 'post:1', '']);
  f.apply((index) => f.ks.setValue(0, b('user:3'), 'stream', null, null, NOW, index));
  f.apply((index) => f.ks.setString(0, b('user:4'), b('v'), NOW - 1, NOW - 5, index));
  const page = f.ks.scan(0, 0, 100, b('user:*'), null, NOW);
  t.deepEqual(strs(page.keys), ['user:1', 'user:2', 'user:3']);
  t.deepEqual(strs(f.ks.scan(0, 0, 100, b('user:*'), 'string', NOW).keys), ['user:1', 'user:2']);
  t.deepEqual(strs(f.ks.scan(0, 0, 100, b('*'), null, NOW).keys), ['user:1', 'user:2', 'post:1', '', 'user:3'], '"*" includes the empty key');
  t.deepEqual(strs(f.ks.scan(0, 0, 100, b('**'), null, NOW).keys), ['user:1', 'user:2', 'post:1', 'user:3'], 'other patterns match as Redis does');
  const small = f.ks.scan(0, 0, 2, b('post:*'), null, NOW);
  t.deepEqual(small.keys, [], 'COUNT bounds rows examined, so a page can be empty');
  t.not(small.cursor, 0);
});

for (const seed of [1, 2, 3, 42, 1234]) {
  test(`scan returns every key present throughout, despite concurrent writes (seed ${seed})`, (t) => {
    const rng = createPrng(seed);
    const f = new Fixture();
    const live = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const name = `k${rng.nextInt(400)}`;
      f.apply((index) => f.ks.setString(0, b(name), b('v'), null, NOW, index));
      live.add(name);
    }
    const touchedDuringScan = new Set<string>();
    const returned = new Set<string>();
    const startedWith = new Set(live);
    let cursor = 0;
    let fresh = 1000;
    do {
      const page = f.ks.scan(0, cursor, 1 + rng.nextInt(15), null, null, NOW);
      for (const key of strs(page.keys)) returned.add(key);
      cursor = page.cursor;
      for (let j = rng.nextInt(8); j > 0; j--) {
        const roll = rng.nextInt(4);
        const name = roll === 0 ? `k${fresh++}` : `k${rng.nextInt(400)}`;
        if (roll === 3 && live.has(name)) {
          f.apply((index) => f.ks.delete(0, b(name), NOW, index));
          live.delete(name);
          touchedDuringScan.add(name);
        } else if (roll === 2) {
          f.apply((index) => f.ks.rename(0, b(name), b(`k${rng.nextInt(400)}`), 'replace', NOW, index));
          touchedDuringScan.add(name);
        } else {
          f.apply((index) => f.ks.setString(0, b(name), b(`w${j}`), null, NOW, index)); // overwrite or create
          if (!startedWith.has(name)) touchedDuringScan.add(name);
          live.add(name);
        }
      }
    } while (cursor !== 0);
    const throughout = [...startedWith].filter((name) => !touchedDuringScan.has(name) && f.ks.exists(0, b(name), NOW));
    t.true(throughout.length > 50, 'the run keeps enough keys to check');
    for (const name of throughout) t.true(returned.has(name), `${name} was present throughout but not returned`);
  });
}

test('keys returns live matching keys; "*" includes the empty key', (t) => {
  const f = filled(['b', 'a', 'c', '']);
  f.apply((index) => f.ks.setString(0, b('x'), b('v'), NOW - 1, NOW - 5, index));
  const sorted = (keys: Buffer[]): string[] => strs(keys).sort();
  t.deepEqual(sorted(f.ks.keys(0, b('*'), NOW)), ['', 'a', 'b', 'c']);
  t.deepEqual(sorted(f.ks.keys(0, b('[ab]'), NOW)), ['a', 'b']);
  t.deepEqual(sorted(f.ks.keys(0, b('*'), NOW - 1)), ['', 'a', 'b', 'c', 'x'], 'x lives until its deadline');
  t.deepEqual(sorted(f.ks.keys(0, b('x*'), NOW - 1)), ['x'], 'a literal prefix reads its range');
  t.deepEqual(f.ks.keys(0, b('x*'), NOW), []);
  t.deepEqual(f.ks.keys(1, b('*'), NOW), []);
});

// KEYS reads SQLite's keys (a literal prefix's range, or all of them) and lays the rows
// in memory over them, writing nothing back. Its answer must be exactly the live keys that
// match, as EXISTS (one row at a time) sees them, whatever mix of rows is in memory, in
// SQLite, in both (older in SQLite), evicted, expired, or rolled back.
for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) {
  test(`keys without writing back is exactly the live matching keys, over random writes (seed ${seed})`, (t) => {
    const rng = new Rng(seed);
    // A small cache in half of the seeds: rows are evicted, and written back to make room.
    const f = new Fixture(undefined, seed % 2 === 0 ? 4096 : undefined);
    const names = ['', 'a', 'a:1', 'a:2', 'ab', 'ab:1', 'b', 'b:1', 'k1', 'k2', 'k10', '\xff', '\xff\xff', '\xffa', '*', 'a*b', '[x]'];
    for (let i = 0; i < 40; i++) names.push(`u:${i}`, `v:${i}`);
    const patterns = ['*', 'a*', 'a:*', 'ab*', 'b*', 'k?', 'k*0', '*1', '[ab]*', 'u:1*', 'v:*', '\xff*', '\xff\xff*', 'a', 'x*', '\\**', '\\[x]', '?', 'u:3?', '*:*'];
    let now = NOW;
    const checked = { keys: 0 };
    for (let step = 0; step < 400; step++) {
      const name = b(rng.pick(names));
      const roll = rng.nextInt(12);
      if (roll <= 3) {
        const deadline = rng.chance(0.3) ? now + rng.int(-20, 40) : null;
        f.apply((index) => f.ks.setString(0, name, b('v'), deadline, now, index));
      } else if (roll === 4) f.apply((index) => f.ks.delete(0, name, now, index));
      else if (roll === 5) {
        // Deleted and created again: a new id while SQLite may hold the old row.
        f.apply((index) => {
          f.ks.delete(0, name, now, index);
          f.ks.setString(0, name, b('again'), null, now, index);
        });
      } else if (roll === 6) f.apply((index) => f.ks.rename(0, name, b(rng.pick(names)), 'replace', now, index));
      else if (roll === 7) f.apply(() => f.ks.rows.writeBackOldest(rng.int(1, 30)));
      else if (roll === 8) {
        // An entry that fails: its writes are rolled back.
        t.throws(() =>
          f.state.transaction(() => {
            f.ks.setString(0, name, b('undone'), null, now, logIndex(f.index + 1));
            f.ks.delete(0, b(rng.pick(names)), now, logIndex(f.index + 1));
            throw new Error('rolled back');
          }),
        );
      } else if (roll === 9) {
        // A commit of the batch: dirty rows stay in memory (saved as the overlay).
        f.state.beginBatch();
        f.apply((index) => f.ks.setString(0, name, b('v'), null, now, index));
        f.state.commitBatch();
      } else if (roll === 10) now += rng.int(1, 10);
      else {
        const pattern = b(rng.pick(patterns));
        const got = strs(f.ks.keys(0, pattern, now)).sort();
        const want = names.filter((n) => f.ks.exists(0, b(n), now) && (n === '' ? pattern.equals(b('*')) : pattern.equals(b('*')) || globMatch(pattern, b(n)))).sort();
        t.deepEqual(got, [...new Set(want)], `step ${step}, pattern ${s(pattern)}`);
        checked.keys += got.length;
      }
    }
    t.true(checked.keys > 50, `enough keys returned to tell (${checked.keys})`);
  });
}

// SCAN without TYPE and RANDOMKEY read SQLite's rows from the id index alone, with a
// deadline only for rows past it (from the expiry index). With the row cache off or small,
// rows are only in SQLite: expired ones must still be skipped, live ones returned.
for (const cacheBytes of [0, 4096, undefined]) {
  test(`scan (with and without TYPE), keys and randomKey skip expired rows only SQLite holds (row cache ${cacheBytes ?? 'default'})`, (t) => {
    const rng = new Rng(cacheBytes ?? 99);
    const f = new Fixture(undefined, cacheBytes);
    for (let i = 0; i < 200; i++) {
      const deadline = rng.chance(0.5) ? NOW + rng.int(1, 100) : null;
      f.apply((index) => f.ks.setString(0, b(`k${i}`), b('v'), deadline, NOW, index));
    }
    f.apply(() => f.ks.rows.writeBackOldest(1000));
    for (const at of [NOW, NOW + 30, NOW + 70, NOW + 200]) {
      const live = Array.from({ length: 200 }, (_, i) => `k${i}`).filter((n) => f.ks.exists(0, b(n), at));
      for (const type of [null, 'string'] as const) {
        const seen: string[] = [];
        let cursor = 0;
        do {
          const page = f.ks.scan(0, cursor, 1 + rng.nextInt(30), null, type, at);
          seen.push(...strs(page.keys));
          cursor = page.cursor;
        } while (cursor !== 0);
        t.deepEqual(seen.sort(), [...live].sort(), `scan at ${at - NOW}, type ${type}`);
      }
      t.deepEqual(strs(f.ks.keys(0, b('k*'), at)).sort(), [...live].sort(), `keys at ${at - NOW}`);
      for (let k = 0; k < 50; k++) {
        const key = s(f.ks.randomKey(0, at, k / 50));
        if (live.length === 0) t.is(key, null);
        else t.true(key !== null && live.includes(key), `randomKey at ${at - NOW}: ${key}`);
      }
    }
  });
}

test('randomKey is deterministic in r, covers the keys, skips expired ones, and is null when empty', (t) => {
  const f = filled(['a', 'b', 'c', 'd']);
  t.is(f.ks.randomKey(1, NOW, 0.5), null);
  t.is(s(f.ks.randomKey(0, NOW, 0)), 'a');
  t.is(s(f.ks.randomKey(0, NOW, 0.999)), 'd');
  t.is(s(f.ks.randomKey(0, NOW, 0.3)), s(f.ks.randomKey(0, NOW, 0.3)));
  const seen = new Set<string | null>();
  for (let r = 0; r < 1; r += 0.05) seen.add(s(f.ks.randomKey(0, NOW, r)));
  t.deepEqual([...seen].sort(), ['a', 'b', 'c', 'd']);
  f.apply((index) => f.ks.setExpiry(0, b('d'), NOW, NOW - 1, index));
  t.is(s(f.ks.randomKey(0, NOW + 1, 0.999)), 'a', 'wraps around past an expired last key');
  for (const name of ['a', 'b', 'c']) f.apply((index) => f.ks.setExpiry(0, b(name), NOW, NOW - 1, index));
  t.is(f.ks.randomKey(0, NOW + 1, 0.2), null, 'all expired');
  t.throws(() => f.ks.randomKey(0, NOW, 1));
});

for (const seed of [7, 8, 9, 77, 2026]) {
  test(`scan without writing back: rows in SQLite and rows only in memory, pages of existing keys, each key present throughout once (seed ${seed})`, (t) => {
    const rng = createPrng(seed);
    const f = new Fixture();
    const put = (name: string): void => f.apply((index) => f.ks.setString(0, b(name), b('v'), null, NOW, index));
    for (let i = 0; i < 300; i++) {
      put(`k${rng.nextInt(500)}`);
      if (rng.nextInt(40) === 0) f.apply(() => f.ks.rows.writeBackOldest(1 + rng.nextInt(50))); // some rows in SQLite, some only in memory
    }
    f.ks.rows.flush();
    const startedWith = new Set(strs(f.ks.keys(0, b('*'), NOW)));
    // Every row is in SQLite now: make some only in memory again.
    for (let i = 0; i < 150; i++) put(`k${rng.nextInt(500)}`);
    const touched = new Set<string>();
    const seen = new Map<string, number>();
    let cursor = 0;
    let fresh = 1000;
    let pages = 0;
    do {
      const page = f.ks.scan(0, cursor, 1 + rng.nextInt(20), null, null, NOW);
      for (const key of strs(page.keys)) {
        seen.set(key, (seen.get(key) ?? 0) + 1);
        t.true(f.ks.exists(0, b(key), NOW), `${key} returned but gone (page ${pages})`);
      }
      cursor = page.cursor;
      pages++;
      for (let j = rng.nextInt(10); j > 0; j--) {
        const roll = rng.nextInt(6);
        const name = roll === 0 ? `k${fresh++}` : `k${rng.nextInt(500)}`;
        touched.add(name);
        if (roll === 1) f.apply((index) => f.ks.delete(0, b(name), NOW, index));
        else if (roll === 2) f.apply((index) => f.ks.rename(0, b(name), b(`k${rng.nextInt(500)}`), 'replace', NOW, index));
        else if (roll === 3) f.apply(() => f.ks.rows.writeBackOldest(1 + rng.nextInt(30)));
        else if (roll === 4 && rng.nextInt(3) === 0) {
          // Deleted and created again: a new id, while SQLite may still hold the old row.
          f.apply((index) => {
            f.ks.delete(0, b(name), NOW, index);
            f.ks.setString(0, b(name), b('again'), null, NOW, index);
          });
        } else put(name);
      }
    } while (cursor !== 0 && pages < 10_000);
    const throughout = [...startedWith].filter((name) => !touched.has(name) && f.ks.exists(0, b(name), NOW));
    t.true(throughout.length > 100, `the run keeps enough keys to check (${throughout.length})`);
    for (const name of throughout) t.is(seen.get(name), 1, `${name}, present throughout, returned ${seen.get(name) ?? 0} times`);
  });
}

test('randomKey without writing back: keys in SQLite and only in memory, never a deleted or expired one', (t) => {
  const f = new Fixture();
  for (let i = 0; i < 40; i++) f.apply((index) => f.ks.setString(0, b(`s${i}`), b('v'), null, NOW, index));
  f.apply(() => f.ks.rows.writeBackOldest(40)); // s0..s39 in SQLite
  for (let i = 0; i < 40; i++) f.apply((index) => f.ks.setString(0, b(`m${i}`), b('v'), null, NOW, index)); // only in memory
  // Gone in memory while SQLite still has them; one created again with a new id; one expired.
  f.apply((index) => { for (let i = 0; i < 20; i++) f.ks.delete(0, b(`s${i}`), NOW, index); });
  f.apply((index) => f.ks.setString(0, b('s5'), b('again'), null, NOW, index));
  f.apply((index) => f.ks.setString(0, b('m0'), b('v'), NOW + 5, NOW, index));
  const dirty = f.ks.rows.dirtyCount;
  const picked = new Set<string>();
  for (let k = 0; k < 400; k++) {
    const key = s(f.ks.randomKey(0, NOW + 10, k / 400)) ?? '(none)';
    t.true(f.ks.exists(0, b(key), NOW + 10), `${key} picked but not live`);
    picked.add(key);
  }
  t.is(f.ks.rows.dirtyCount, dirty, 'no row written back');
  t.true(picked.has('s5') && picked.has('s30') && picked.has('m20'), [...picked].join(' '));
  t.false(picked.has('m0'), 'the expired key');
  f.apply((index) => f.ks.flushDb(0, index));
  t.is(f.ks.randomKey(0, NOW, 0.5), null);
});

test('dbSize and keyspaceInfo count live keys and keys with deadlines per db', (t) => {
  const f = filled(['a', 'b']);
  f.apply((index) => f.ks.setString(0, b('t'), b('v'), NOW + 1000, NOW, index));
  f.apply((index) => f.ks.setString(0, b('gone'), b('v'), NOW - 1, NOW - 5, index));
  f.apply((index) => f.ks.setString(2, b('z'), b('v'), NOW + 3000, NOW, index));
  t.is(f.ks.dbSize(0, NOW), 3);
  t.deepEqual(f.ks.keyspaceInfo(NOW), [
    { db: 0, keys: 3, expires: 1, avgTtlMs: 1000 },
    { db: 2, keys: 1, expires: 1, avgTtlMs: 3000 },
  ]);
});

/** DBSIZE and INFO keyspace's figures for `db` from SQLite, once every row is written back (so: after the answers under test). */
function keyspaceTruth(f: Fixture, db: number, now: number): { keys: number; expires: number; avgTtlMs: number } {
  f.ks.rows.flush();
  const live = f.state.sqlite
    .prepare('SELECT CAST(expires_at AS TEXT) FROM keys WHERE db = ? AND (expires_at IS NULL OR expires_at >= ?)')
    .pluck()
    .all(db, now) as Array<string | null>;
  const deadlines = live.filter((at) => at !== null).map((at) => BigInt(at));
  const ttl = deadlines.reduce((sum, at) => sum + at - BigInt(now), 0n);
  return { keys: live.length, expires: deadlines.length, avgTtlMs: deadlines.length === 0 ? 0 : Number(ttl / BigInt(deadlines.length)) };
}

test('dbSize and keyspaceInfo agree with SQLite after random writes, rollbacks, flushes and clock moves (200 seeds)', (t) => {
  for (let seed = 1; seed <= 200; seed++) {
    const rng = createPrng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[rng.nextInt(xs.length)]!;
    const f = new Fixture();
    const keys = ['a', 'b', 'c', 'd'].map(b);
    let now = NOW;
    const deadline = (): number | bigint | null => pick([null, null, now + 1 + rng.nextInt(300), now - 1 - rng.nextInt(50), 2n ** 60n + BigInt(rng.nextInt(9))]);
    for (let step = 0; step < 60; step++) {
      const db = rng.nextInt(2);
      const key = pick(keys);
      const op = rng.nextInt(11);
      const write = (index: ReturnType<typeof logIndex>): void => {
        switch (op) {
          case 0: case 1: f.ks.setString(db, key, b('v'), deadline(), now, index); break;
          case 2: f.ks.setString(db, key, b('w'), 'keep', now, index); break;
          case 3: if (f.ks.lookup(db, key, now)) f.ks.setExpiry(db, key, deadline(), now, index); break;
          case 4: f.ks.delete(db, key, now, index); break;
          case 5: f.ks.rename(db, key, pick(keys), 'replace', now, index); break;
          case 6: f.ks.copy(db, key, 1 - db, pick(keys), rng.nextInt(2) === 0, now, index); break;
          case 7: f.ks.move(db, key, 1 - db, now, index); break;
          case 8: f.ks.deleteExpired(f.ks.expiredKeys(3, now), now, index); break;
          case 9: if (rng.nextInt(8) === 0) f.ks.flushDb(db, index); else f.ks.rows.flush(); break;
          default: now += rng.nextInt(120);
        }
      };
      if (rng.nextInt(6) === 0) {
        // A write that fails inside its transaction: rolled back, counts recomputed.
        t.throws(() => f.state.transaction(() => (write(logIndex(f.index + 1)), f.ks.setString(0, b('r'), b('v'), null, now, logIndex(f.index + 1)), (() => { throw new Error('rolled back'); })())));
      } else {
        f.apply(write);
      }
      const got = [0, 1].map((d) => ({ size: f.ks.dbSize(d, now), info: f.ks.keyspaceInfo(now).find((r) => r.db === d) }));
      for (const d of [0, 1]) {
        const truth = keyspaceTruth(f, d, now);
        const want = truth.keys === 0 ? undefined : { db: d, ...truth };
        if (got[d]!.size !== truth.keys || JSON.stringify(got[d]!.info) !== JSON.stringify(want)) {
          return t.fail(`seed ${seed} step ${step} op ${op} db ${d}: dbSize ${got[d]!.size}, info ${JSON.stringify(got[d]!.info)}; SQLite: ${JSON.stringify(want)}`);
        }
      }
    }
  }
  t.pass();
});

test('expiredKeys samples keys past their deadline, earliest first, up to limit', (t) => {
  const f = new Fixture();
  f.apply((index) => f.ks.setString(0, b('late'), b('v'), NOW - 1, 0, index));
  f.apply((index) => f.ks.setString(1, b('early'), b('v'), NOW - 9, 0, index));
  f.apply((index) => f.ks.setString(0, b('due'), b('v'), NOW, 0, index));
  f.apply((index) => f.ks.setString(0, b('forever'), b('v'), null, 0, index));
  const sample = f.ks.expiredKeys(10, NOW);
  t.deepEqual(sample.map((item) => `${item.db}:${s(item.key)}`), ['1:early', '0:late']);
  t.is(f.ks.expiredKeys(1, NOW).length, 1);
  // Between sampling and applying, 'late' was rewritten: it must survive.
  f.apply((index) => f.ks.setString(0, b('late'), b('new'), null, NOW, index));
  const deleted = f.apply((index) => f.ks.deleteExpired(sample, NOW, index));
  t.deepEqual(deleted.map((item) => s(item.key)), ['early']);
  t.is(s(f.ks.lookup(0, b('late'), NOW)!.value), 'new');
  t.deepEqual(f.ks.expiredKeys(10, NOW), []);
});

test('dbSize and keyspaceInfo stay exact through every kind of write, without a flush', (t) => {
  const f = new Fixture();
  // The truth is asked only after the answers under test, so those are given while rows
  // in memory still shadow SQLite's.
  const truth = (db: number, now: number) => keyspaceTruth(f, db, now);
  const check = (what: string): void => {
    for (const now of [NOW, NOW + 150]) {
      const dirty = f.ks.rows.dirtyCount;
      const sizes = [0, 1].map((db) => f.ks.dbSize(db, now));
      const info = f.ks.keyspaceInfo(now);
      t.is(f.ks.rows.dirtyCount, dirty, `${what}: answered without writing rows back`);
      for (const db of [0, 1]) {
        const want = truth(db, now);
        t.is(sizes[db], want.keys, `${what}: dbSize (db ${db}, now +${now - NOW})`);
        const got = info.find((r) => r.db === db);
        if (want.keys === 0) t.is(got, undefined, `${what}: no line for db ${db}`);
        else t.deepEqual(got, { db, ...want }, `${what}: INFO keyspace (db ${db}, now +${now - NOW})`);
      }
    }
  };
  check('empty');
  f.apply((index) => { for (const k of ['a', 'b', 'c', 'd']) f.ks.setString(0, b(k), b('v'), null, NOW, index); });
  check('created');
  f.apply((index) => f.ks.setString(0, b('a'), b('w'), null, NOW, index));
  check('overwritten');
  f.apply((index) => f.ks.delete(0, b('b'), NOW, index));
  check('deleted');
  f.apply((index) => f.ks.rename(0, b('c'), b('c2'), 'replace', NOW, index));
  check('renamed');
  f.apply((index) => f.ks.move(0, b('d'), 1, NOW, index));
  check('moved');
  f.apply((index) => f.ks.copy(0, b('a'), 1, b('a'), false, NOW, index));
  check('copied');
  f.apply((index) => f.ks.setString(0, b('e'), b('v'), NOW - 5, NOW - 10, index));
  check('an expired row still present');
  f.apply((index) => {
    f.ks.setString(0, b('v1'), b('v'), NOW + 100, NOW, index);
    f.ks.setString(0, b('v2'), b('v'), NOW + 1000, NOW, index);
    f.ks.setString(0, b('v3'), b('v'), 2n ** 62n, NOW, index);
    f.ks.setString(1, b('v4'), b('v'), NOW + 200, NOW, index);
  });
  check('keys with deadlines, one beyond 2^53 ms, some past by now +150');
  f.apply((index) => f.ks.setString(0, b('v2'), b('plain'), null, NOW, index));
  check('a volatile key overwritten without a deadline (its SQLite row still has one)');
  f.apply((index) => f.ks.setExpiry(0, b('a'), NOW + 500, NOW, index));
  f.apply((index) => f.ks.setExpiry(0, b('v3'), null, NOW, index));
  check('a deadline set, another removed');
  f.apply((index) => f.ks.rename(0, b('v1'), b('v1b'), 'replace', NOW, index));
  f.apply((index) => f.ks.copy(0, b('a'), 1, b('a2'), false, NOW, index));
  f.apply((index) => f.ks.move(0, b('v1b'), 1, NOW, index));
  check('volatile keys renamed, copied and moved');
  f.apply((index) => f.ks.delete(1, b('v4'), NOW, index));
  f.apply((index) => f.ks.setString(1, b('a2'), b('w'), 'keep', NOW, index));
  check('a volatile key deleted, another overwritten keeping its deadline');
  f.apply((index) => f.ks.deleteExpired([{ db: 0, key: b('e') }], NOW, index));
  check('expired row removed');
  f.apply((index) => f.ks.flushDb(1, index));
  check('flushdb');
  f.apply((index) => f.ks.setString(1, b('x'), b('v'), null, NOW, index));
  check('written after a flush');
  f.apply((index) => f.ks.flushAll(index));
  check('flushall');
});
