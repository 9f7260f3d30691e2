// Keyspace point operations: strings, expiry boundaries, DEL, EXPIRE/PERSIST, RENAME,
// COPY, MOVE, ids, external-value hooks, and the rule that writes need a transaction.

import test from 'ava';
import { logIndex } from '../../consensus/index.ts';
import { Keyspace, StateDatabase, type ExternalValueHooks } from '../../src/state/index.ts';
import { b, Fixture, s } from './helpers.ts';

const NOW = 1_000_000;

test('binary keys and values round-trip and compare byte-wise', (t) => {
  const f = new Fixture();
  const keys = [b('a'), b('A'), b('a\x00'), b('\xff'), b('')];
  keys.forEach((key, i) => f.apply((index) => f.ks.setString(0, key, Buffer.from([i, 0, 0xff]), null, NOW, index)));
  keys.forEach((key, i) => t.deepEqual(f.ks.lookup(0, key, NOW)?.value, Buffer.from([i, 0, 0xff])));
  f.apply((index) => f.ks.setString(0, b('empty'), Buffer.alloc(0), null, NOW, index));
  const empty = f.ks.lookup(0, b('empty'), NOW);
  t.deepEqual(empty?.value, Buffer.alloc(0));
  t.is(empty?.type, 'string');
  t.is(f.ks.lookup(1, b('a'), NOW), null, 'dbs are separate');
});

test('lookup reports type, deadline, id and the index of the last write', (t) => {
  const f = new Fixture();
  f.apply((index) => f.ks.setString(0, b('k'), b('v1'), NOW + 500, NOW, index));
  const first = f.ks.lookup(0, b('k'), NOW);
  t.like(first, { type: 'string', expiresAtMs: NOW + 500, modIndex: 1 });
  f.apply((index) => f.ks.setString(0, b('k'), b('v2'), 'keep', NOW, index));
  const second = f.ks.lookup(0, b('k'), NOW);
  t.like(second, { expiresAtMs: NOW + 500, modIndex: 2, id: first!.id }, 'KEEPTTL keeps the deadline, overwrite keeps the id');
  t.is(s(second!.value), 'v2');
  f.apply((index) => f.ks.setString(0, b('k'), b('v3'), null, NOW, index));
  t.is(f.ks.lookup(0, b('k'), NOW)?.expiresAtMs, null, 'plain SET clears the deadline');
  f.apply((index) => f.ks.setString(0, b('new'), b('x'), 'keep', NOW, index));
  t.is(f.ks.lookup(0, b('new'), NOW)?.expiresAtMs, null, 'KEEPTTL on a new key means no deadline');
});

test('a key is live at its deadline and gone one ms later (Redis: expired iff now > when)', (t) => {
  const f = new Fixture();
  f.apply((index) => f.ks.setString(0, b('k'), b('v'), NOW, NOW - 10, index));
  t.true(f.ks.exists(0, b('k'), NOW));
  t.is(f.ks.typeOf(0, b('k'), NOW), 'string');
  t.is(f.ks.dbSize(0, NOW), 1);
  t.false(f.ks.exists(0, b('k'), NOW + 1));
  t.is(f.ks.lookup(0, b('k'), NOW + 1), null);
  t.is(f.ks.typeOf(0, b('k'), NOW + 1), null);
  t.is(f.ks.dbSize(0, NOW + 1), 0);
  t.not(f.ks.rows.raw(0, b('k')), null, 'reads never delete');
});

test('a write that finds an expired key treats it as absent: new id, old deadline gone', (t) => {
  const f = new Fixture();
  f.apply((index) => f.ks.setString(0, b('k'), b('old'), NOW, NOW - 10, index));
  const oldId = f.ks.lookup(0, b('k'), NOW)!.id;
  f.apply((index) => f.ks.setString(0, b('k'), b('new'), 'keep', NOW + 1, index));
  const entry = f.ks.lookup(0, b('k'), NOW + 1)!;
  t.true(entry.id > oldId, 're-created, so a new id');
  t.is(entry.expiresAtMs, null, 'KEEPTTL does not resurrect the expired deadline');
  t.is(s(entry.value), 'new');
});

