// The background checkpointer of state.db: its worker copies committed WAL frames into the
// database file while the main connection (automatic checkpoint off) keeps writing; stop()
// returns only once the worker's connection is closed, after which the main connection
// can checkpoint and restore alone; a snapshot copy still completes while it runs.

import test, { type ExecutionContext } from 'ava';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { logIndex, term } from '../../consensus/index.ts';
import { AUTO_CHECKPOINT_PAGES, createSnapshot, Keyspace, restoreFrom, StateDatabase } from '../../src/state/index.ts';
import { StateCheckpointer, waitsForWorker, type CheckpointerOptions } from '../../src/replication/state_checkpointer.ts';
import { b, tempDir } from '../state/helpers.ts';
import { waitUntil } from '../support/wait.ts';

/** Applies `n` SETs of 1000-byte values from `from` on, each batch committed (as the node does every second). */
function write(state: StateDatabase, ks: Keyspace, from: number, n: number): number {
  state.beginBatch();
  for (let i = from; i < from + n; i++) {
    state.transaction(() => {
      ks.setString(0, b(`k${i}`), Buffer.alloc(1000, i & 0xff), null, 0, logIndex(i));
      state.setApplied(logIndex(i), term(1));
    });
  }
  // All key rows to `keys` (no key overlay): the WAL then carries only the pages the writes touch.
  ks.rows.flush();
  state.commitBatch();
  return from + n;
}

/** A file state database (not locked exclusively) with a checkpointer, all torn down after the test. */
function setup(t: ExecutionContext, options: CheckpointerOptions): { state: StateDatabase; ks: Keyspace; checkpointer: StateCheckpointer; dir: string } {
  const temp = tempDir();
  t.teardown(temp.remove);
  const state = StateDatabase.open(join(temp.dir, 'state.db'), { exclusiveLock: false });
  const s = { state, ks: new Keyspace(state), checkpointer: new StateCheckpointer(state, options), dir: temp.dir };
  t.teardown(() => s.state.close()); // the state a test restored, if it did
  t.teardown(() => s.checkpointer.stop());
  return s;
}

test('the worker checkpoints while the main connection writes with its automatic checkpoint off; stop() hands the file back', async (t) => {
  const { state, ks, checkpointer } = setup(t, { everyMs: 5 });
  t.is(state.sqlite.pragma('wal_autocheckpoint', { simple: true }), 0, 'the main connection no longer checkpoints');
  const fileBytes = (): number => statSync(state.path).size;
  const before = fileBytes();
  let next = write(state, ks, 1, 3000); // ~3 MB of values: far below SQLite's own threshold
  await waitUntil(() => fileBytes() > before + 2_000_000, 'the worker to copy the WAL into the database file', 10_000, 10);
  t.true(checkpointer.checkpoints > 0);
  next = write(state, ks, next, 500);
  checkpointer.stop();
  checkpointer.stop(); // idempotent
  t.is(state.sqlite.pragma('wal_autocheckpoint', { simple: true }), AUTO_CHECKPOINT_PAGES, 'SQLite checkpoints on commit again');
  t.not(state.checkpoint(), null, 'a TRUNCATE checkpoint succeeds: no other connection holds the WAL');
  t.is(Number(state.applied().index), next - 1);
});

test('a snapshot copy completes while the worker checkpoints and writes go on, and restores', async (t) => {
  const fixture = setup(t, { everyMs: 2 });
  const { state, ks, checkpointer } = fixture;
  let next = write(state, ks, 1, 2000);
  let done = false;
  const pending = createSnapshot(state, join(fixture.dir, 'snap.db'), { pagesPerStep: 4 }).finally(() => (done = true));
  let turns = 0;
  while (!done && turns < 20_000) {
    next = write(state, ks, next, 1);
    turns++;
    if (turns % 50 === 0) await sleep(3); // let the worker checkpoint between steps
    else await nextTurn();
  }
  const snapshot = await pending;
  t.true(done, `the copy finished (${turns} turns, ${checkpointer.checkpoints} checkpoints meanwhile)`);
  t.true(checkpointer.checkpoints > 0);
  checkpointer.stop();
  const restored = (fixture.state = restoreFrom(state, snapshot.path));
  t.false(restored.exclusiveLock, 'the restored database is opened as the original was');
  t.is(restored.applied().index, snapshot.appliedIndex);
  t.is(new Keyspace(restored).dbSize(0, 0), snapshot.appliedIndex);
});

test('under steady writes afterCommit() lets the WAL restart, so the file stays bounded', async (t) => {
  const { state, ks, checkpointer } = setup(t, { everyMs: 20, walResetBytes: 1 << 20, helpEveryMs: 0 });
  const walBytes = (): number => statSync(`${state.path}-wal`).size;
  let next = 1;
  let maxWal = 0;
  let restarts = 0;
  for (let batch = 0; batch < 25; batch++) {
    // As on a busy node: each batch (~2.5 MB of pages) begins right after the last commit,
    // and the worker looks at the WAL between commits (every second; commits are 5 s apart).
    next = write(state, ks, next, 2000);
    const rounds = checkpointer.checkpoints;
    await waitUntil(() => checkpointer.checkpoints > rounds, 'a worker round after the commit', 5000, 2);
    if (checkpointer.afterCommit()) restarts++;
    maxWal = Math.max(maxWal, walBytes());
  }
  t.log(`WAL at most ${(maxWal / 1048576).toFixed(1)} MiB over 25 batches; ${restarts} commits left the WAL fully copied`);
  t.true(restarts > 0);
  t.true(maxWal < 16 << 20, `the WAL stayed under 16 MiB (it was ${maxWal} bytes; ~60 MiB were written)`);
});

