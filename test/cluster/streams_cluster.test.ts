// Streams across a cluster: blocked XREAD and XREADGROUP clients on followers are woken by
// an XADD sent to the leader; consumer-group state is the same on every node; a large
// stream deleted anywhere is reclaimed on every node by the leader's 'reclaim' entries.

import test from 'ava';
import { RELEASE_NOW_ROWS_MAX } from '../../src/state/index.ts';
import { Cluster } from '../support/cluster.ts';
import { waitUntil } from '../support/wait.ts';

test('blocked XREAD and XREADGROUP on followers wake when the leader takes an XADD', async (t) => {
  const cluster = await Cluster.start(t);
  const { id: leader } = await cluster.waitForLeader(10_000);
  const [f1, f2] = cluster.founders.filter((id) => id !== leader) as [string, string];
  const l = await cluster.client(leader);
  t.is(await l.call('XGROUP', 'CREATE', 'q', 'g', '$', 'MKSTREAM'), 'OK');
  const reader = await cluster.client(f1, { commandTimeoutMs: 20_000 });
  const consumer = await cluster.client(f2, { commandTimeoutMs: 20_000 });
  const read = reader.call('XREAD', 'BLOCK', '10000', 'STREAMS', 'q', '$');
  const group = consumer.call('XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '1', 'BLOCK', '10000', 'STREAMS', 'q', '>');
  // Both must be blocked before the XADD: wait until the followers report blocked clients.
  for (const id of [f1, f2]) {
    const c = await cluster.client(id);
    const deadline = Date.now() + 10_000;
    while (!/blocked_clients:[1-9]/.test(String(await c.info('clients'))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }
  const added = String(await l.call('XADD', 'q', '*', 'job', '42'));
  const [r, g] = await Promise.all([read, group]);
  // ioredis's call() unwraps a one-stream reply: compare in one shape.
  const oneStream = (x: unknown): string => JSON.stringify(Array.isArray(x) && typeof x[0] === 'string' ? [x] : x);
  t.is(oneStream(r), JSON.stringify([['q', [[added, ['job', '42']]]]]));
  t.is(oneStream(g), JSON.stringify([['q', [[added, ['job', '42']]]]]));
  // The delivery is in the replicated state: every node shows it pending for c1.
  for (const id of cluster.founders) {
    const c = await cluster.client(id);
    const summary = (await c.call('XPENDING', 'q', 'g')) as unknown[];
    t.is(summary[0], 1, `${id} sees one pending entry`);
  }
});

test('a large stream deleted through a follower is reclaimed on every node by the leader\'s replicated entries', async (t) => {
  const cluster = await Cluster.start(t);
  const { id: leader } = await cluster.waitForLeader(10_000);
  const follower = cluster.founders.find((id) => id !== leader)!;
  const l = await cluster.client(leader);
  const entries = RELEASE_NOW_ROWS_MAX * 4;
  for (let i = 0; i < entries; i += 500) {
    const p = l.pipeline();
    for (let j = i; j < i + 500; j++) p.xadd('big', `${j + 1}-0`, 'f', String(j));
    await p.exec();
  }
  t.is(await l.xlen('big'), entries);
  const f = await cluster.client(follower);
  t.is(await f.del('big'), 1, 'the DEL is forwarded to the leader');
  const pending = async (id: string): Promise<number> =>
    Number(/lazyfree_pending_objects:(\d+)/.exec(String(await (await cluster.client(id)).info('memory')))?.[1] ?? -1);
  await waitUntil(
    async () => (await Promise.all(cluster.founders.map(pending))).every((n) => n === 0),
    'every node to reclaim the deleted stream',
    20_000,
    50,
  );
  for (const id of cluster.founders) t.is(await (await cluster.client(id)).exists('big'), 0, `${id}: the key is gone`);
  // The same key takes a new stream, and every node agrees on it.
  t.is(await l.xadd('big', '1-0', 'again', 'yes'), '1-0');
  await cluster.waitConverged();
  for (const id of cluster.founders) t.is(await (await cluster.client(id)).xlen('big'), 1, `${id}: XLEN of the new stream`);
});
