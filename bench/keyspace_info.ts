// `npx node bench/keyspace_info.ts [--keys 1000000] [--volatile 1000] [--samples 30]`:
// how long INFO, INFO keyspace, DBSIZE, RANDOMKEY and SCAN take on a large keyspace,
// against raftis and a real redis-server (appendfsync always) in one run. ioredis sends
// INFO on every connect (its ready check), monitoring scrapes it, and key browsers SCAN;
// the server answers nothing else meanwhile.
// Each server is filled with --keys SETs of 100 bytes (--volatile of them with a TTL);
// the first SCAN right after the fill is timed once (raftis then holds the rows written
// last in memory); then each sample writes 200 keys (as under load) and times one
// command on a fresh round trip. Reports median and max per command, and the ratio
// raftis/redis of the medians. Temp dirs and processes are removed at the end.

import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { positive } from './lib/args.ts';
import { compareWithRedis, timeCommands, type Timing } from './lib/command_timing.ts';
import { cleanup, requireCommands, type Server } from './lib/processes.ts';
import { fill } from './lib/resp_fill.ts';
import { log, runBench } from './lib/run_bench.ts';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000000' },
    volatile: { type: 'string', default: '1000' },
    samples: { type: 'string', default: '30' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write('usage: npx node bench/keyspace_info.ts [--keys N] [--volatile N (keys with a TTL)] [--samples N (per command)]\n');
  process.exit(0);
}
const KEYS = positive('keys', values.keys);
const VOLATILE = Math.min(KEYS, Number(values.volatile));
const SAMPLES = positive('samples', values.samples);
const FIRST_SCAN = ['SCAN', '0', 'COUNT', '100'] as const;
const COMMANDS = [FIRST_SCAN, ['INFO'], ['INFO', 'keyspace'], ['DBSIZE'], ['RANDOMKEY'], ['SCAN', '0', 'COUNT', '1000']] as const;
const VALUE = 'v'.repeat(100);
const FILL_MS_MAX = 600_000;

async function measure(server: Server): Promise<Map<string, Timing>> {
  log(`${server.name}: filling ${KEYS} keys`);
  const filled = await fill({ port: server.port, keys: KEYS, keyOf: (i) => `key:${i}`, valueOf: () => VALUE, deadlineMs: FILL_MS_MAX });
  if (!filled.completed) throw new Error(`${server.name}: only ${filled.acked} of ${KEYS} keys set within ${FILL_MS_MAX / 1000} s`);
  const c = new Redis({ port: server.port, enableReadyCheck: false, lazyConnect: true });
  await c.connect();
  try {
    for (let i = 0; i < VOLATILE; i += 500) {
      const p = c.pipeline();
      for (let j = i; j < Math.min(i + 500, VOLATILE); j++) p.expire(`key:${j}`, 100_000);
      await p.exec();
    }
    const first = await timeCommands(c, [FIRST_SCAN], 1);
    const timings = await timeCommands(c, COMMANDS.slice(1), SAMPLES, async (sample) => {
      const p = c.pipeline();
      for (let j = 0; j < 200; j++) p.set(`key:${(sample * 7919 + j * 104_729) % KEYS}`, VALUE);
      await p.exec();
    });
    return new Map([...first, ...timings]);
  } finally {
    c.disconnect();
  }
}

await runBench(async () => {
  requireCommands({ 'redis-server': 'redis-server' });
  const table = await compareWithRedis(COMMANDS, measure);
  process.stdout.write(`\n${KEYS} keys (${VOLATILE} with a TTL); the first row once, right after the fill; then ${SAMPLES} samples per command, each after 200 SETs\n${table}\n`);
}, cleanup);
