// `npx node bench/node_floor.ts`: how far raftis is from what Node itself allows. Runs
// redis-benchmark SET and GET (50 clients, 100-byte values, pipeline 1 and 16) and XADD
// with 1 KiB values (the goals of issues #3 and #4), in one
// interleaved run (the order rotates every round), against:
//   redis      redis-server, appendonly yes, appendfsync always (the goal of issue #3)
//   raftis     a single node, appendfsync always
//   floor      bench/lib/floor_server.ts: raftis's RESP decoder, a Map, one append and
//              fdatasync per event-loop turn before the replies (no Raft, no SQLite)
//   floor-mem  the same without the file
// and prints rps, each server's ratio to redis, and its CPU per request (user + system,
// all threads, from /proc/PID/stat around each run). A ratio the floor does not reach,
// raftis cannot reach on this machine while it runs in Node.

import { Redis } from 'ioredis';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { positive } from './lib/args.ts';
import { cleanup, requireCommands, startFloor, startRaftis, startRedis, type Server } from './lib/processes.ts';
import { runBenchmark } from './lib/redis_benchmark.ts';
import { runCommandBenchmark } from './lib/redis_benchmark_command.ts';
import { log, runBench } from './lib/run_bench.ts';
import { fmtInt, fmtRatio, markdownTable, median } from './lib/table.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    requests: { type: 'string', default: '100000' },
    'requests-pipelined': { type: 'string' },
    pipelines: { type: 'string', default: '1,16' },
    tests: { type: 'string', default: 'set,get,xadd' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write('usage: npx node bench/node_floor.ts [--rounds N] [--requests N] [--requests-pipelined N] [--pipelines 1,16] [--tests set,get,xadd]\n');
  process.exit(0);
}
const ROUNDS = positive('rounds', values.rounds);
const REQUESTS = positive('requests', values.requests);
const REQUESTS_PIPELINED = values['requests-pipelined'] === undefined ? REQUESTS * 5 : positive('requests-pipelined', values['requests-pipelined']);
const PIPELINES = values.pipelines.split(',').map((p) => positive('pipelines', p));
const TESTS = values.tests.split(',').map((t) => {
  if (t !== 'set' && t !== 'get' && t !== 'xadd') throw new Error(`--tests takes set, get and xadd, got ${t}`);
  return t as 'set' | 'get' | 'xadd';
});
const CLIENTS = 50;
const VALUE_BYTES = 100;
/** XADD's value, as in bench/streams.ts: 1 KiB. */
const XADD_VALUE = 'x'.repeat(1024);
const XADD_KEY = 'bench:xadd';
const KEYSPACE = 100_000;
/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ; 100 on Linux). */
const TICKS_PER_S = 100;

interface Sample {
  readonly rps: number;
  readonly cpuUsPerRequest: number;
}

/** User + system CPU seconds of a process so far, all its threads. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

async function del(port: number, key: string): Promise<void> {
  const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await client.del(key);
  } finally {
    client.disconnect();
  }
}

async function main(): Promise<void> {
  requireCommands({ 'redis-server': 'redis-server', 'redis-benchmark': 'redis-tools' });
  const servers: Server[] = await Promise.all([startRedis(), startRaftis(), startFloor('always'), startFloor('no')]);
  log(servers.map((s) => `${s.name} pid ${s.pid} on ${s.port}`).join('; '));
  const cases = PIPELINES.flatMap((pipeline) => TESTS.map((test) => ({ test, pipeline, label: `${test.toUpperCase()} P${pipeline}` })));
  const samples = new Map(cases.map((c) => [c.label, new Map(servers.map((s) => [s.name, [] as Sample[]]))]));
  for (let round = 1; round <= ROUNDS; round++) {
    const order = servers.map((_, i) => servers[(i + round - 1) % servers.length]!);
    for (const c of cases) {
      for (const server of order) {
        const requests = c.pipeline === 1 ? REQUESTS : REQUESTS_PIPELINED;
        const before = cpuSeconds(server.pid);
        const r =
          c.test === 'xadd'
            ? await runCommandBenchmark({ port: server.port, requests, clients: CLIENTS, pipeline: c.pipeline, keyspace: KEYSPACE, command: ['XADD', XADD_KEY, '*', 'field', XADD_VALUE] })
            : await runBenchmark({ port: server.port, test: c.test, requests, clients: CLIENTS, pipeline: c.pipeline, valueBytes: VALUE_BYTES, keyspace: KEYSPACE });
        const cpuUsPerRequest = ((cpuSeconds(server.pid) - before) * 1e6) / requests;
        // As bench/streams.ts does: the next run starts on an empty stream (and memory stays bounded).
        if (c.test === 'xadd' && server.name !== 'floor' && server.name !== 'floor-mem') await del(server.port, XADD_KEY);
        samples.get(c.label)!.get(server.name)!.push({ rps: r.rps, cpuUsPerRequest });
        log(`round ${round} ${c.label.padEnd(7)} ${server.name.padEnd(9)} ${fmtInt(r.rps).padStart(9)} rps  ${cpuUsPerRequest.toFixed(1)} µs CPU/request`);
      }
    }
  }
  const head = ['test', ...servers.flatMap((s) => [`${s.name} rps`, `${s.name} µs CPU`]), 'raftis/redis', 'floor/redis', 'raftis/floor'];
  const rows = cases.map((c) => {
    const of = (name: string): Sample[] => samples.get(c.label)!.get(name)!;
    // Ratios per round (adjacent runs), then the median.
    const ratio = (a: string, b: string): number => median(of(a).map((s, i) => s.rps / of(b)[i]!.rps));
    return [
      c.label,
      ...servers.flatMap((s) => [fmtInt(median(of(s.name).map((x) => x.rps))), median(of(s.name).map((x) => x.cpuUsPerRequest)).toFixed(1)]),
      fmtRatio(ratio('raftis', 'redis')),
      fmtRatio(ratio('floor', 'redis')),
      fmtRatio(ratio('raftis', 'floor')),
    ];
  });
  process.stdout.write(`\nmedians over ${ROUNDS} rounds; ${CLIENTS} clients, ${VALUE_BYTES}-byte values, ${KEYSPACE} keys; ratios: median of per-round rps ratios\n`);
  process.stdout.write(`${markdownTable(head, rows)}\n`);
  const exits = await Promise.all(servers.map((s) => s.stop()));
  if (exits[1] !== 0) throw new Error(`raftis exited with ${exits[1]} on SIGTERM`);
}

await runBench(main, () => cleanup());
