// In-process server restarts: the state survives a clean stop, the log is replayed
// from the right place, and log compaction by snapshot keeps the log bounded while a
// restart still finds every key.

import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { parseConfig } from '../../src/config.ts';
import { createLog } from '../../src/log.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { startRaftis, strictClient } from '../support/crash_harness.ts';

const quiet = createLog('test', 'error', () => {});

async function boot(dir: string, extra: string[] = []): Promise<RunningServer> {
  return startServer(parseConfig(['--port', '0', '--dir', dir, ...extra], {}), quiet);
}

test('a clean restart keeps every key and replays nothing twice', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'raftis-restart-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let s = await boot(dir);
  let c = new Redis({ port: s.port, lazyConnect: true });
  await c.connect();
  for (let i = 0; i < 50; i++) await c.set(`k${i}`, `v${i}`);
  await c.incrby('counter', 5);
  c.disconnect();
  await s.stop();

  s = await boot(dir);
  c = new Redis({ port: s.port, lazyConnect: true });
  await c.connect();
  t.is(await c.get('k49'), 'v49');
  t.is(await c.incr('counter'), 6, 'the INCR was not applied twice on replay');
  t.is(await c.dbsize(), 51);
  c.disconnect();
  await s.stop();
});

test('log compaction by snapshot keeps the log short, and a restart still has every key', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'raftis-compact-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let s = await boot(dir, ['--snapshot-entries', '100']);
  let c = new Redis({ port: s.port, lazyConnect: true });
  await c.connect();
  const pipeline = c.pipeline();
  for (let i = 0; i < 1000; i++) pipeline.set(`key:${i}`, String(i));
  await pipeline.exec();
  for (let i = 0; i < 200 && s.node.wal.firstIndex() <= 1; i++) await c.set('tick', String(i));
  t.true(s.node.wal.firstIndex() > 1, 'the log was compacted');
  const info = await c.info('persistence');
  t.regex(info, /raft_snapshot_index:[1-9]/);
  c.disconnect();
  await s.stop();

  s = await boot(dir, ['--snapshot-entries', '100']);
  c = new Redis({ port: s.port, lazyConnect: true });
  await c.connect();
  t.is(await c.get('key:999'), '999');
  t.is(await c.get('key:0'), '0');
  t.true((await c.dbsize()) >= 1001);
  c.disconnect();
  await s.stop();
});

test('SAVE writes a consistent snapshot and LASTSAVE moves', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'raftis-save-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const s = await boot(dir);
  const c = new Redis({ port: s.port, lazyConnect: true });
  await c.connect();
  await c.set('a', '1');
  t.is(await c.save(), 'OK');
  t.true((await c.lastsave()) > 0);
  t.is(String(await c.bgsave()), 'Background saving started');
  c.disconnect();
  await s.stop();
});

test('after a commit that kept key rows in memory (SAVE, idle), DBSIZE, SCAN and INFO answer, and a restart has every key', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'raftis-overlay-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let s = await boot(dir);
  let c = new Redis({ port: s.port, lazyConnect: true });
  await c.connect();
  const p = c.pipeline();
  for (let i = 0; i < 3000; i++) p.set(`k${i}`, `v${i}`); // more than a commit writes back (1 000)
  await p.exec();
  // SAVE commits the state: the rows stay dirty in memory, saved as the key overlay.
  t.is(await c.save(), 'OK');
  t.is(await c.dbsize(), 3000);
  const [, keys] = await c.scan('0', 'COUNT', '5000');
  t.is(keys.length, 3000);
  t.regex(await c.info('keyspace'), /db0:keys=3000,/);
  await c.set('after', 'x');
  c.disconnect();
  await s.stop();
  s = await boot(dir);
  c = new Redis({ port: s.port, lazyConnect: true });
  await c.connect();
  t.is(await c.dbsize(), 3001);
  t.is(await c.get('k2999'), 'v2999');
  c.disconnect();
  await s.stop();
});

