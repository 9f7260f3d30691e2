// `npx node bench/compare.ts`: the raftis cluster against other systems, in one run.
//   Part 1 (redis-benchmark): SET, GET, XADD at pipeline 1 and 16 against the 3-node
//     raftis cluster (clients on the leader, then on a follower), a single raftis node
//     and redis-server (appendonly yes, appendfsync always); per case the four targets
//     run back to back, order flipped every other case. Ratios cluster/single, cluster/redis.
//   Part 2 (bench/lib/load_gen.ts, this process): closed-loop writes, N in flight, fixed
//     duration, against raftis (all to the leader; spread over the nodes), a 3-member etcd
//     cluster, a 3-server NATS JetStream cluster with a KV bucket of 3 replicas and the
//     cluster floor (bench/lib/cluster_floor.ts: the least a 3-node Node store over NATS
//     does per durable write); rounds interleaved with the order rotated. Ratios
//     raftis/JetStream-KV-R3, raftis/etcd, raftis/floor and floor/the others.
// Failover is bench/failover.ts's job. Everything runs on loopback, on fresh temp dirs;
// processes are stopped by PID and dirs removed on success, failure and SIGINT/SIGTERM.

import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { Cluster } from '../test/support/cluster.ts';
import { Cleanups } from '../test/support/processes.ts';
import { startEtcdCluster, type EtcdCluster } from './lib/etcd_cluster.ts';
import { runLoad, valueOf, type LoadResult } from './lib/load_gen.ts';
import { startNatsJsCluster, type NatsJsCluster } from './lib/nats_js_cluster.ts';
import { cleanup, requireCommands, startFloorCluster, startRaftis, startRedis, type Server } from './lib/processes.ts';
import { runBenchmark, type BenchResult } from './lib/redis_benchmark.ts';
import { runCommandBenchmark } from './lib/redis_benchmark_command.ts';
import { fmtInt, fmtMs, fmtRatio, markdownTable, median } from './lib/table.ts';
import { log, runBench } from './lib/run_bench.ts';
import { positive } from './lib/args.ts';