test('delete returns whether the key existed; an expired key is removed but reported absent', (t) => {
  const f = new Fixture();
  f.apply((index) => f.ks.setString(0, b('k'), b('v'), null, NOW, index));
  t.true(f.apply((index) => f.ks.delete(0, b('k'), NOW, index)));
  t.false(f.apply((index) => f.ks.delete(0, b('k'), NOW, index)));
  f.apply((index) => f.ks.setString(0, b('e'), b('v'), NOW, NOW, index));
  t.false(f.apply((index) => f.ks.delete(0, b('e'), NOW + 1, index)));
  t.is(f.ks.rows.raw(0, b('e')), null);
});

test('setExpiry: absent key, future deadline, deadline at or before now deletes, persist', (t) => {
  const f = new Fixture();
  t.false(f.apply((index) => f.ks.setExpiry(0, b('k'), NOW + 100, NOW, index)));
  f.apply((index) => f.ks.setString(0, b('k'), b('v'), null, NOW, index));
  t.false(f.apply((index) => f.ks.setExpiry(0, b('k'), null, NOW, index)), 'PERSIST without a deadline is 0');
  t.is(f.ks.lookup(0, b('k'), NOW)?.modIndex, 2, 'a no-op PERSIST is not a write');
  t.true(f.apply((index) => f.ks.setExpiry(0, b('k'), NOW + 100, NOW, index)));
  t.like(f.ks.lookup(0, b('k'), NOW), { expiresAtMs: NOW + 100, modIndex: f.index });
  t.true(f.apply((index) => f.ks.setExpiry(0, b('k'), null, NOW, index)));
  t.is(f.ks.lookup(0, b('k'), NOW)?.expiresAtMs, null);
  t.true(f.apply((index) => f.ks.setExpiry(0, b('k'), NOW, NOW, index)), 'deadline == now: already expired (<=)');
  t.is(f.ks.rows.raw(0, b('k')), null);
  f.apply((index) => f.ks.setString(0, b('k'), b('v'), null, NOW, index));
  t.true(f.apply((index) => f.ks.setExpiry(0, b('k'), NOW - 5000, NOW, index)));
  t.false(f.ks.exists(0, b('k'), 0), 'deleted, not merely hidden');
});

test('rename moves value and deadline; dst keeps its id when it existed', (t) => {
  const f = new Fixture();
  f.apply((index) => f.ks.setString(0, b('src'), b('v'), NOW + 100, NOW, index));
  f.apply((index) => f.ks.setString(0, b('dst'), b('old'), null, NOW, index));
  const dstId = f.ks.lookup(0, b('dst'), NOW)!.id;
  t.is(f.apply((index) => f.ks.rename(0, b('src'), b('dst'), 'nx', NOW, index)), 'target_exists');
  t.is(s(f.ks.lookup(0, b('dst'), NOW)!.value), 'old', 'RENAMENX leaves both alone');
  t.is(f.apply((index) => f.ks.rename(0, b('src'), b('dst'), 'replace', NOW, index)), 'renamed');
  t.is(f.ks.lookup(0, b('src'), NOW), null);
  t.like(f.ks.lookup(0, b('dst'), NOW), { id: dstId, expiresAtMs: NOW + 100, modIndex: f.index });
  t.is(s(f.ks.lookup(0, b('dst'), NOW)!.value), 'v');
  t.is(f.ks.modStamp(0, b('src')), f.index, 'src is tombstoned at the rename');
  // To a new name: a new id, greater than any before.
  t.is(f.apply((index) => f.ks.rename(0, b('dst'), b('fresh'), 'nx', NOW, index)), 'renamed');
  t.true(f.ks.lookup(0, b('fresh'), NOW)!.id > dstId);
});

