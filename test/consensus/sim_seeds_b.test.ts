// Seeded chaos simulations, second half of the fixed batch (a separate file so ava
// runs the halves on both cores).

import test from 'ava';
import { runSeed } from '../sim/random_run.ts';
import { CHAOS_TICKS, FIXED_SEEDS } from './seeds.ts';

const half = FIXED_SEEDS / 2;

test(`seeds ${half + 1}..${FIXED_SEEDS} pass the safety, liveness and linearizability checks`, (t) => {
  const failures: string[] = [];
  for (let seed = half + 1; seed <= FIXED_SEEDS; seed++) {
    const r = runSeed(seed, { chaosTicks: CHAOS_TICKS });
    if (!r.ok) failures.push(`seed ${seed}: ${r.error}\n  reproduce: npm run sim -- --seeds 1 --from ${seed} --ticks ${CHAOS_TICKS} --verbose`);
  }
  t.deepEqual(failures, []);
});