test('refused on an in-memory or exclusively locked database', (t) => {
  const memory = StateDatabase.open(':memory:');
  t.teardown(() => memory.close());
  t.throws(() => new StateCheckpointer(memory), { message: /in-memory/ });
  const temp = tempDir();
  t.teardown(temp.remove);
  const locked = StateDatabase.open(join(temp.dir, 'state.db'));
  t.teardown(() => locked.close());
  t.throws(() => new StateCheckpointer(locked), { message: /exclusiveLock: false/ });
});

test('a WAL that grew large shrinks back by at most one step per restart', async (t) => {
  const MiB = 1 << 20;
  const { state, ks, checkpointer } = setup(t, { everyMs: 10, walResetBytes: MiB, shrinkStepBytes: 4 * MiB, helpEveryMs: 0 });
  const walBytes = (): number => statSync(`${state.path}-wal`).size;
  // One batch of ~20 MB before anyone helps the WAL restart: the file keeps that size.
  let next = write(state, ks, 1, 20_000);
  const peak = walBytes();
  t.true(peak > 16 * MiB, `the WAL grew to ${peak} bytes`);
  const sizes = [peak];
  for (let batch = 0; batch < 40 && walBytes() > 3 * MiB; batch++) {
    // Each batch puts ~2 MB in the WAL: past walResetBytes once the worker has seen it.
    await waitUntil(() => checkpointer.walBytesInUse > MiB, 'the worker to report the WAL in use', 5000, 2);
    checkpointer.afterCommit();
    next = write(state, ks, next, 2000);
    sizes.push(walBytes());
  }
  t.log(`WAL file sizes (MiB): ${sizes.map((x) => (x / MiB).toFixed(1)).join(' ')}`);
  for (let i = 1; i < sizes.length; i++) {
    t.true(sizes[i - 1]! - sizes[i]! <= 4 * MiB, `commit ${i} truncated ${sizes[i - 1]! - sizes[i]!} bytes at once`);
  }
  t.true(walBytes() <= 3 * MiB, `the WAL came back near the reset size (it is ${walBytes()} bytes)`);
  checkpointer.stop();
  t.is(state.sqlite.pragma('journal_size_limit', { simple: true }), 64 * MiB, 'stop() puts the default limit back');
});

test('a WAL restart that nobody helped (after an idle spell) also frees at most one step', async (t) => {
  const MiB = 1 << 20;
  const { state, ks, checkpointer } = setup(t, { everyMs: 1000, walResetBytes: MiB, shrinkStepBytes: 4 * MiB });
  const walBytes = (): number => statSync(`${state.path}-wal`).size;
  let next = write(state, ks, 1, 200);
  checkpointer.afterCommit(); // the file is small: the limit is the reset size
  next = write(state, ks, next, 20_000); // ~20 MB in one batch
  checkpointer.afterCommit(); // the worker has not looked yet: no help, but the limit follows the file
  const peak = walBytes();
  t.true(peak > 16 * MiB, `the WAL grew to ${peak} bytes`);
  // Idle: the worker copies every frame, so the next transaction restarts the WAL on its own.
  const rounds = checkpointer.checkpoints;
  await waitUntil(() => checkpointer.checkpoints >= rounds + 2, 'two worker rounds', 10_000, 10);
  write(state, ks, next, 20);
  const after = walBytes();
  t.true(after < peak, `the restart's commit truncated the file (${peak} -> ${after})`);
  t.true(peak - after <= 4 * MiB, `it freed ${peak - after} bytes at once`);
});

test('afterCommit() waits for the worker at most once per helpEveryMs; other calls only wake it', async (t) => {
  const MiB = 1 << 20;
  const { state, ks, checkpointer } = setup(t, { everyMs: 10, walResetBytes: MiB, helpEveryMs: 60_000 });
  write(state, ks, 1, 2000); // ~2 MB: past the reset size
  await waitUntil(() => checkpointer.walBytesInUse > MiB, 'the worker to report the WAL in use', 5000, 2);
  t.true(checkpointer.afterCommit(), 'the first call waited for a round that copied every frame');
  t.false(checkpointer.afterCommit(), 'the second, within helpEveryMs, returned without waiting');
});

test('waitsForWorker: not within helpEveryMs of the last wait, nor while the worker is over 8 MiB behind', (t) => {
  const MiB = 1 << 20;
  t.true(waitsForWorker(10_000, 4_000, 5000, 0));
  t.false(waitsForWorker(8_000, 4_000, 5000, 0), 'too soon');
  t.true(waitsForWorker(10_000, -Infinity, 5000, 8 * MiB));
  t.false(waitsForWorker(10_000, -Infinity, 5000, 8 * MiB + 1), 'far behind: a round would not finish in time');
});