const { values } = parseArgs({
  options: {
    parts: { type: 'string', default: 'bench,load' },
    tests: { type: 'string', default: 'set,get,xadd' },
    pipelines: { type: 'string', default: '1,16' },
    requests: { type: 'string', default: '20000' },
    'requests-pipelined': { type: 'string', default: '60000' },
    clients: { type: 'string', default: '50' },
    'value-bytes': { type: 'string', default: '100' },
    keyspace: { type: 'string', default: '100000' },
    'in-flight': { type: 'string', default: '50' },
    seconds: { type: 'string', default: '8' },
    'warmup-seconds': { type: 'string', default: '1' },
    'load-rounds': { type: 'string', default: '2' },
    'redis-conns': { type: 'string', default: '50' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(`usage: npx node bench/compare.ts [--parts bench,load]
  part bench: [--tests set,get,xadd] [--pipelines 1,16] [--requests N (P1)] [--requests-pipelined N] [--clients 50]
  part load:  [--in-flight 50] [--seconds 8] [--warmup-seconds 1] [--load-rounds 2] [--redis-conns 50 (ioredis connections per raftis target)]
  both:       [--value-bytes 100] [--keyspace 100000]
`);
  process.exit(0);
}
const list = <T extends string>(name: string, raw: string, allowed: readonly T[]): T[] =>
  raw.split(',').map((s) => {
    if (!(allowed as readonly string[]).includes(s)) throw new Error(`--${name} takes ${allowed.join(',')}, got ${s}`);
    return s as T;
  });
const PARTS = list('parts', values.parts, ['bench', 'load'] as const);
const TESTS = list('tests', values.tests, ['set', 'get', 'xadd'] as const);
const PIPELINES = values.pipelines.split(',').map((p) => positive('pipelines', p));
const REQUESTS = positive('requests', values.requests);
const REQUESTS_PIPELINED = positive('requests-pipelined', values['requests-pipelined']);
const CLIENTS = positive('clients', values.clients);
const VALUE_BYTES = positive('value-bytes', values['value-bytes']);
const KEYSPACE = positive('keyspace', values.keyspace);
const IN_FLIGHT = positive('in-flight', values['in-flight']);
const DURATION_MS = positive('seconds', values.seconds) * 1000;
const WARMUP_MS = Number(values['warmup-seconds']) * 1000;
const LOAD_ROUNDS = positive('load-rounds', values['load-rounds']);
const REDIS_CONNS = positive('redis-conns', values['redis-conns']);
const OP_TIMEOUT_MS = 10_000;

const out = (s: string): void => void process.stdout.write(`${s}\n`);
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

interface Env {
  readonly cluster: Cluster;
  readonly single: { port: number };
  readonly redis: { port: number };
  readonly etcd: EtcdCluster | null;
  readonly nats: NatsJsCluster | null;
  readonly floor: Server | null;
}

/** The agreed leader now, and one follower. Logs when the leader is not the one seen first. */
let firstLeader: string | null = null;
const leaderChanges: string[] = [];
async function roles(cluster: Cluster, when: string): Promise<{ leader: string; follower: string }> {
  const { id: leader } = await cluster.waitForLeader(15_000);
  firstLeader ??= leader;
  if (leader !== firstLeader && !leaderChanges.some((c) => c.endsWith(`→ ${leader}`))) {
    leaderChanges.push(`${when}: ${firstLeader} → ${leader}`);
    log(`NOTE leader changed (${when}): now ${leader}`);
  }
  return { leader, follower: cluster.founders.find((id) => id !== leader)! };
}

// ---------------------------------------------------------------- part 1

type BenchTarget = 'cluster-leader' | 'cluster-follower' | 'single' | 'redis';
const BENCH_TARGETS: readonly BenchTarget[] = ['cluster-leader', 'cluster-follower', 'single', 'redis'];
const RAND = '__rand_int__';
const XADD_VALUE = VALUE_BYTES >= RAND.length ? RAND + 'x'.repeat(VALUE_BYTES - RAND.length) : 'x'.repeat(VALUE_BYTES);

async function partBench(env: Env): Promise<string> {
  const rows: string[][] = [];
  const lat: string[][] = [];
  let caseNo = 0;
  for (const pipeline of PIPELINES) {
    for (const test of TESTS) {
      const label = `${test.toUpperCase()} P${pipeline}`;
      const { leader, follower } = await roles(env.cluster, label);
      const port: Record<BenchTarget, number> = {
        'cluster-leader': env.cluster.node(leader).port,
        'cluster-follower': env.cluster.node(follower).port,
        single: env.single.port,
        redis: env.redis.port,
      };
      const order = caseNo++ % 2 === 0 ? BENCH_TARGETS : [...BENCH_TARGETS].reverse();
      const r = new Map<BenchTarget, BenchResult>();
      for (const t of order) {
        const requests = pipeline === 1 ? REQUESTS : REQUESTS_PIPELINED;
        const common = { port: port[t], requests, clients: CLIENTS, pipeline, keyspace: KEYSPACE };
        const res =
          test === 'xadd'
            ? await runCommandBenchmark({ ...common, command: ['XADD', `bench:xadd:${t}:p${pipeline}`, '*', 'field', XADD_VALUE] })
            : await runBenchmark({ ...common, test, valueBytes: VALUE_BYTES });
        r.set(t, res);
        if (test === 'xadd') await checkXlen(port[t], `bench:xadd:${t}:p${pipeline}`, requests);
        log(`${label.padEnd(8)} ${t.padEnd(16)} ${fmtInt(res.rps).padStart(9)} rps  p50 ${fmtMs(res.p50Ms)}  p99 ${fmtMs(res.p99Ms)}  (load ${load()})`);
      }
      const g = (t: BenchTarget): BenchResult => r.get(t)!;
      rows.push([
        label,
        ...BENCH_TARGETS.map((t) => fmtInt(g(t).rps)),
        fmtRatio(g('cluster-leader').rps / g('single').rps),
        fmtRatio(g('cluster-leader').rps / g('redis').rps),
        fmtRatio(g('cluster-follower').rps / g('single').rps),
        fmtRatio(g('cluster-follower').rps / g('redis').rps),
      ]);
      lat.push([label, ...BENCH_TARGETS.map((t) => `${fmtMs(g(t).p50Ms)} / ${fmtMs(g(t).p99Ms)}`)]);
    }
  }
  return [
    `redis-benchmark: ${CLIENTS} clients, ${VALUE_BYTES}-byte values, keyspace ${KEYSPACE}, -n ${REQUESTS} at P1 and ${REQUESTS_PIPELINED} pipelined; one run per target`,
    '',
    markdownTable(
      ['test', 'leader rps', 'follower rps', 'single rps', 'redis rps', 'leader/single', 'leader/redis', 'follower/single', 'follower/redis'],
      rows,
    ),
    '',
    'latency p50 / p99',
    '',
    markdownTable(['test', 'cluster leader', 'cluster follower', 'single raftis', 'redis (always)'], lat),
  ].join('\n');
}

/** Every XADD of a run must have been applied (redis-benchmark does not fail on error replies). */
async function checkXlen(port: number, key: string, requests: number): Promise<void> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, commandTimeout: OP_TIMEOUT_MS });
  try {
    await r.connect();
    const len = Number(await r.xlen(key));
    if (len !== requests) throw new Error(`${key} on port ${port}: XLEN ${len} after ${requests} XADDs (error replies during the run?)`);
  } finally {
    r.disconnect();
  }
}

