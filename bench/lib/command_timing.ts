// Times single commands on one connection, and compares a raftis and a redis-server
// measured one after the other by the same procedure (bench/keyspace_info.ts,
// bench/stream_info.ts): the table of medians and maxima with the ratio of medians.

import type { Redis } from 'ioredis';
import { startRaftis, startRedis, type Server } from './processes.ts';
import { fmtMs, fmtRatio, markdownTable, median } from './table.ts';

export interface Timing {
  readonly median: number;
  readonly max: number;
}

/** Each command `samples` times, one round trip each (after `before(sample)` if given), in ms. */
export async function timeCommands(
  c: Redis,
  commands: ReadonlyArray<readonly string[]>,
  samples: number,
  before?: (sample: number) => Promise<unknown>,
): Promise<Map<string, Timing>> {
  const out = new Map<string, Timing>();
  for (const cmd of commands) {
    const ms: number[] = [];
    for (let s = 0; s < samples; s++) {
      await before?.(s);
      const t = performance.now();
      await c.call(cmd[0]!, ...cmd.slice(1));
      ms.push(performance.now() - t);
    }
    out.set(cmd.join(' '), { median: median(ms), max: Math.max(...ms) });
  }
  return out;
}

/** `measure` on a fresh raftis, then on a fresh redis-server (each stopped after); the markdown table. */
export async function compareWithRedis(commands: ReadonlyArray<readonly string[]>, measure: (server: Server) => Promise<Map<string, Timing>>): Promise<string> {
  const results: Array<Map<string, Timing>> = [];
  for (const start of [startRaftis, startRedis]) {
    const server = await start();
    results.push(await measure(server));
    await server.stop();
  }
  const rows = commands.map((cmd) => {
    const name = cmd.join(' ');
    const a = results[0]!.get(name)!;
    const b = results[1]!.get(name)!;
    return [name, fmtMs(a.median), fmtMs(a.max), fmtMs(b.median), fmtMs(b.max), fmtRatio(a.median / b.median)];
  });
  return markdownTable(['command', 'raftis median', 'raftis max', 'redis median', 'redis max', 'raftis/redis'], rows);
}
