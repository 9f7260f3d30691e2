// The cluster floor (bench/lib/cluster_floor.ts) that bench/compare.ts measures beside
// raftis: its figures mean something only if it does what it claims. Real processes and
// a real nats-server: every SET is acknowledged only once held by a majority, and after
// a load every node holds every key and has logged every byte the leader logged.

import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Cleanups, ServerProcess } from '../support/processes.ts';
import { waitUntil } from '../support/wait.ts';
import { startNats } from '../transport/nats_server.ts';

const FLOOR = fileURLToPath(new URL('../../bench/lib/cluster_floor.ts', import.meta.url));
const KEYS = 2000;

test('the cluster floor acknowledges SETs held by a majority; every node ends with every key and the same log', async (t) => {
  const owner = new Cleanups();
  t.teardown(() => owner.run());
  const root = mkdtempSync(join(tmpdir(), 'cluster-floor-test-'));
  owner.teardown(() => rmSync(root, { recursive: true, force: true }));
  const nats = await startNats(owner);
  const node = (id: string, role: string[]): ServerProcess => {
    const dir = join(root, id);
    const child = spawn(process.execPath, [FLOOR, '--id', id, '--dir', dir, '--nats', `nats://127.0.0.1:${nats.port}`, ...role], { stdio: ['ignore', 'pipe', 'pipe'] });
    const p = new ServerProcess(id, 0, dir, child);
    owner.teardown(() => p.kill());
    return p;
  };
  for (const id of ['f1', 'f2', 'f3']) mkdirSync(join(root, id));
  const followers = [node('f2', ['--leader', 'f1']), node('f3', ['--leader', 'f1'])];
  for (const f of followers) await waitUntil(() => /following f1/.test(f.stdout) || !f.running, `${f.name} to subscribe`, 15_000);
  const leader = node('f1', ['--peers', 'f2,f3']);
  await waitUntil(() => /listening on \S+:\d+/.test(leader.stdout) || !leader.running, 'the leader to listen', 15_000);
  const port = Number(/listening on \S+:(\d+)/.exec(leader.stdout)![1]);

  // With both followers stopped (SIGSTOP), a SET must not be acknowledged...
  for (const f of followers) f.child.kill('SIGSTOP');
  const r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  owner.teardown(() => r.disconnect());
  const held = r.set('held', 'x');
  let answered = false;
  void held.then(() => (answered = true));
  // The leader logged (and published) the SET; its own fsync takes about a millisecond.
  // An absence is watched for a bounded window: a leader that answered on its own fsync
  // would have done so well within it.
  await waitUntil(() => statSync(join(root, 'f1', 'floor.log')).size > 0, 'the leader to log the SET', 15_000);
  await new Promise((res) => setTimeout(res, 300));
  t.false(answered, 'no majority, no reply');
  // ...and once one follower runs again, it is.
  followers[0]!.child.kill('SIGCONT');
  t.is(await held, 'OK');
  followers[1]!.child.kill('SIGCONT');

  const replies = await Promise.all(Array.from({ length: KEYS }, (_, i) => r.set(`k:${i}`, `v${i}`.padEnd(100, 'x'))));
  t.true(replies.every((x) => x === 'OK'));
  r.disconnect();
  // One follower may trail the acknowledgements: wait until both logged what the leader did.
  const sizes = (): number[] => ['f1', 'f2', 'f3'].map((id) => statSync(join(root, id, 'floor.log')).size);
  t.true(sizes()[0]! > KEYS * 100, 'the leader logged every value');
  await waitUntil(() => sizes().every((s) => s === sizes()[0]), 'each follower to log the same bytes as the leader', 15_000);
  // Then each node says how many keys it holds as it stops.
  await leader.stop();
  await Promise.all(followers.map((f) => f.stop()));
  for (const p of [leader, ...followers]) t.regex(p.stdout, new RegExp(`stopping: ${KEYS + 1} keys`), p.name);
});