// ---------------------------------------------------------------- part 2

interface LoadTarget {
  readonly name: string;
  /** Opens connections; returns the operation and how to close them. */
  open(): Promise<{ op: (seq: number) => Promise<unknown>; close: () => Promise<void> | void }>;
}

const FLOOR = 'Node floor R3';
const randomKey = (): string => `k:${Math.floor(Math.random() * KEYSPACE)}`;

function raftisTarget(cluster: Cluster, name: string, spread: boolean): LoadTarget {
  return {
    name,
    async open() {
      const { leader } = await roles(cluster, name);
      const ids = spread ? cluster.founders : [leader];
      const conns = await Promise.all(Array.from({ length: REDIS_CONNS }, (_, i) => cluster.client(ids[i % ids.length]!, { commandTimeoutMs: OP_TIMEOUT_MS })));
      return {
        op: (seq) => conns[seq % conns.length]!.set(randomKey(), valueOf(seq, VALUE_BYTES)),
        close: () => conns.forEach((c) => cluster.closeClient(c)),
      };
    },
  };
}

/** The cluster floor (bench/lib/cluster_floor.ts): SETs over as many ioredis connections as raftis gets. */
function floorTarget(floor: Server): LoadTarget {
  return {
    name: FLOOR,
    async open() {
      const conns = Array.from({ length: REDIS_CONNS }, () => new Redis({ port: floor.port, host: '127.0.0.1', enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: OP_TIMEOUT_MS }));
      await Promise.all(conns.map((c) => new Promise((resolve, reject) => c.once('ready', resolve).once('error', reject))));
      return {
        op: (seq) => conns[seq % conns.length]!.set(randomKey(), valueOf(seq, VALUE_BYTES)),
        close: () => conns.forEach((c) => c.disconnect()),
      };
    },
  };
}

function etcdTarget(etcd: EtcdCluster, name: string, leaderOnly: boolean): LoadTarget {
  return {
    name,
    async open() {
      const hosts = leaderOnly ? [await etcd.leaderUrl()] : etcd.members.map((m) => m.clientUrl);
      const client = new Etcd3({ hosts });
      await client.put('warm').value('x').exec();
      return { op: (seq) => client.put(randomKey()).value(valueOf(seq, VALUE_BYTES)).exec(), close: () => client.close() };
    },
  };
}

