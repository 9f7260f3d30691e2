// The cluster floor (bench/lib/cluster_floor.ts) that bench/compare.ts measures beside
// raftis: its figures mean something only if it does what it claims. Started as the bench
// starts it (real processes, a real nats-server): every SET is acknowledged only once held
// by a majority, and after a load every node holds every key and has logged every byte the
// leader logged.

import test from 'ava';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { cleanup, startFloorCluster } from '../../bench/lib/processes.ts';
import { waitUntil } from '../support/wait.ts';

const KEYS = 2000;

test('the cluster floor acknowledges SETs held by a majority; every node ends with every key and the same log', async (t) => {
  t.teardown(() => cleanup());
  const floor = await startFloorCluster(3);
  const [leader, ...followers] = floor.nodes;
  const stdout = new Map(floor.nodes.map((n) => [n.id, '']));
  for (const n of floor.nodes) n.child.stdout!.on('data', (s: string) => stdout.set(n.id, stdout.get(n.id) + s));
  const logBytes = (): number[] => floor.nodes.map((n) => statSync(join(n.dir, 'floor.log')).size);

  // With both followers stopped (SIGSTOP), a SET must not be acknowledged...
  for (const f of followers) f.child.kill('SIGSTOP');
  const r = new Redis({ port: floor.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  t.teardown(() => r.disconnect());
  const held = r.set('held', 'x');
  let answered = false;
  void held.then(() => (answered = true));
  // The leader logged (and published) the SET; its own fsync takes about a millisecond.
  // An absence is watched for a bounded window: a leader that answered on its own fsync
  // would have done so well within it.
  await waitUntil(() => logBytes()[0]! > 0, 'the leader to log the SET', 15_000);
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
  t.true(logBytes()[0]! > KEYS * 100, 'the leader logged every value');
  await waitUntil(() => logBytes().every((s) => s === logBytes()[0]), 'each follower to log the same bytes as the leader', 15_000);
  // Then each node says how many keys it holds as it stops.
  await floor.stop();
  // A process's last output can reach us just after its exit does.
  await waitUntil(() => floor.nodes.every((n) => /stopping: \d+ keys/.test(stdout.get(n.id)!)), 'every node to say what it holds', 5_000);
  for (const n of [leader!, ...followers]) t.regex(stdout.get(n.id)!, new RegExp(`stopping: ${KEYS + 1} keys`), n.id);
});
