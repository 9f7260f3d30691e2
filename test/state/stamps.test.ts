// WATCH support: modification stamps of live keys, tombstones of removed ones, flush
// stamps, and tombstone pruning with its horizon.

import test from 'ava';
import { logIndex } from '../../consensus/index.ts';
import { b, Fixture } from './helpers.ts';

const NOW = 5_000;

test('a key never seen has stamp 0; writes stamp it with their index', (t) => {
  const f = new Fixture();
  t.is(f.ks.modStamp(0, b('k')), 0);
  f.apply((index) => f.ks.setString(0, b('k'), b('v'), null, NOW, index));
  t.is(f.ks.modStamp(0, b('k')), 1);
  f.apply((index) => f.ks.setString(0, b('other'), b('v'), null, NOW, index));
  t.is(f.ks.modStamp(0, b('k')), 1, 'other keys do not move it');
  f.apply((index) => f.ks.setExpiry(0, b('k'), NOW + 10, NOW, index));
  t.is(f.ks.modStamp(0, b('k')), 3);
});

test('deletion leaves a tombstone at its index; a re-created key is stamped by its own row', (t) => {
  const f = new Fixture();
  f.apply((index) => f.ks.setString(0, b('k'), b('v'), null, NOW, index));
  f.apply((index) => f.ks.delete(0, b('k'), NOW, index));
  t.is(f.ks.modStamp(0, b('k')), 2);
  t.is(f.ks.rows.tombstone(0, b('k')), 2);
  f.apply((index) => f.ks.delete(0, b('k'), NOW, index));
  t.is(f.ks.modStamp(0, b('k')), 2, 'deleting a missing key is no write');
  f.apply((index) => f.ks.setString(0, b('k'), b('v'), null, NOW, index));
  t.is(f.ks.modStamp(0, b('k')), 4);
  f.apply((index) => f.ks.delete(0, b('k'), NOW, index));
  t.is(f.ks.modStamp(0, b('k')), 5, 'the new deletion replaces the stale tombstone');
});

test('expiry deletions (active, and lazy on write) leave tombstones; merely expiring does not', (t) => {
  const f = new Fixture();
  f.apply((index) => f.ks.setString(0, b('a'), b('v'), NOW, NOW, index));
  f.apply((index) => f.ks.setString(0, b('b'), b('v'), NOW, NOW, index));
  t.is(f.ks.modStamp(0, b('a')), 1, 'expired but not yet removed: still its last write');
  const deleted = f.apply((index) => f.ks.deleteExpired([{ db: 0, key: b('a') }, { db: 0, key: b('zz') }], NOW + 1, index));
  t.is(deleted.length, 1);
  t.is(f.ks.modStamp(0, b('a')), 3);
  f.apply((index) => f.ks.setString(0, b('b'), b('new'), null, NOW + 1, index));
  t.is(f.ks.modStamp(0, b('b')), 4, 'removed then re-created in the same entry: the row stamp');
  t.is(f.ks.rows.tombstone(0, b('b')), 4, 'the lazy expiry left its tombstone');
});

test('FLUSHDB stamps the keys it removes (not absent ones), FLUSHALL those of every db', (t) => {
  const f = new Fixture();
  f.apply((index) => f.ks.setString(0, b('k'), b('v'), null, NOW, index));
  f.apply((index) => f.ks.setString(1, b('k'), b('v'), null, NOW, index));
  f.apply((index) => f.ks.delete(0, b('gone'), NOW, index));
  f.apply((index) => f.ks.flushDb(0, index));
  t.is(f.ks.modStamp(0, b('k')), 4);
  t.is(f.ks.modStamp(0, b('never')), 0, 'a key absent at the flush is not touched, as in Redis');
  t.is(f.ks.modStamp(1, b('k')), 2, 'other dbs are untouched');
  t.is(f.ks.dbSize(0, NOW), 0);
  t.is(f.ks.dbSize(1, NOW), 1);
  f.apply((index) => f.ks.setString(0, b('k'), b('v'), null, NOW, index));
  t.is(f.ks.modStamp(0, b('k')), 5);
  f.apply((index) => f.ks.flushAll(index));
  t.is(f.ks.modStamp(1, b('k')), 6);
  t.is(f.ks.modStamp(0, b('k')), 6);
  t.is(f.ks.modStamp(7, b('any')), 0);
  t.deepEqual(f.ks.keyspaceInfo(NOW), []);
});

test('pruneTombstones forgets old tombstones and raises a monotonic horizon', (t) => {
  const f = new Fixture();
  for (const name of ['a', 'b', 'c']) {
    f.apply((index) => f.ks.setString(0, b(name), b('v'), null, NOW, index));
    f.apply((index) => f.ks.delete(0, b(name), NOW, index));
  }
  // tombstones: a@2, b@4, c@6
  t.is(f.ks.tombstoneHorizon(), 0);
  t.is(f.apply(() => f.ks.pruneTombstones(logIndex(5))), 2);
  t.is(f.ks.tombstoneHorizon(), 5);
  t.is(f.ks.modStamp(0, b('a')), 0);
  t.is(f.ks.modStamp(0, b('c')), 6);
  f.apply(() => f.ks.pruneTombstones(logIndex(3)));
  t.is(f.ks.tombstoneHorizon(), 5, 'the horizon never goes back');
});

test('the WATCH rule: touched after a watch at applied index w iff stamp > w', (t) => {
  const f = new Fixture();
  f.apply((index) => f.ks.setString(0, b('k'), b('v'), null, NOW, index));
  const w = f.index;
  t.false(f.ks.modStamp(0, b('k')) > w);
  f.apply((index) => f.ks.setString(0, b('other'), b('v'), null, NOW, index));
  t.false(f.ks.modStamp(0, b('k')) > w);
  f.apply((index) => f.ks.delete(0, b('k'), NOW, index));
  t.true(f.ks.modStamp(0, b('k')) > w);
  t.true(f.ks.tombstoneHorizon() <= w);
});