function natsTarget(nats: NatsJsCluster): LoadTarget {
  return {
    name: 'JetStream KV R3',
    async open() {
      const nc = await connect({ servers: [...nats.urls], timeout: 5000 });
      const kv = await new Kvm(nc).open('bench');
      const value = (seq: number): Uint8Array => new TextEncoder().encode(valueOf(seq, VALUE_BYTES));
      return { op: (seq) => kv.put(randomKey().replace(':', '.'), value(seq)), close: () => nc.close() };
    },
  };
}

/** Creates the R3 bucket, retrying while the JetStream meta leader is being elected (bounded). */
async function createBucket(nats: NatsJsCluster): Promise<void> {
  const nc = await connect({ servers: [...nats.urls], timeout: 5000 });
  const deadline = performance.now() + 30_000;
  try {
    for (;;) {
      try {
        await new Kvm(nc).create('bench', { replicas: 3 });
        return;
      } catch (e) {
        if (performance.now() > deadline) throw new Error('cannot create the KV bucket with 3 replicas', { cause: e });
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } finally {
    await nc.close();
  }
}

async function partLoad(env: Env): Promise<string> {
  const targets: LoadTarget[] = [raftisTarget(env.cluster, 'raftis leader', false), raftisTarget(env.cluster, 'raftis spread', true)];
  if (env.etcd) targets.push(etcdTarget(env.etcd, 'etcd leader', true), etcdTarget(env.etcd, 'etcd spread', false));
  if (env.nats) targets.push(natsTarget(env.nats));
  if (env.floor) targets.push(floorTarget(env.floor));
  const results = new Map<string, LoadResult[]>(targets.map((t) => [t.name, []]));
  for (let round = 1; round <= LOAD_ROUNDS; round++) {
    const shift = (round - 1) % targets.length;
    for (const t of [...targets.slice(shift), ...targets.slice(0, shift)]) {
      const { op, close } = await t.open();
      try {
        const r = await runLoad({ inFlight: IN_FLIGHT, durationMs: DURATION_MS, warmupMs: WARMUP_MS, op });
        results.get(t.name)!.push(r);
        const errs = r.errors > 0 ? `  ${r.errors} errors (first: ${r.firstError})` : '';
        log(`round ${round} ${t.name.padEnd(16)} ${fmtInt(r.opsPerSec).padStart(7)} ops/s  p50 ${fmtMs(r.p50Ms)}  p99 ${fmtMs(r.p99Ms)}  max ${fmtMs(r.maxMs)}${errs}  (load ${load()})`);
      } finally {
        await close();
      }
    }
  }
  const med = (name: string, f: (r: LoadResult) => number): number => median((results.get(name) ?? []).map(f));
  const perRound = (a: string, b: string): string =>
    (results.get(a) ?? []).map((r, i) => (r.opsPerSec / (results.get(b)?.[i]?.opsPerSec ?? NaN)).toFixed(2)).join(' ');
  const rows = targets.map((t) => [t.name, fmtInt(med(t.name, (r) => r.opsPerSec)), fmtMs(med(t.name, (r) => r.p50Ms)), fmtMs(med(t.name, (r) => r.p99Ms)),
    String(results.get(t.name)!.reduce((s, r) => s + r.errors, 0))]);
  const ratioRows: string[][] = [];
  for (const a of ['raftis leader', 'raftis spread', FLOOR]) {
    for (const b of ['JetStream KV R3', 'etcd leader', 'etcd spread', FLOOR]) {
      if (!results.has(a) || !results.has(b) || a === b || (a === FLOOR && b === 'etcd spread')) continue;
      ratioRows.push([`${a} / ${b}`, fmtRatio(med(a, (r) => r.opsPerSec) / med(b, (r) => r.opsPerSec)), perRound(a, b)]);
    }
  }
  const ratio = (a: string, b: string): number => med(a, (r) => r.opsPerSec) / med(b, (r) => r.opsPerSec);
  const lead = (n: string): number => ratio('raftis leader', n);
  const p99 = med('raftis leader', (r) => r.p99Ms);
  const goals = [
    results.has('JetStream KV R3') ? `raftis leader >= 2x JetStream KV R3: ${fmtRatio(lead('JetStream KV R3'))} → ${lead('JetStream KV R3') >= 2 ? 'met' : 'NOT met'}` : null,
    results.has('etcd leader') ? `raftis leader >= 5x etcd (leader): ${fmtRatio(lead('etcd leader'))} → ${lead('etcd leader') >= 5 ? 'met' : 'NOT met'}` : null,
    `raftis leader p99 < 10 ms: ${fmtMs(p99)} → ${p99 < 10 ? 'met' : 'NOT met'}`,
    results.has(FLOOR) && results.has('JetStream KV R3')
      ? `the Node floor itself (no Raft, no SQLite) against the goals: ${fmtRatio(ratio(FLOOR, 'JetStream KV R3'))} JetStream KV R3` +
        (results.has('etcd leader') ? `, ${fmtRatio(ratio(FLOOR, 'etcd leader'))} etcd (leader)` : '')
      : null,
  ].filter((g): g is string => g !== null);
  return [
    `load generator: ${IN_FLIGHT} writes in flight, ${VALUE_BYTES}-byte values, random keys of ${KEYSPACE}, ${DURATION_MS / 1000} s per run after ${WARMUP_MS / 1000} s warm-up, ` +
      `${LOAD_ROUNDS} rounds (order rotated); raftis: SET over ${REDIS_CONNS} ioredis connections; etcd: put (etcd3); JetStream: kv.put; ${FLOOR}: bench/lib/cluster_floor.ts, SET over ${REDIS_CONNS} ioredis connections to its leader; medians`,
    '',
    markdownTable(['system', 'writes/s', 'p50', 'p99', 'errors'], rows),
    '',
    markdownTable(['ratio (writes/s)', 'median', 'per round'], ratioRows),
    '',
    ...goals,
  ].join('\n');
}

// ---------------------------------------------------------------- main

const cleanups = new Cleanups();

async function main(): Promise<void> {
  const startedMs = performance.now();
  log(`load average at start: ${load()} (2-core shared machine: other work may be running)`);
  const wantLoad = PARTS.includes('load');
  requireCommands({ 'redis-server': 'redis-server', 'redis-benchmark': 'redis-tools', 'nats-server': 'nats-server', ...(wantLoad ? { etcd: 'etcd-server' } : {}) });
  const [cluster, single, redis, etcd, nats, floor] = await Promise.all([
    Cluster.start(cleanups, { ids: ['n1', 'n2', 'n3'], appendfsync: 'always', flags: ['--loglevel', 'warning'] }),
    startRaftis(),
    startRedis(),
    wantLoad ? startEtcdCluster(3) : null,
    wantLoad ? startNatsJsCluster(3) : null,
    wantLoad ? startFloorCluster(3) : null,
  ]);
  if (nats) await createBucket(nats);
  const env: Env = { cluster, single, redis, etcd, nats, floor };
  const { leader } = await roles(cluster, 'start');
  log(`raftis cluster: leader ${leader}, ports ${cluster.founders.map((id) => `${id}:${cluster.node(id).port}`).join(' ')}; single raftis :${single.port}; redis :${redis.port}`);
  if (etcd) log(`etcd: ${etcd.members.map((m) => m.clientUrl).join(' ')}`);
  if (nats) log(`NATS JetStream: ${nats.urls.join(' ')}`);
  if (floor) log(`Node floor R3: leader :${floor.port}`);
  const sections: string[] = [];
  if (PARTS.includes('bench')) sections.push(await partBench(env));
  if (wantLoad) sections.push(await partLoad(env));
  const elapsedS = (performance.now() - startedMs) / 1000;
  out('');
  out(sections.join('\n\n'));
  out('');
  out(`leader changes during the run: ${leaderChanges.length === 0 ? 'none' : leaderChanges.join('; ')}`);
  if (cluster.crashes.length > 0) out(`raftis nodes that exited by themselves:\n${cluster.crashes.join('\n')}`);
  out(`total ${elapsedS.toFixed(0)} s; load average at end ${load()} (shared 2-core machine: servers, clients and other work share the cores)`);
}

await runBench(main, () => Promise.allSettled([cleanups.run(), cleanup()]));