/** A fresh server in its own dir, a client, and its INFO raft_state_commits; torn down with the test. */
async function commitCounting(t: ExecutionContext, label: string): Promise<{ c: Redis; commits(): Promise<number> }> {
  const dir = mkdtempSync(join(tmpdir(), `raftis-commit-${label}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const s = await boot(dir);
  t.teardown(() => s.stop());
  const c = new Redis({ port: s.port, lazyConnect: true });
  t.teardown(() => c.disconnect());
  await c.connect();
  return { c, commits: async () => Number(/raft_state_commits:(\d+)/.exec(await c.info('raft'))![1]) };
}

test('the state commits after each ~16 MiB of stream rows written, not only every 5 s', async (t) => {
  const { c, commits } = await commitCounting(t, 'bytes');
  const before = await commits();
  const started = performance.now();
  const value = Buffer.alloc(1 << 20, 0x61);
  for (let i = 0; i < 64; i++) await c.xadd('big', '*', 'v', value); // one 1 MiB row each
  const elapsedMs = performance.now() - started;
  const made = (await commits()) - before;
  // By time alone there would be one commit per 5 s at most; by size, one per 16 MiB.
  t.true(made >= 4, `${made} state commits for 64 MiB of stream rows in ${elapsedMs.toFixed(0)} ms`);
  t.is(await c.xlen('big'), 64);
});

test('the state commits once the node is idle for half a second, not 5 s after the batch opened', async (t) => {
  const { c, commits } = await commitCounting(t, 'idle');
  // Let whatever the start applied be committed, then write once and go idle.
  const settled = performance.now();
  for (let before = -1, now = await commits(); before !== now && performance.now() - settled < 10_000; ) {
    before = now;
    await new Promise((r) => setTimeout(r, 700));
    now = await commits();
  }
  const before = await commits();
  await c.set('k', 'v');
  const wrote = performance.now();
  while ((await commits()) === before && performance.now() - wrote < 4000) await new Promise((r) => setTimeout(r, 50));
  const tookMs = performance.now() - wrote;
  t.true((await commits()) > before && tookMs < 3000, `the write's batch was committed ${tookMs.toFixed(0)} ms after it`);
});

test('SIGKILL after a timed commit under rewrites of 5 000 keys: their values come from its key overlay, every one survives', async (t) => {
  t.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'raftis-ahead-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let proc = await startRaftis(dir);
  t.teardown(() => void proc.signal('SIGKILL').catch(() => {}));
  const c = strictClient(proc.port);
  await c.connect();
  const commits = async (): Promise<number> => Number(/raft_state_commits:(\d+)/.exec(await c.info('raft'))![1]);
  const acked = new Map<string, string>();
  const write = async (prefix: string, round: number): Promise<void> => {
    const batch = Array.from({ length: 50 }, (_, i): [string, string] => [`${prefix}${(round * 50 + i * 97) % 5000}`, `v${round}.${i}`]);
    const p = c.pipeline();
    for (const [k, v] of batch) p.set(k, v);
    const replies = await p.exec();
    batch.forEach(([k, v], i) => {
      if (replies?.[i]?.[0] === null) acked.set(k, v);
    });
  };
  // Rewrites over 5 000 keys until a timed commit (5 s after its batch opened) saved the
  // changed rows as the key overlay; then other keys only, so what the first ones hold
  // after the restart comes from that commit, not from the log replayed after it.
  const before = await commits();
  const started = performance.now();
  let round = 0;
  for (; (await commits()) === before && performance.now() - started < 12_000 && round < 100_000; round++) {
    for (let i = 0; i < 10; i++) await write('a', round * 10 + i);
  }
  t.true((await commits()) > before, `a timed commit within ${(performance.now() - started).toFixed(0)} ms of load`);
  for (const until = performance.now() + 1000; performance.now() < until; round++) await write('b', round);
  const exit = await proc.signal('SIGKILL');
  t.is(exit.signal, 'SIGKILL');
  c.disconnect();
  proc = await startRaftis(dir);
  const again = strictClient(proc.port);
  await again.connect();
  t.teardown(() => again.disconnect());
  const keys = [...acked.keys()];
  const values = await again.mget(...keys);
  const wrong = keys.filter((k, i) => values[i] !== acked.get(k));
  t.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${keys.length} keys lost their last acknowledged value`);
  t.is(await again.dbsize(), keys.length);
});
