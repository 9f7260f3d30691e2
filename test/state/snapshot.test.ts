// Snapshots: an online copy that keeps applying meanwhile and holds exactly the
// position it claims, and restore that swaps the state file and reopens it.

import test from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { logIndex } from '../../consensus/index.ts';
import { createSnapshot, inspectSnapshot, Keyspace, restoreFrom, SchemaVersionError, StateDatabase, stateDigest } from '../../src/state/index.ts';
import { openSqlite } from '../../src/state/sqlite.ts';
import { b, Fixture, tempDir } from './helpers.ts';

/** Entry i writes key `k<i>` with a large value, so content is a function of the applied index. */
function applyEntry(f: Fixture): void {
  f.apply((index) => f.ks.setString(0, b(`k${index}`), Buffer.alloc(2000, index % 251), null, 0, index));
}

test('a snapshot holds the applied position it reports and the same rows', async (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const f = new Fixture(StateDatabase.open(join(temp.dir, 'state.db')));
  t.teardown(() => f.close());
  for (let i = 0; i < 50; i++) applyEntry(f);
  const snapshot = await createSnapshot(f.state, join(temp.dir, 'snap.db'));
  t.like(snapshot, { path: join(temp.dir, 'snap.db'), appliedIndex: 50, appliedTerm: 1 });
  t.deepEqual(inspectSnapshot(snapshot.path), { appliedIndex: 50, appliedTerm: 1 });
  const copy = StateDatabase.open(snapshot.path);
  t.is(stateDigest(copy), stateDigest(f.state));
  copy.close();
  t.deepEqual(readdirSync(temp.dir).filter((name) => name.startsWith('snap')), ['snap.db'], 'self-contained: no -wal, no .partial');
});

test('applying continues while the copy is made and flushed in steps, and the copy is consistent with its index', async (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const f = new Fixture(StateDatabase.open(join(temp.dir, 'state.db')));
  t.teardown(() => f.close());
  for (let i = 0; i < 1500; i++) applyEntry(f);
  const startedAt = f.index;
  let done = false;
  // A flush of the partial copy every 8 pages runs in the thread pool while steps and writes go on.
  const pageBytes = f.state.sqlite.pragma('page_size', { simple: true }) as number;
  const pending = createSnapshot(f.state, join(temp.dir, 'snap.db'), { pagesPerStep: 4, flushEveryBytes: 8 * pageBytes }).finally(() => (done = true));
  let turns = 0;
  while (!done && turns < 100_000) {
    applyEntry(f); // the event loop is free between backup steps
    turns++;
    await nextTurn();
  }
  const snapshot = await pending;
  t.log(`turns ${turns}, started at ${startedAt}, copy at ${snapshot.appliedIndex}`);
  t.true(turns > 10, `applied ${turns} entries during the copy`);
  t.true(snapshot.appliedIndex > startedAt, "writes made during the copy are folded into it");
  const copy = new Fixture(StateDatabase.open(snapshot.path));
  t.teardown(() => copy.close());
  t.is(copy.ks.dbSize(0, 0), snapshot.appliedIndex, 'exactly the entries up to the claimed index');
  t.not(copy.ks.lookup(0, b(`k${snapshot.appliedIndex}`), 0), null);
  t.is(copy.ks.lookup(0, b(`k${snapshot.appliedIndex + 1}`), 0), null);
});

test('restoreFrom swaps in the snapshot atomically and reopens it', async (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const statePath = join(temp.dir, 'state.db');
  const f = new Fixture(StateDatabase.open(statePath));
  for (let i = 0; i < 20; i++) applyEntry(f);
  const snapshot = await createSnapshot(f.state, join(temp.dir, 'snap.db'));
  const expected = stateDigest(f.state);
  for (let i = 0; i < 20; i++) applyEntry(f); // diverge past the snapshot
  const restored = restoreFrom(f.state, snapshot.path);
  t.teardown(() => restored.close());
  t.false(f.state.sqlite.open, 'the old handle is closed');
  t.false(existsSync(snapshot.path), 'the snapshot file was moved into place');
  t.deepEqual(restored.applied(), { index: 20, term: 1 });
  t.is(stateDigest(restored), expected);
  t.is(restored.sqlite.pragma('journal_mode', { simple: true }), 'wal');
  const ks = new Keyspace(restored);
  t.is(ks.lookup(0, b('k21'), 0), null);
  restored.transaction(() => {
    ks.setString(0, b('after'), b('v'), null, 0, logIndex(21));
  });
  t.not(ks.lookup(0, b('after'), 0), null);
});

test('a snapshot of a newer schema version is refused and the state is left alone', async (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const f = new Fixture(StateDatabase.open(join(temp.dir, 'state.db')));
  t.teardown(() => f.close());
  applyEntry(f);
  const snapshot = await createSnapshot(f.state, join(temp.dir, 'snap.db'));
  const raw = openSqlite(snapshot.path);
  raw.pragma('user_version = 99');
  raw.close();
  t.throws(() => inspectSnapshot(snapshot.path), { instanceOf: SchemaVersionError });
  t.throws(() => restoreFrom(f.state, snapshot.path), { instanceOf: SchemaVersionError });
  t.true(f.state.sqlite.open);
  t.deepEqual(f.state.applied(), { index: 1, term: 1 });
});

test('a bad flush interval is refused before anything is copied', async (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const f = new Fixture();
  t.teardown(() => f.close());
  await t.throwsAsync(createSnapshot(f.state, join(temp.dir, 'snap.db'), { flushEveryBytes: 0 }), { message: /flushEveryBytes 0 is invalid/ });
  t.false(existsSync(join(temp.dir, 'snap.db.partial')));
});

test('an in-memory state can be snapshotted to a file', async (t) => {
  const temp = tempDir();
  t.teardown(temp.remove);
  const f = new Fixture();
  applyEntry(f);
  applyEntry(f);
  const snapshot = await createSnapshot(f.state, join(temp.dir, 'snap.db'));
  t.is(snapshot.appliedIndex as number, 2);
  t.throws(() => restoreFrom(f.state, snapshot.path), { message: /in-memory/ });
});
