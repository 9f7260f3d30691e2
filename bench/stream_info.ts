// `npx node bench/stream_info.ts [--entries 300000] [--samples 7]`: how long the commands
// that watch a queue take when it has a large backlog, against raftis and a real
// redis-server (appendfsync always) in one run. Each server gets a stream of --entries
// entries of 100 bytes, all delivered to one consumer of a group and not acknowledged
// (so all are pending); then each command is timed --samples times and the median and
// max reported with the ratio raftis/redis of the medians. Dashboards and exporters run
// these every few seconds, and the server answers nothing else meanwhile.

import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { positive } from './lib/args.ts';
import { compareWithRedis, timeCommands, type Timing } from './lib/command_timing.ts';
import { cleanup, requireCommands, type Server } from './lib/processes.ts';
import { log, runBench } from './lib/run_bench.ts';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '300000' },
    samples: { type: 'string', default: '7' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write('usage: npx node bench/stream_info.ts [--entries N] [--samples N]\n');
  process.exit(0);
}
const ENTRIES = positive('entries', values.entries);
const SAMPLES = positive('samples', values.samples);
const COMMANDS = [
  ['XPENDING', 's', 'g'], ['XPENDING', 's', 'g', '-', '+', '10'], ['XINFO', 'GROUPS', 's'], ['XINFO', 'CONSUMERS', 's', 'g'], ['XINFO', 'STREAM', 's'], ['XLEN', 's'],
] as const;
const BATCH = 1000;
const READ_COUNT = 10_000;

async function measure(server: Server): Promise<Map<string, Timing>> {
  const c = new Redis({ port: server.port, enableReadyCheck: false, lazyConnect: true });
  await c.connect();
  try {
    log(`${server.name}: ${ENTRIES} entries, all pending`);
    for (let i = 0; i < ENTRIES; i += BATCH) {
      const p = c.pipeline();
      for (let j = i; j < Math.min(i + BATCH, ENTRIES); j++) p.xadd('s', '*', 'f', 'x'.repeat(100));
      await p.exec();
    }
    await c.xgroup('CREATE', 's', 'g', '0');
    for (let read = 0; read < ENTRIES; read += READ_COUNT) await c.call('XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', String(READ_COUNT), 'STREAMS', 's', '>');
    return await timeCommands(c, COMMANDS, SAMPLES);
  } finally {
    c.disconnect();
  }
}

await runBench(async () => {
  requireCommands({ 'redis-server': 'redis-server' });
  const table = await compareWithRedis(COMMANDS, measure);
  process.stdout.write(`\n${ENTRIES} entries, all pending for one consumer; ${SAMPLES} samples per command\n${table}\n`);
}, cleanup);
