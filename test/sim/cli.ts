// `npm run sim -- --seeds N [--from S] [--ticks T] [--verbose]`: runs N seeded chaos
// simulations and prints, for each failure, the seed and the one command that
// reproduces it; ends with "N passed, M failed" and exits non-zero on failure.

import { parseArgs } from 'node:util';
import { runSeed } from './random_run.ts';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '100' },
    from: { type: 'string', default: '1' },
    ticks: { type: 'string', default: '400' },
    verbose: { type: 'boolean', default: false },
  },
});

const count = Number(values.seeds);
const from = Number(values.from);
const chaosTicks = Number(values.ticks);
if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(from) || !Number.isSafeInteger(chaosTicks) || chaosTicks < 0) {
  console.error('usage: npm run sim -- --seeds N [--from S] [--ticks T] [--verbose]');
  process.exit(2);
}

let passed = 0;
let failed = 0;
const started = performance.now();
for (let seed = from; seed < from + count; seed++) {
  const r = runSeed(seed, { chaosTicks });
  if (r.ok) {
    passed++;
    if (values.verbose) console.log(`seed ${seed} ok: ${r.summary}`);
  } else {
    failed++;
    console.log(`seed ${seed} FAILED (${r.summary}): ${r.error}`);
    console.log(`  reproduce: npm run sim -- --seeds 1 --from ${seed} --ticks ${chaosTicks} --verbose`);
  }
}
console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
