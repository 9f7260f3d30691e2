// `npx node bench/streams.ts`: Redis Streams on raftis (single node, appendfsync
// always) against a real redis-server (appendonly yes, appendfsync always, no RDB), in
// one interleaved run (the order flips every round) so machine noise hits both:
//  * XADD throughput: redis-benchmark with `XADD <key> * field <1 KiB value>` at
//    pipeline 1 and 16 (rps, p50, p99, raftis/redis ratio); XLEN is checked after
//    each run (every XADD applied) and the stream deleted before the next one;
//  * end to end: an open-loop producer at a fixed rate and one XREADGROUP/XACK
//    consumer (bench/lib/stream_e2e.ts): delivered messages/s, p50/p99/p999 latency.
// Cleans up its processes and dirs on success, failure and SIGINT/SIGTERM.

import { Redis } from 'ioredis';
import { mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { topSelfTime } from './lib/cpu_profile.ts';
import { PingProbe } from './lib/ping_probe.ts';
import { cleanup, startRaftis, startRedis, type Server } from './lib/processes.ts';
import { runCommandBenchmark } from './lib/redis_benchmark_command.ts';
import type { BenchResult } from './lib/redis_benchmark.ts';
import { runE2e, type E2eResult } from './lib/stream_e2e.ts';
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
    'value-bytes': { type: 'string', default: '1024' },
    rate: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '10' },
    'e2e-warmup-seconds': { type: 'string', default: '1' },
    'e2e-value-bytes': { type: 'string', default: '100' },
    ack: { type: 'string', default: 'pipeline' },
    profile: { type: 'string' },
    tests: { type: 'string', default: 'xadd,e2e' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(`usage: npx node bench/streams.ts [--rounds N] [--tests xadd,e2e]
       XADD:       [--requests N] [--requests-pipelined N] [--clients N] [--pipelines 1,16] [--value-bytes N]
       end to end: [--rate MSG_PER_S] [--seconds S] [--e2e-warmup-seconds S (at the rate, not measured; default 1)]
                   [--e2e-value-bytes N] [--ack pipeline|wait]
       [--profile DIR]   (run raftis under node --cpu-prof, write the profile to DIR, print top self time)
`);
  process.exit(0);
}

const REQUESTS = positive('requests', values.requests);
const REQUESTS_PIPELINED = values['requests-pipelined'] === undefined ? REQUESTS * 3 : positive('requests-pipelined', values['requests-pipelined']);
const ROUNDS = positive('rounds', values.rounds);
const CLIENTS = positive('clients', values.clients);
const PIPELINES = values.pipelines.split(',').map((p) => positive('pipelines', p));
const VALUE_BYTES = positive('value-bytes', values['value-bytes']);
const RATE = positive('rate', values.rate);
const SECONDS = positive('seconds', values.seconds);
const WARMUP_S = Number(values['e2e-warmup-seconds']);
if (!Number.isFinite(WARMUP_S) || WARMUP_S < 0) throw new Error(`--e2e-warmup-seconds takes a number >= 0, got ${values['e2e-warmup-seconds']}`);
const E2E_VALUE_BYTES = positive('e2e-value-bytes', values['e2e-value-bytes']);
const ACK = values.ack as 'pipeline' | 'wait';
if (ACK !== 'pipeline' && ACK !== 'wait') throw new Error(`--ack takes pipeline or wait, got ${String(ACK)}`);
const PROFILE_DIR = values.profile === undefined ? null : resolve(values.profile);
const TESTS = new Set(values.tests.split(','));
for (const t of TESTS) if (t !== 'xadd' && t !== 'e2e') throw new Error(`--tests takes xadd and/or e2e, got ${t}`);

const XADD_KEY = 'bench:xadd';
const FREE_WAIT_MS = 120_000;
const E2E_KEY = 'bench:e2e';
/** `__rand_int__` becomes 12 random digits, so the value stays exactly VALUE_BYTES long. */
const RAND = '__rand_int__';
const XADD_VALUE = VALUE_BYTES >= RAND.length ? RAND + 'x'.repeat(VALUE_BYTES - RAND.length) : 'x'.repeat(VALUE_BYTES);

type Who = 'raftis' | 'redis';
type Pair<T> = Record<Who, T[]>;

