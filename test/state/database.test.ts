// The state database: pragmas, schema version, meta counters, and the applied position
// committed in the same transaction as the data it describes.

import test from 'ava';
import { join } from 'node:path';
import { logIndex, term } from '../../consensus/index.ts';
import { SCHEMA_VERSION, SchemaVersionError, StateDatabase } from '../../src/state/index.ts';
import { KEYSPACE_DDL } from '../../src/state/schema.ts';
import { openSqlite } from '../../src/state/sqlite.ts';
import { b, Fixture, tempDir } from './helpers.ts';

test('a new file database is in WAL mode, synchronous NORMAL, foreign keys off, at version and position 0', (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const state = StateDatabase.open(join(temp.dir, 'state.db'));
  t.teardown(() => state.close());
  t.is(state.sqlite.pragma('journal_mode', { simple: true }), 'wal');
  t.is(state.sqlite.pragma('synchronous', { simple: true }), 1);
  t.is(state.sqlite.pragma('foreign_keys', { simple: true }), 0);
  t.is(state.sqlite.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  t.deepEqual(state.applied(), { index: 0, term: 0 });
});

test('applied index and data commit together, and roll back together', (t) => {
  const f = new Fixture();
  f.apply((index) => f.ks.setString(0, b('k'), b('v1'), null, 0, index));
  t.deepEqual(f.state.applied(), { index: 1, term: 1 });
  t.throws(
    () =>
      f.state.transaction(() => {
        f.ks.setString(0, b('k'), b('v2'), null, 0, logIndex(2));
        f.state.setApplied(logIndex(2), term(1));
        throw new Error('crash mid-batch');
      }),
    { message: 'crash mid-batch' },
  );
  t.deepEqual(f.state.applied(), { index: 1, term: 1 });
  t.is(f.ks.lookup(0, b('k'), 0)?.value?.toString(), 'v1');
});

test('a batch of entries applies in one transaction with one applied stamp', (t) => {
  const f = new Fixture();
  f.state.transaction(() => {
    for (let i = 1; i <= 3; i++) f.ks.setString(0, b(`k${i}`), b('v'), null, 0, logIndex(i));
    f.state.setApplied(logIndex(3), term(2));
  });
  t.deepEqual(f.state.applied(), { index: 3, term: 2 });
  t.is(f.ks.dbSize(0, 0), 3);
});

test('setApplied must run in a transaction and must advance', (t) => {
  const f = new Fixture();
  t.throws(() => f.state.setApplied(logIndex(1), term(1)), { message: /outside a state transaction/ });
  f.apply(() => undefined);
  t.throws(() => f.state.transaction(() => f.state.setApplied(logIndex(1), term(1))), { message: /does not advance/ });
  t.deepEqual(f.state.applied(), { index: 1, term: 1 });
});

test('writes are refused outside a transaction again once one has ended, committed, thrown or nested', (t) => {
  const f = new Fixture();
  const outside = (): void => f.state.setMeta('applied_term', 7);
  f.state.transaction(() => f.state.setMeta('applied_term', 1));
  t.throws(outside, { message: /outside a state transaction/ });
  t.throws(() => f.state.transaction(() => {
    f.state.setMeta('applied_term', 2);
    throw new Error('boom');
  }), { message: 'boom' });
  t.throws(outside, { message: /outside a state transaction/ });
  f.state.transaction(() => {
    t.throws(() => f.state.transaction(() => {
      throw new Error('inner');
    }), { message: 'inner' });
    f.state.setMeta('applied_term', 3); // still inside the outer one
  });
  t.throws(outside, { message: /outside a state transaction/ });
  t.is(f.state.meta('applied_term'), 3);
  // An outer batch (beginBatch) counts too, and ends with commitBatch.
  f.state.beginBatch();
  f.state.setMeta('applied_term', 4);
  f.state.commitBatch();
  t.throws(outside, { message: /outside a state transaction/ });
});

test('a file database survives reopen with its data, position and counters', (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const path = join(temp.dir, 'state.db');
  const f = new Fixture(StateDatabase.open(path));
  f.apply((index) => f.ks.setString(0, b('k'), b('v'), null, 0, index));
  f.apply((index) => f.ks.setString(0, b('j'), b('v'), null, 0, index));
  const id = f.ks.lookup(0, b('j'), 0)!.id;
  t.not(f.state.checkpoint(), null);
  f.close();
  const again = new Fixture(StateDatabase.open(path));
  t.teardown(() => again.close());
  t.deepEqual(again.state.applied(), { index: 2, term: 1 });
  again.apply((index) => again.ks.setString(0, b('n'), b('v'), null, 0, index));
  t.true(again.ks.lookup(0, b('n'), 0)!.id > id, 'the id counter persisted');
});

test('a database of another schema version is refused', (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const path = join(temp.dir, 'state.db');
  StateDatabase.open(path).close();
  const raw = openSqlite(path);
  raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  raw.close();
  const error = t.throws(() => StateDatabase.open(path), { instanceOf: SchemaVersionError });
  t.is(error?.found, SCHEMA_VERSION + 1);
  const foreign = join(temp.dir, 'foreign.db');
  const other = openSqlite(foreign);
  other.exec('CREATE TABLE t (x)');
  other.close();
  t.throws(() => StateDatabase.open(foreign), { instanceOf: SchemaVersionError }, 'unversioned but not empty');
});

test('a version 1 database (before streams) is migrated in place, keeping its keys', (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const path = join(temp.dir, 'state.db');
  const raw = openSqlite(path);
  raw.exec(KEYSPACE_DDL);
  raw.prepare("INSERT INTO meta (name, value) VALUES ('applied_index', 7), ('applied_term', 2), ('tombstone_horizon', 0)").run();
  raw.prepare("INSERT INTO keys (db, key, type, value, expires_at, id, mod_index) VALUES (0, x'6b', 'string', x'76', NULL, 7340032, 7)").run();
  raw.pragma('user_version = 1');
  raw.close();
  const state = StateDatabase.open(path);
  t.teardown(() => state.close());
  t.is(state.sqlite.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  t.deepEqual(state.applied(), { index: 7, term: 2 });
  t.is(state.sqlite.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'streams'").pluck().get(), 1);
  t.is(state.sqlite.prepare('SELECT count(*) FROM keys').pluck().get(), 1);
  t.is(state.meta('next_key_id'), 7340033, 'the key id counter starts above the ids given by index (version 6)');
});

test('key ids come from a counter: increasing in apply order, however large the index, kept across reopen, given back by a rollback', (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const path = join(temp.dir, 'state.db');
  const idOf = (f: Fixture, key: string): number => f.ks.lookup(0, b(key), 0)!.id;
  const f = new Fixture(StateDatabase.open(path));
  f.apply((i) => {
    f.ks.setString(0, b('a'), b('1'), null, 0, i);
    f.ks.setString(0, b('b'), b('1'), null, 0, i);
  });
  f.index = 2 ** 40; // far past index 2^33, where index-derived ids stopped being safe integers
  f.apply((i) => f.ks.setString(0, b('c'), b('1'), null, 0, i));
  t.deepEqual(['a', 'b', 'c'].map((k) => idOf(f, k)), [1, 2, 3]);
  t.throws(() => f.apply((i) => {
    f.ks.setString(0, b('d'), b('1'), null, 0, i);
    throw new Error('rolled back');
  }));
  f.apply((i) => f.ks.setString(0, b('e'), b('1'), null, 0, i));
  t.is(idOf(f, 'e'), 4, 'the rolled-back creation gave its id back');
  f.close();
  const again = new Fixture(StateDatabase.open(path));
  t.teardown(() => again.close());
  again.apply((i) => again.ks.setString(0, b('f'), b('1'), null, 0, i));
  t.is(idOf(again, 'f'), 5);
});

test('checkpoint reports the durable position and refuses inside a transaction', (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const f = new Fixture(StateDatabase.open(join(temp.dir, 'state.db')));
  t.teardown(() => f.close());
  f.apply((index) => f.ks.setString(0, b('k'), b('v'), null, 0, index));
  t.deepEqual(f.state.checkpoint(), { index: 1, term: 1 });
  t.throws(() => f.state.transaction(() => f.state.checkpoint()), { message: /inside a transaction/ });
});

test('meta values (kept in memory) follow writes, rolled-back savepoints and what SQLite holds', (t) => {
  const state = StateDatabase.open(':memory:');
  t.teardown(() => state.close());
  const stored = () => state.sqlite.prepare("SELECT value FROM meta WHERE name = 'tombstone_horizon'").pluck().get();
  state.transaction(() => state.setMeta('tombstone_horizon', 5));
  t.is(state.meta('tombstone_horizon'), 5);
  state.transaction(() => {
    state.setMeta('tombstone_horizon', 6);
    t.throws(() =>
      state.transaction(() => {
        state.setMeta('tombstone_horizon', 7);
        t.is(state.meta('tombstone_horizon'), 7);
        throw new Error('inner rolled back');
      }),
    );
    t.is(state.meta('tombstone_horizon'), 6, 'the outer write stays; the inner one is gone');
  });
  t.is(state.meta('tombstone_horizon'), 6);
  t.throws(() =>
    state.transaction(() => {
      state.setMeta('tombstone_horizon', 8);
      throw new Error('rolled back');
    }),
  );
  t.is(state.meta('tombstone_horizon'), 6);
  t.is(stored(), 6);
});

test('the applied term follows setApplied across a change of term, in memory and in SQLite', (t) => {
  const state = StateDatabase.open(':memory:');
  t.teardown(() => state.close());
  const stored = () => state.sqlite.prepare("SELECT value FROM meta WHERE name = 'applied_term'").pluck().get();
  state.transaction(() => state.setApplied(logIndex(1), term(1)));
  state.transaction(() => state.setApplied(logIndex(2), term(1)));
  t.deepEqual(state.applied(), { index: 2, term: 1 });
  state.transaction(() => state.setApplied(logIndex(3), term(4)));
  t.deepEqual(state.applied(), { index: 3, term: 4 });
  t.is(stored(), 4);
});
