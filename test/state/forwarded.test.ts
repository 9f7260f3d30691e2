// Deduplication of forwarded writes (src/state/forwarded.ts): what `seen` answers must be
// what the table holds, whatever its in-memory bound per origin believes. Seeded random
// runs of first forwards (rising seqs), re-sent ones (old seqs), rolled-back applies,
// pruning, and a second ForwardedWrites opened over the same table, checked on every
// step against a query of the table itself.

import test from 'ava';
import { logIndex } from '../../consensus/index.ts';
import { ForwardedWrites } from '../../src/state/forwarded.ts';
import { StateDatabase } from '../../src/state/index.ts';
import { Rng } from '../sim/rng.ts';

const ORIGINS = ['n1#a', 'n2#b', 'n3#c'];

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  test(`seed ${seed}: seen() answers what the table holds`, (t) => {
    const rng = new Rng(seed);
    const state = StateDatabase.open(':memory:');
    t.teardown(() => state.close());
    const truth = state.sqlite.prepare('SELECT reply FROM forwarded WHERE origin = ? AND seq = ?').pluck();
    let fw = new ForwardedWrites(state);
    const next = new Map<string, bigint>(ORIGINS.map((o) => [o, 1n]));
    let index = 0;
    for (let step = 0; step < 600; step++) {
      const origin = ORIGINS[rng.nextInt(ORIGINS.length)]!;
      const top = next.get(origin)!;
      const r = rng.nextInt(100);
      // A first forward (the next seq), or a re-send of an older one.
      const seq = r < 70 || top === 1n ? top : BigInt(1 + rng.nextInt(Number(top - 1n)));
      const expected = (truth.get(origin, seq) as Buffer | undefined) ?? null;
      t.deepEqual(fw.seen(origin, seq), expected, `step ${step}: ${origin} ${seq}`);
      if (expected !== null) continue; // applied before: answered, not applied again
      const rollBack = rng.nextInt(10) === 0;
      const at = index + 1;
      try {
        state.transaction(() => {
          fw.record(origin, seq, logIndex(at), Buffer.from(`+${origin}:${seq}\r\n`));
          if (rollBack) throw new Error('an apply that fails');
        });
        index = at;
      } catch (e) {
        if (!rollBack) throw e;
      }
      if (seq === top) next.set(origin, top + 1n);
      if (rng.nextInt(50) === 0) {
        // Pruning as record() does at every 4096th index, here of a random older part.
        state.transaction(() => state.sqlite.prepare('DELETE FROM forwarded WHERE applied_index < ?').run(rng.nextInt(index + 1)));
      }
      if (rng.nextInt(100) === 0) fw = new ForwardedWrites(state); // reopened: bounds loaded from the table
    }
  });
}