async function xaddOnce(server: Server, admin: Redis, pipeline: number): Promise<BenchResult> {
  const requests = pipeline === 1 ? REQUESTS : REQUESTS_PIPELINED;
  const r = await runCommandBenchmark({
    port: server.port, requests, clients: CLIENTS, pipeline, keyspace: 100_000,
    command: ['XADD', XADD_KEY, '*', 'field', XADD_VALUE],
  });
  const len = Number(await admin.call('XLEN', XADD_KEY));
  if (len !== requests) throw new Error(`${server.name}: XLEN ${len} after ${requests} XADDs (errors during the run?)`);
  const delStart = performance.now();
  await admin.call('DEL', XADD_KEY);
  const delMs = performance.now() - delStart;
  const freed = await waitFreed(server, admin);
  log(`  (${server.name}: DEL of the ${len}-entry stream took ${delMs.toFixed(0)} ms; freed after ${freed.ms.toFixed(0)} ms, ` +
    `max PING meanwhile ${freed.pingMaxMs.toFixed(1)} ms; not measured)`);
  return r;
}

/**
 * Until INFO memory's lazyfree_pending_objects is 0 (raftis and Redis both free large
 * values in the background after DEL), with a PingProbe on its own connection: how long
 * freeing took and how long it held other clients up. Bounded by FREE_WAIT_MS.
 */
