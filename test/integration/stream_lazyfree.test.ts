// Lazy free of large streams in a real raftis process: DEL of a stream with more rows
// than RELEASE_NOW_ROWS_MAX answers at once and the key is gone; INFO memory's
// lazyfree_pending_objects counts it until the leader's reclaim entries have removed its
// rows; the same key can hold a new stream meanwhile; after a clean shutdown the state
// file holds no row of the old stream. The removed rows count toward the size that makes
// the node commit its state.

import test from 'ava';
import { join } from 'node:path';
import { RELEASE_NOW_ROWS_MAX } from '../../src/state/index.ts';
import { openSqlite } from '../../src/state/sqlite.ts';
import { Cleanups, startRaftis } from '../support/processes.ts';
import { RespConn } from '../support/resp_conn.ts';
import { render } from '../support/resp_reply.ts';
import { waitUntil, within } from '../support/wait.ts';

const cleanups = new Cleanups();
test.after.always(() => cleanups.run());

const ENTRIES = RELEASE_NOW_ROWS_MAX * 40;

async function pendingObjects(c: RespConn): Promise<number> {
  const info = render(await c.call('INFO', 'memory'));
  const m = /lazyfree_pending_objects:(\d+)/.exec(info);
  if (m === null) throw new Error(`INFO memory has no lazyfree_pending_objects: ${info}`);
  return Number(m[1]);
}

test('DEL of a large stream frees its rows in bounded steps after the reply', async (t) => {
  const raftis = await startRaftis(cleanups);
  const c = await RespConn.open(raftis.port);
  t.teardown(() => c.close());
  // Pipelined in batches: the stream, a group and a pending entry per delivered entry.
  for (let i = 0; i < ENTRIES; i += 500) {
    for (let j = i; j < i + 500; j++) c.send('XADD', 's', `${j + 1}-0`, 'f', `v${j}`);
    for (let j = i; j < i + 500; j++) await c.read();
  }
  t.is(render(await c.call('XGROUP', 'CREATE', 's', 'g', '0')), '+OK');
  const read = render(await c.call('XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '100', 'STREAMS', 's', '>'));
  t.true(read.includes('100-0'), 'the group read 100 entries (now pending)');
  t.is(await pendingObjects(c), 0);

  const stateCommits = async (): Promise<number> => Number(/raft_state_commits:(\d+)/.exec(render(await c.call('INFO', 'raft')))![1]);
  const commitsBefore = await stateCommits();
  t.is(render(await c.call('DEL', 's')), ':1');
  // The reclaim of 40 000 rows takes 20 entries of 2000 (and the first waits for a 100 ms
  // timer), so INFO sent right after the DEL's reply still sees the stream waiting.
  t.is(await pendingObjects(c), 1, 'INFO counts the stream waiting to be freed');
  t.is(render(await c.call('EXISTS', 's')), ':0', 'the key is gone with the reply');
  t.is(render(await c.call('XADD', 's', '1-0', 'new', 'stream')), '"1-0"', 'the key takes a new stream at once');
  const reclaimStarted = performance.now();
  await waitUntil(async () => (await pendingObjects(c)) === 0, 'the released stream to be reclaimed', 20_000, 50);
  // Each removed row weighs 1 KiB toward the 16 MiB that make the node commit its state:
  // 40 000 rows, two commits (by time alone, one per 5 s).
  const commits = (await stateCommits()) - commitsBefore;
  t.true(commits >= 2, `${commits} state commits while reclaiming for ${(performance.now() - reclaimStarted).toFixed(0)} ms`);
  t.is(render(await c.call('XLEN', 's')), ':1');

  raftis.child.kill('SIGTERM');
  const exit = await within(raftis.exited, 'raftis to exit on SIGTERM', 15_000);
  t.is(exit.code, 0);
  const db = openSqlite(join(raftis.dir, 'state.db'), { readonly: true, fileMustExist: true });
  t.teardown(() => db.close());
  const count = (table: string): number => Number(db.prepare(`SELECT count(*) FROM ${table}`).pluck().get());
  t.is(count('stream_entries'), 1, "only the new stream's entry");
  t.is(count('streams'), 1);
  t.is(count('stream_garbage'), 0);
  for (const table of ['stream_pel', 'stream_groups', 'stream_consumers']) t.is(count(table), 0, table);
});
