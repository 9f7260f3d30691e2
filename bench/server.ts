// `npx node bench/server.ts`: raftis (single node, appendfsync always) against a real
// redis-server (appendonly yes, appendfsync always, no RDB), side by side on fresh
// temp dirs, measured with redis-benchmark in one interleaved run (raftis, redis,
// raftis, redis… with the order swapped every round) so machine noise hits both.
// Reports rps, p50, p99 and the slowest reply per server and the raftis/redis ratio, the headline.
// Cleans up its processes and dirs on success, failure and SIGINT/SIGTERM.

import { mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { topSelfTime } from './lib/cpu_profile.ts';
import { cleanup, startRaftis, startRedis, type Server } from './lib/processes.ts';
import { runBenchmark, type BenchResult } from './lib/redis_benchmark.ts';
import { log, runBench } from './lib/run_bench.ts';
import { markdownTable, median } from './lib/table.ts';
import { positive } from './lib/args.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '100000' },
    'requests-pipelined': { type: 'string' },
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: '50' },
    pipelines: { type: 'string', default: '1,16' },
    tests: { type: 'string', default: 'set,get' },
    'value-bytes': { type: 'string', default: '100' },
    keyspace: { type: 'string', default: '100000' },
    profile: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(`usage: npx node bench/server.ts [--requests N] [--requests-pipelined N] [--rounds N]
       [--clients N] [--pipelines 1,16] [--tests set,get] [--value-bytes N] [--keyspace N]
       [--profile DIR]   (run raftis under node --cpu-prof, write the profile to DIR, print top self time)
`);
  process.exit(0);
}

const REQUESTS = positive('requests', values.requests);
const REQUESTS_PIPELINED = values['requests-pipelined'] === undefined ? REQUESTS * 5 : positive('requests-pipelined', values['requests-pipelined']);
const ROUNDS = positive('rounds', values.rounds);
const CLIENTS = positive('clients', values.clients);
const VALUE_BYTES = positive('value-bytes', values['value-bytes']);
const KEYSPACE = positive('keyspace', values.keyspace);
const PIPELINES = values.pipelines.split(',').map((p) => positive('pipelines', p));
const TESTS = values.tests.split(',').map((t) => {
  if (t !== 'set' && t !== 'get') throw new Error(`--tests takes set and/or get, got ${t}`);
  return t;
});
const PROFILE_DIR = values.profile === undefined ? null : resolve(values.profile);

interface Case {
  readonly test: 'set' | 'get';
  readonly pipeline: number;
  readonly label: string;
}

// Per pipeline depth: SET first so GET finds keys.
const CASES: readonly Case[] = PIPELINES.flatMap((pipeline) =>
  TESTS.map((test) => ({ test, pipeline, label: `${test.toUpperCase()} P${pipeline}` })),
);

type Results = Map<string, { raftis: BenchResult[]; redis: BenchResult[] }>;

async function main(): Promise<void> {
  const nodeFlags = PROFILE_DIR === null ? [] : ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR];
  if (PROFILE_DIR !== null) mkdirSync(PROFILE_DIR, { recursive: true });
  const [raftis, redis] = await Promise.all([startRaftis(nodeFlags), startRedis()]);
  log(`raftis pid ${raftis.pid} on ${raftis.port} (dir ${raftis.dir}); redis-server pid ${redis.pid} on ${redis.port} (dir ${redis.dir})`);
  log(`${ROUNDS} rounds; ${CLIENTS} clients; ${VALUE_BYTES}-byte values; keyspace ${KEYSPACE}; -n ${REQUESTS} at P1, ${REQUESTS_PIPELINED} pipelined`);
  const results: Results = new Map(CASES.map((c) => [c.label, { raftis: [], redis: [] }]));
  const startedMs = performance.now();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const c of CASES) {
      const order: Server[] = round % 2 === 1 ? [raftis, redis] : [redis, raftis];
      for (const server of order) {
        const r = await runBenchmark({
          port: server.port,
          test: c.test,
          requests: c.pipeline === 1 ? REQUESTS : REQUESTS_PIPELINED,
          clients: CLIENTS,
          pipeline: c.pipeline,
          valueBytes: VALUE_BYTES,
          keyspace: KEYSPACE,
        });
        results.get(c.label)![server.name as 'raftis' | 'redis'].push(r);
        log(`round ${round} ${c.label.padEnd(8)} ${server.name.padEnd(6)} ${fmt(r.rps).padStart(9)} rps  p50 ${r.p50Ms.toFixed(3)} ms  p99 ${r.p99Ms.toFixed(3)} ms`);
      }
    }
  }
  const elapsedS = (performance.now() - startedMs) / 1000;
  printTable(results);
  log(`measured in ${elapsedS.toFixed(0)} s`);
  const [raftisExit, redisExit] = await Promise.all([raftis.stop(), redis.stop()]);
  if (raftisExit !== 0) throw new Error(`raftis exited with ${raftisExit} on SIGTERM`);
  if (redisExit !== 0) log(`note: redis-server exited with ${redisExit}`);
  if (PROFILE_DIR !== null) printProfile(PROFILE_DIR);
}


function printTable(results: Results): void {
  const head = ['test', 'raftis rps', 'redis rps', 'raftis/redis', 'per round', 'raftis p50', 'redis p50', 'raftis p99', 'redis p99', 'raftis max', 'redis max'];
  const rows = [...results].map(([label, { raftis, redis }]) => {
    const ratios = raftis.map((r, i) => r.rps / redis[i]!.rps);
    return [
      label,
      fmt(median(raftis.map((r) => r.rps))),
      fmt(median(redis.map((r) => r.rps))),
      `${median(ratios).toFixed(2)}x`,
      ratios.map((x) => x.toFixed(2)).join(' '),
      ms(median(raftis.map((r) => r.p50Ms))),
      ms(median(redis.map((r) => r.p50Ms))),
      ms(median(raftis.map((r) => r.p99Ms))),
      ms(median(redis.map((r) => r.p99Ms))),
      // The slowest reply of all rounds: a server that stalls (a long flush or commit) shows here.
      ms(Math.max(...raftis.map((r) => r.maxMs))),
      ms(Math.max(...redis.map((r) => r.maxMs))),
    ];
  });
  process.stdout.write(`\nmedians over ${ROUNDS} interleaved rounds (max: the slowest reply of any round); ratio = median of per-round raftis/redis rps\n`);
  process.stdout.write(`${markdownTable(head, rows)}\n\n`);
}

function printProfile(dir: string): void {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  if (files.length === 0) return log(`no .cpuprofile written in ${dir}`);
  const file = join(dir, files[files.length - 1]!);
  const { totalMs, top } = topSelfTime(file, 25);
  process.stdout.write(`raftis CPU profile ${file}: ${(totalMs / 1000).toFixed(1)} s sampled; top self time:\n`);
  for (const t of top) process.stdout.write(`  ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.ms.toFixed(0).padStart(6)} ms  ${t.fn}  ${t.where}\n`);
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => `${n.toFixed(3)} ms`;

await runBench(main, () => cleanup());