test('rename of a missing or expired key, and of a key onto itself', (t) => {
  const f = new Fixture();
  t.is(f.apply((index) => f.ks.rename(0, b('none'), b('x'), 'replace', NOW, index)), 'no_such_key');
  t.is(f.apply((index) => f.ks.rename(0, b('none'), b('none'), 'replace', NOW, index)), 'no_such_key');
  f.apply((index) => f.ks.setString(0, b('k'), b('v'), NOW, NOW, index));
  t.is(f.apply((index) => f.ks.rename(0, b('k'), b('k'), 'replace', NOW, index)), 'same_key');
  t.is(f.ks.lookup(0, b('k'), NOW)?.modIndex, 3, 'RENAME k k changes nothing');
  t.is(f.apply((index) => f.ks.rename(0, b('k'), b('k'), 'nx', NOW, index)), 'same_key');
  t.is(f.apply((index) => f.ks.rename(0, b('k'), b('x'), 'replace', NOW + 1, index)), 'no_such_key');
});

test('copy duplicates value and deadline, across dbs, with and without replace', (t) => {
  const f = new Fixture();
  t.is(f.apply((index) => f.ks.copy(0, b('k'), 0, b('k'), true, NOW, index)), 'same_object');
  t.is(f.apply((index) => f.ks.copy(0, b('k'), 1, b('k'), false, NOW, index)), 'no_such_key');
  f.apply((index) => f.ks.setString(0, b('k'), b('v'), NOW + 100, NOW, index));
  f.apply((index) => f.ks.setString(1, b('d'), b('old'), null, NOW, index));
  const dstId = f.ks.lookup(1, b('d'), NOW)!.id;
  t.is(f.apply((index) => f.ks.copy(0, b('k'), 1, b('d'), false, NOW, index)), 'target_exists');
  t.is(s(f.ks.lookup(1, b('d'), NOW)!.value), 'old');
  t.is(f.apply((index) => f.ks.copy(0, b('k'), 1, b('d'), true, NOW, index)), 'copied');
  t.like(f.ks.lookup(1, b('d'), NOW), { id: dstId, expiresAtMs: NOW + 100 });
  t.is(s(f.ks.lookup(1, b('d'), NOW)!.value), 'v');
  t.is(f.apply((index) => f.ks.copy(0, b('k'), 0, b('k2'), false, NOW, index)), 'copied');
  t.is(s(f.ks.lookup(0, b('k'), NOW)!.value), 'v', 'the source is untouched');
  t.is(f.ks.lookup(0, b('k'), NOW)!.modIndex, 3);
  t.not(f.ks.lookup(0, b('k2'), NOW)!.id, f.ks.lookup(0, b('k'), NOW)!.id);
});

test('move: same db, missing key, occupied target, expired target, success', (t) => {
  const f = new Fixture();
  t.is(f.apply((index) => f.ks.move(0, b('k'), 0, NOW, index)), 'same_object');
  t.is(f.apply((index) => f.ks.move(0, b('k'), 1, NOW, index)), 'no_such_key');
  f.apply((index) => f.ks.setString(0, b('k'), b('v'), NOW + 100, NOW, index));
  f.apply((index) => f.ks.setString(1, b('k'), b('other'), null, NOW, index));
  t.is(f.apply((index) => f.ks.move(0, b('k'), 1, NOW, index)), 'target_exists');
  t.is(s(f.ks.lookup(0, b('k'), NOW)!.value), 'v');
  f.apply((index) => f.ks.setExpiry(1, b('k'), NOW + 1, NOW, index));
  t.is(f.apply((index) => f.ks.move(0, b('k'), 1, NOW + 2, index)), 'moved', 'an expired target counts as absent');
  t.is(f.ks.lookup(0, b('k'), NOW + 2), null);
  t.like(f.ks.lookup(1, b('k'), NOW + 2), { expiresAtMs: NOW + 100, modIndex: f.index });
  t.is(s(f.ks.lookup(1, b('k'), NOW + 2)!.value), 'v');
  t.is(f.ks.modStamp(0, b('k')), f.index);
});