async function waitFreed(server: Server, admin: Redis): Promise<{ ms: number; pingMaxMs: number }> {
  const probe = await PingProbe.start(server.port, 5);
  const start = performance.now();
  let pingMaxMs = Number.NaN;
  try {
    for (;;) {
      const info = String(await admin.call('INFO', 'memory'));
      const pending = Number(/lazyfree_pending_objects:(\d+)/.exec(info)?.[1] ?? 0);
      if (pending === 0) break;
      if (performance.now() - start > FREE_WAIT_MS) throw new Error(`${server.name}: ${pending} objects still being freed after ${FREE_WAIT_MS} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    pingMaxMs = probe.stop().maxMs;
  }
  return { ms: performance.now() - start, pingMaxMs };
}

async function main(): Promise<void> {
  const nodeFlags = PROFILE_DIR === null ? [] : ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR];
  if (PROFILE_DIR !== null) mkdirSync(PROFILE_DIR, { recursive: true });
  const [raftis, redis] = await Promise.all([startRaftis(nodeFlags), startRedis()]);
  const admins = new Map<Server, Redis>();
  for (const s of [raftis, redis]) {
    const a = new Redis({ port: s.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await a.connect();
    admins.set(s, a);
  }
  log(`raftis pid ${raftis.pid} on ${raftis.port} (dir ${raftis.dir}); redis-server pid ${redis.pid} on ${redis.port} (dir ${redis.dir})`);
  log(`${ROUNDS} rounds; XADD: ${CLIENTS} clients, ${VALUE_BYTES}-byte values, -n ${REQUESTS} at P1, ${REQUESTS_PIPELINED} pipelined; ` +
    `end to end: ${RATE} msg/s for ${SECONDS} s after ${WARMUP_S} s not measured, ${E2E_VALUE_BYTES}-byte values, XACK ${ACK === 'wait' ? 'awaited' : 'pipelined with the next read'}`);
  const xadd = new Map<number, Pair<BenchResult>>(PIPELINES.map((p) => [p, { raftis: [], redis: [] }]));
  const e2e: Pair<E2eResult> = { raftis: [], redis: [] };
  const startedMs = performance.now();
  for (let round = 1; round <= ROUNDS; round++) {
    const order: Server[] = round % 2 === 1 ? [raftis, redis] : [redis, raftis];
    if (TESTS.has('xadd')) {
      for (const p of PIPELINES) {
        for (const s of order) {
          const r = await xaddOnce(s, admins.get(s)!, p);
          xadd.get(p)![s.name as Who].push(r);
          log(`round ${round} XADD P${String(p).padEnd(3)} ${s.name.padEnd(6)} ${fmt(r.rps).padStart(9)} rps  p50 ${r.p50Ms.toFixed(3)} ms  p99 ${r.p99Ms.toFixed(3)} ms`);
        }
      }
    }
    if (TESTS.has('e2e')) {
      for (const s of order) {
        const r = await runE2e({ port: s.port, ratePerS: RATE, durationS: SECONDS, warmupS: WARMUP_S, valueBytes: E2E_VALUE_BYTES, stream: E2E_KEY, ack: ACK });
        e2e[s.name as Who].push(r);
        log(`round ${round} e2e ${s.name.padEnd(6)} ${describeE2e(r)}`);
        await admins.get(s)!.call('DEL', E2E_KEY);
      }
    }
  }
  const elapsedS = (performance.now() - startedMs) / 1000;
  if (TESTS.has('xadd')) printXadd(xadd);
  if (TESTS.has('e2e')) printE2e(e2e);
  log(`measured in ${elapsedS.toFixed(0)} s`);
  for (const a of admins.values()) a.disconnect();
  const [raftisExit, redisExit] = await Promise.all([raftis.stop(), redis.stop()]);
  if (raftisExit !== 0) throw new Error(`raftis exited with ${raftisExit} on SIGTERM`);
  if (redisExit !== 0) log(`note: redis-server exited with ${redisExit}`);
  if (PROFILE_DIR !== null) printProfile(PROFILE_DIR);
}

function printProfile(dir: string): void {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  if (files.length === 0) return log(`no .cpuprofile written in ${dir}`);
  const file = join(dir, files[files.length - 1]!);
  const { totalMs, top } = topSelfTime(file, 25);
  process.stdout.write(`raftis CPU profile ${file}: ${(totalMs / 1000).toFixed(1)} s sampled; top self time:\n`);
  for (const t of top) process.stdout.write(`  ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.ms.toFixed(0).padStart(6)} ms  ${t.fn}  ${t.where}\n`);
}

function describeE2e(r: E2eResult): string {
  return `${fmt(r.deliveredPerS)} msg/s delivered (${r.delivered}/${r.scheduled}, ${r.acked} acked; sent at ${fmt(r.sentPerS)}/s)  ` +
    `p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  p99.9 ${r.p999Ms.toFixed(2)} ms  max ${r.maxMs.toFixed(1)} ms  ` +
    `send lag p99 ${r.sendLagP99Ms.toFixed(2)} ms\n    p99 by second of sending: ${r.p99BySecondMs.map((x) => x.toFixed(1)).join(' ')} ms`;
}


function printXadd(results: Map<number, Pair<BenchResult>>): void {
  const head = ['test', 'raftis rps', 'redis rps', 'raftis/redis', 'per round', 'raftis p50', 'redis p50', 'raftis p99', 'redis p99'];
  const rows = [...results].map(([p, { raftis, redis }]) => {
    const ratios = raftis.map((r, i) => r.rps / redis[i]!.rps);
    return [
      `XADD ${VALUE_BYTES} B P${p}`, fmt(median(raftis.map((r) => r.rps))), fmt(median(redis.map((r) => r.rps))), `${median(ratios).toFixed(2)}x`,
      ratios.map((x) => x.toFixed(2)).join(' '), ms(median(raftis.map((r) => r.p50Ms))), ms(median(redis.map((r) => r.p50Ms))),
      ms(median(raftis.map((r) => r.p99Ms))), ms(median(redis.map((r) => r.p99Ms))),
    ];
  });
  table(`XADD: medians over ${ROUNDS} interleaved rounds; ratio = median of per-round raftis/redis rps`, head, rows);
}

function printE2e(results: Pair<E2eResult>): void {
  const head = ['server', 'target msg/s', 'delivered msg/s', 'p50', 'p99', 'p99.9', 'max', 'p99 per round'];
  const rows = (['raftis', 'redis'] as const).map((who) => {
    const rs = results[who];
    return [
      who, fmt(RATE), fmt(median(rs.map((r) => r.deliveredPerS))), ms(median(rs.map((r) => r.p50Ms))), ms(median(rs.map((r) => r.p99Ms))),
      ms(median(rs.map((r) => r.p999Ms))), ms(median(rs.map((r) => r.maxMs))), rs.map((r) => r.p99Ms.toFixed(2)).join(' '),
    ];
  });
  const ratio = median(results.raftis.map((r, i) => r.p99Ms / results.redis[i]!.p99Ms));
  table(`end to end (${SECONDS} s at ${RATE} msg/s, ${E2E_VALUE_BYTES}-byte values): medians over ${ROUNDS} rounds; raftis/redis p99 ${ratio.toFixed(2)}x`, head, rows);
}

function table(title: string, head: readonly string[], rows: readonly (readonly string[])[]): void {
  process.stdout.write(`\n${title}\n${markdownTable(head, rows)}\n`);
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => `${n.toFixed(2)} ms`;

await runBench(main, () => cleanup());
