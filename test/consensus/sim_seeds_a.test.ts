// Seeded chaos simulations, first half of the fixed batch, plus the commit-derived seed.
// A failure prints the seed and the command that reproduces it.

import test from 'ava';
import { runSeed } from '../sim/random_run.ts';
import { CHAOS_TICKS, FIXED_SEEDS, commitSeed } from './seeds.ts';

const half = FIXED_SEEDS / 2;

test(`seeds 1..${half} pass the safety, liveness and linearizability checks`, (t) => {
  const failures: string[] = [];
  for (let seed = 1; seed <= half; seed++) {
    const r = runSeed(seed, { chaosTicks: CHAOS_TICKS });
    if (!r.ok) failures.push(`seed ${seed}: ${r.error}\n  reproduce: npm run sim -- --seeds 1 --from ${seed} --ticks ${CHAOS_TICKS} --verbose`);
  }
  t.deepEqual(failures, []);
});

test('the seed derived from this commit passes', (t) => {
  const derived = commitSeed();
  if (derived === null) {
    t.log('not in a git checkout: no commit-derived seed this run');
    t.pass();
    return;
  }
  const r = runSeed(derived.seed, { chaosTicks: CHAOS_TICKS });
  t.log(`commit ${derived.commit.slice(0, 12)} → seed ${derived.seed}: ${r.summary}`);
  t.true(r.ok, `${r.error}\n  reproduce: npm run sim -- --seeds 1 --from ${derived.seed} --ticks ${CHAOS_TICKS} --verbose`);
});
