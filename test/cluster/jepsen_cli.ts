// `npm run jepsen -- --time-limit S [--seed N] [--runs R] [--nodes 3|5] [--keys K] [--faults kill,pause,partition] [--keep]`:
// Jepsen-style runs against a real raftis cluster (see jepsen.ts), one seed per run
// (N, N+1, ...). Prints each run's account and the nemesis schedule, then
// `N passed, M failed`; exits 1 on any failure. Stops only what it started.

import { parseArgs } from 'node:util';
import { Cleanups } from '../support/processes.ts';
import { describeRun, runJepsen } from './jepsen.ts';

const { values } = parseArgs({
  options: {
    'time-limit': { type: 'string', default: '30' },
    seed: { type: 'string' },
    runs: { type: 'string', default: '1' },
    nodes: { type: 'string', default: '3' },
    keys: { type: 'string', default: '4' },
    keep: { type: 'boolean', default: false },
    faults: { type: 'string', default: 'kill,pause,partition' },
    quiet: { type: 'boolean', default: false },
  },
});
const int = (name: string, raw: string | undefined, min: number, max: number): number => {
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) {
    process.stderr.write(`jepsen: --${name} needs an integer ${min}-${max}, got '${raw ?? ''}'\n`);
    process.exit(2);
  }
  return v;
};
const timeLimitS = int('time-limit', values['time-limit'], 5, 86_400);
const runs = int('runs', values.runs, 1, 10_000);
const nodes = int('nodes', values.nodes, 3, 7);
const keys = int('keys', values.keys, 1, 64);
const faults = values.faults.split(',').filter((f) => f !== '') as Array<'kill' | 'pause' | 'partition'>;
if (faults.length === 0 || faults.some((f) => !['kill', 'pause', 'partition'].includes(f))) {
  process.stderr.write(`jepsen: --faults takes a list of kill, pause, partition\n`);
  process.exit(2);
}
const firstSeed = values.seed !== undefined ? int('seed', values.seed, 0, 2 ** 31) : Date.now() % 1_000_000;

let passed = 0;
let failed = 0;
for (let i = 0; i < runs; i++) {
  const seed = firstSeed + i;
  process.stdout.write(`--- run ${i + 1}/${runs}: seed ${seed}, ${timeLimitS} s, ${nodes} nodes, ${keys} keys\n`);
  const cleanups = new Cleanups();
  try {
    const r = await runJepsen(cleanups, {
      seed,
      timeLimitMs: timeLimitS * 1000,
      nodes,
      keys,
      keep: values.keep,
      faults,
      log: values.quiet ? undefined : (l) => void process.stdout.write(`  ${l}\n`),
    });
    process.stdout.write(`${describeRun(r)}\n`);
    if (r.ok) passed++;
    else {
      failed++;
      process.stdout.write(`  reproduce: npm run jepsen -- --time-limit ${timeLimitS} --seed ${seed} --nodes ${nodes} --keys ${keys}\n`);
      if (r.convergeError) process.stdout.write(`${r.convergeError}\n`);
    }
  } catch (e) {
    failed++;
    process.stdout.write(`seed ${seed}: ERROR ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  } finally {
    await cleanups.run().catch((e: unknown) => process.stderr.write(`cleanup: ${String(e)}\n`));
  }
}
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
