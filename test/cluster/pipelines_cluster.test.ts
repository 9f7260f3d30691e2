// Pipelines on every node of a cluster: reads behind reads share one read point (one
// ReadIndex round for the lot), yet every reply is what running the pipeline one
// command at a time gives — a read sees each earlier write of its connection and no
// later one, on the leader and on followers (whose writes are forwarded), also with
// stale reads.

import test from 'ava';
import { Cluster } from '../support/cluster.ts';
import { Rng } from '../sim/rng.ts';

/** A seeded pipeline over a few keys and what a sequential run of it answers. */
function pipeline(seed: number, prefix: string, length: number): { commands: string[][]; expected: unknown[] } {
  const rng = new Rng(seed);
  const next = (): number => rng.nextInt(1_000_000) / 1_000_000;
  const model = new Map<string, string>();
  const commands: string[][] = [];
  const expected: unknown[] = [];
  for (let i = 0; i < length; i++) {
    const key = `${prefix}:${Math.floor(next() * 3)}`;
    const r = next();
    if (r < 0.25) {
      const v = String((Number(model.get(key) ?? '0') || 0) + 1);
      model.set(key, v);
      commands.push(['INCR', key]);
      expected.push(Number(v));
    } else if (r < 0.35) {
      model.set(key, String(i));
      commands.push(['SET', key, String(i)]);
      expected.push('OK');
    } else {
      // Runs of reads, so that several wait on one read point together.
      commands.push(['GET', key]);
      expected.push(model.get(key) ?? null);
    }
  }
  return { commands, expected };
}

test('pipelined reads and writes on every node answer as if run one at a time', async (t) => {
  const cluster = await Cluster.start(t);
  await cluster.waitForLeader(10_000);
  // Round 3 reads with RAFT CONSISTENCY stale: this node's state as it is, yet after the
  // connection's own writes, also those a follower forwarded and has not applied yet.
  const runs = cluster.founders.flatMap((id, n) =>
    [1, 2, 3].map(async (round) => {
      const c = await cluster.client(id, { commandTimeoutMs: 20_000 });
      if (round === 3) t.is(await c.call('RAFT', 'CONSISTENCY', 'stale'), 'OK');
      const { commands, expected } = pipeline(n * 10 + round, `${id}:${round}`, 300);
      const p = c.pipeline();
      for (const [name, ...args] of commands) p.call(name!, ...args);
      const replies = (await p.exec())!.map(([error, value]) => (error ? `error: ${error.message}` : value));
      t.deepEqual(replies, expected, `pipeline ${round} on ${id}`);
    }),
  );
  await Promise.all(runs);
});
