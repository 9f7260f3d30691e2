// `npx node bench/cluster_tail.ts [--seconds 15] [--rounds 3] [--other-tree DIR]`:
// the tail of write latency on a 3-node raftis cluster (real nats-server, loopback):
// closed-loop SETs, --in-flight at a time over as many ioredis connections to the leader,
// 100-byte values over --keyspace keys, for --seconds after a 3 s warm-up, on a fresh
// cluster per round. Prints per round writes/s, p50, p99, p99.9, max and how many writes
// took over 10 and 30 ms. With --other-tree (a checkout of another commit, e.g. from
// `git worktree add`), rounds alternate between that tree and this one, so the two are
// compared in one run on the same machine. Processes are stopped by PID, dirs removed.

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Cluster } from '../test/support/cluster.ts';
import { Cleanups } from '../test/support/processes.ts';
import { positive } from './lib/args.ts';
import { valueOf } from './lib/load_gen.ts';
import { log, runBench } from './lib/run_bench.ts';
import { fmtInt, fmtMs, markdownTable } from './lib/table.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    rounds: { type: 'string', default: '3' },
    'in-flight': { type: 'string', default: '50' },
    keyspace: { type: 'string', default: '100000' },
    'other-tree': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write('usage: npx node bench/cluster_tail.ts [--seconds S] [--rounds N] [--in-flight N] [--keyspace N] [--other-tree DIR]\n');
  process.exit(0);
}
const SECONDS = positive('seconds', values.seconds);
const ROUNDS = positive('rounds', values.rounds);
const IN_FLIGHT = positive('in-flight', values['in-flight']);
const KEYSPACE = positive('keyspace', values.keyspace);
const WARMUP_MS = 3000;
const trees: Array<{ name: string; main: string | undefined }> = [{ name: 'this tree', main: undefined }];
if (values['other-tree'] !== undefined) trees.unshift({ name: values['other-tree'], main: join(values['other-tree'], 'src/main.ts') });

interface Tail {
  readonly opsPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly over10: number;
  readonly over30: number;
}

/** Closed-loop SETs on `conns` until `ms` have passed; latencies of those that completed. */
async function load(conns: readonly Redis[], ms: number): Promise<number[]> {
  const latencies: number[] = [];
  const end = performance.now() + ms;
  let seq = 0;
  await Promise.all(conns.map(async (c) => {
    while (performance.now() < end) {
      const n = seq++;
      const t0 = performance.now();
      await c.set(`key:${n % KEYSPACE}`, valueOf(n, 100));
      latencies.push(performance.now() - t0);
    }
  }));
  return latencies;
}

/** The running round's processes and dirs (stopped by the round, or by runBench on SIGINT). */
let cleanups = new Cleanups();

async function round(main: string | undefined): Promise<Tail> {
  cleanups = new Cleanups();
  try {
    const cluster = await Cluster.start(cleanups, { main, appendfsync: 'always', flags: ['--loglevel', 'warning'] });
    const { id: leader } = await cluster.waitForLeader(15_000);
    const conns = Array.from({ length: IN_FLIGHT }, () => new Redis({ port: cluster.node(leader).port, enableReadyCheck: false }));
    cleanups.teardown(() => conns.forEach((c) => c.disconnect()));
    await load(conns, WARMUP_MS);
    const started = performance.now();
    const ms = Float64Array.from(await load(conns, SECONDS * 1000)).sort();
    const at = (q: number): number => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!;
    return {
      opsPerSec: (ms.length / (performance.now() - started)) * 1000,
      p50: at(0.5), p99: at(0.99), p999: at(0.999), max: ms[ms.length - 1]!,
      over10: ms.filter((x) => x > 10).length,
      over30: ms.filter((x) => x > 30).length,
    };
  } finally {
    await cleanups.run();
  }
}

await runBench(async () => {
  const rows: string[][] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    for (const tree of trees) {
      log(`round ${r}: ${tree.name}`);
      const x = await round(tree.main);
      rows.push([String(r), tree.name, fmtInt(x.opsPerSec), fmtMs(x.p50), fmtMs(x.p99), fmtMs(x.p999), fmtMs(x.max), fmtInt(x.over10), fmtInt(x.over30)]);
    }
  }
  process.stdout.write(`\n3 nodes, ${IN_FLIGHT} SETs in flight to the leader, ${KEYSPACE} keys, ${SECONDS} s per round\n`);
  process.stdout.write(`${markdownTable(['round', 'tree', 'writes/s', 'p50', 'p99', 'p99.9', 'max', '> 10 ms', '> 30 ms'], rows)}\n`);
}, () => cleanups.run());
