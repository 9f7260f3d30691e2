// `npx node bench/cluster.ts [--requests 20000] [--clients 50] [--pipelines 1,16] [--tests set,get]`:
// redis-benchmark SET/GET against a 3-node raftis cluster (appendfsync always, real
// nats-server) on its leader and on a follower (writes forwarded, reads by ReadIndex),
// against a single raftis node, and against redis-server (appendonly, fsync always).
// Prints rps and p50/p99 per target and ratios to single-node raftis and to redis.
// Cleans up every process it started (by PID) and its temp dirs.

import { parseArgs } from 'node:util';
import { cleanup, startRaftis, startRedis } from './lib/processes.ts';
import { runBenchmark, type BenchResult } from './lib/redis_benchmark.ts';
import { Cluster } from '../test/support/cluster.ts';
import { Cleanups } from '../test/support/processes.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    clients: { type: 'string', default: '50' },
    pipelines: { type: 'string', default: '1,16' },
    tests: { type: 'string', default: 'set,get' },
    'value-bytes': { type: 'string', default: '100' },
    keyspace: { type: 'string', default: '10000' },
  },
});
const num = (name: string, raw: string): number => {
  const v = Number(raw);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return v;
};
const REQUESTS = num('requests', values.requests);
const CLIENTS = num('clients', values.clients);
const PIPELINES = values.pipelines.split(',').map((p) => num('pipelines', p));
const TESTS = values.tests.split(',').map((t) => {
  if (t !== 'set' && t !== 'get') throw new Error(`--tests takes set and/or get, got ${t}`);
  return t;
});

const owner = new Cleanups();
const stopAll = async (): Promise<void> => {
  await owner.run().catch((e: unknown) => process.stderr.write(`cleanup: ${String(e)}\n`));
  await cleanup();
};
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void stopAll().finally(() => process.exit(130)));

try {
  const cluster = await Cluster.start(owner, { flags: ['--loglevel', 'warning'] });
  const { id: leader } = await cluster.waitForLeader(10_000);
  const follower = cluster.founders.find((id) => id !== leader)!;
  const single = await startRaftis();
  const redis = await startRedis();
  const targets = [
    { name: `cluster leader (${leader})`, port: cluster.node(leader).port },
    { name: `cluster follower (${follower})`, port: cluster.node(follower).port },
    { name: 'raftis single node', port: single.port },
    { name: 'redis-server', port: redis.port },
  ];
  process.stdout.write(`redis-benchmark -n ${REQUESTS} -c ${CLIENTS}, 100-byte values, appendfsync always everywhere\n`);
  for (const test of TESTS) {
    for (const pipeline of PIPELINES) {
      const results: BenchResult[] = [];
      for (const t of targets) {
        results.push(await runBenchmark({ port: t.port, test, requests: REQUESTS * (pipeline > 1 ? 5 : 1), clients: CLIENTS, pipeline, valueBytes: num('value-bytes', values['value-bytes']), keyspace: num('keyspace', values.keyspace) }));
      }
      process.stdout.write(`\n${test.toUpperCase()} -P ${pipeline}\n`);
      const singleRps = results[2]!.rps;
      const redisRps = results[3]!.rps;
      targets.forEach((t, i) => {
        const r = results[i]!;
        process.stdout.write(
          `  ${t.name.padEnd(24)} ${r.rps.toFixed(0).padStart(8)} rps  p50 ${r.p50Ms.toFixed(2).padStart(7)} ms  p99 ${r.p99Ms.toFixed(2).padStart(7)} ms  ` +
            `×single ${(r.rps / singleRps).toFixed(2)}  ×redis ${(r.rps / redisRps).toFixed(2)}\n`,
        );
      });
    }
  }
  if (cluster.crashes.length > 0) process.stdout.write(`nodes that exited by themselves:\n${cluster.crashes.join('\n')}\n`);
} finally {
  await stopAll();
}