test('ids come from one counter: kept on overwrite, new after delete, never reused', (t) => {
  const f = new Fixture();
  f.apply((index) => f.ks.setString(0, b('a'), b('1'), null, NOW, index));
  f.apply((index) => f.ks.setString(3, b('b'), b('1'), null, NOW, index));
  const a = f.ks.lookup(0, b('a'), NOW)!.id;
  const bId = f.ks.lookup(3, b('b'), NOW)!.id;
  t.true(bId > a);
  f.apply((index) => f.ks.setString(0, b('a'), b('2'), null, NOW, index));
  t.is(f.ks.lookup(0, b('a'), NOW)!.id, a);
  f.apply((index) => f.ks.delete(0, b('a'), NOW, index));
  f.apply((index) => f.ks.setString(0, b('a'), b('3'), null, NOW, index));
  t.true(f.ks.lookup(0, b('a'), NOW)!.id > bId);
});

test('writes outside a transaction are refused', (t) => {
  const ks = new Keyspace(StateDatabase.open(':memory:'));
  t.throws(() => ks.setString(0, b('k'), b('v'), null, NOW, logIndex(1)), { message: /outside a state transaction/ });
  t.throws(() => ks.flushAll(logIndex(1)), { message: /outside a state transaction/ });
  t.is(ks.lookup(0, b('k'), NOW), null);
  t.throws(() => ks.state.transaction(() => ks.setString(0, b('k'), b('v'), Number.MAX_SAFE_INTEGER + 2, NOW, logIndex(1))), {
    message: /is not a Deadline/,
  });
  t.throws(() => ks.state.transaction(() => ks.setString(0, b('k'), b('v'), 2n ** 63n, NOW, logIndex(1))), { message: /is not a Deadline/ });
  t.throws(() => ks.state.transaction(() => ks.setString(0, b('k'), b('v'), 5n, NOW, logIndex(1))), { message: /is not a Deadline/ }, 'a bigint only beyond 2^53');
});

test('external-value hooks: released on overwrite, delete, expiry and flush; cloned by copy; moved by rename', (t) => {
  const log: string[] = [];
  const hooks: ExternalValueHooks = {
    release: (value) => log.push(`release ${s(value)}`),
    clone: (value) => {
      log.push(`clone ${s(value)}`);
      return b(`${s(value)}'`);
    },
  };
  const state = StateDatabase.open(':memory:');
  const f = new Fixture(state);
  const ks = new Keyspace(state, { stream: hooks });
  const put = (db: number, key: string, ref: string) =>
    f.apply((index) => ks.setValue(db, b(key), 'stream', b(ref), null, NOW, index));
  put(0, 's', 'r1');
  t.true(f.apply((index) => ks.touch(0, b('s'), NOW, index)));
  t.deepEqual(log, [], 'touch keeps the value');
  f.apply((index) => ks.setString(0, b('s'), b('plain'), null, NOW, index));
  t.deepEqual(log.splice(0), ['release r1']);
  put(0, 's', 'r2');
  t.deepEqual(log.splice(0), [], 'a string has no hooks');
  f.apply((index) => ks.rename(0, b('s'), b('t'), 'replace', NOW, index));
  t.deepEqual(log.splice(0), [], 'rename moves the reference');
  f.apply((index) => ks.copy(0, b('t'), 0, b('u'), false, NOW, index));
  t.deepEqual(log.splice(0), ['clone r2']);
  t.is(s(ks.lookup(0, b('u'), NOW)!.value), "r2'");
  f.apply((index) => ks.delete(0, b('t'), NOW, index));
  t.deepEqual(log.splice(0), ['release r2']);
  f.apply((index) => ks.setExpiry(0, b('u'), NOW + 1, NOW, index));
  f.apply((index) => ks.deleteExpired([{ db: 0, key: b('u') }], NOW + 2, index));
  t.deepEqual(log.splice(0), ["release r2'"]);
  put(1, 'a', 'r3');
  put(2, 'b', 'r4');
  f.apply((index) => ks.flushDb(1, index));
  t.deepEqual(log.splice(0), ['release r3']);
  f.apply((index) => ks.flushAll(index));
  t.deepEqual(log.splice(0), ['release r4']);
});
