// A short Jepsen-style run (jepsen.ts): clients on every node, a seeded nemesis that
// kills, pauses, partitions and restarts nodes; the history must be linearizable and
// the nodes must converge after healing. RAFTIS_JEPSEN_SECONDS and RAFTIS_JEPSEN_SEED
// override the length and the seed (default: derived from the commit, else 1).

import test from 'ava';
import { commitSeed } from '../consensus/seeds.ts';
import { describeRun, runJepsen } from './jepsen.ts';

const SECONDS = Number(process.env.RAFTIS_JEPSEN_SECONDS ?? 25);
const SEED = Number(process.env.RAFTIS_JEPSEN_SEED ?? commitSeed()?.seed ?? 1);

test('jepsen: linearizable under kills, pauses and partitions; converges after healing', async (t) => {
  t.timeout(SECONDS * 1000 + 120_000);
  const r = await runJepsen(t, { seed: SEED, timeLimitMs: SECONDS * 1000, log: (l) => t.log(l) });
  t.log(describeRun(r));
  t.is(r.check.kind, 'ok', r.check.kind === 'illegal' ? r.check.explanation : JSON.stringify(r.check));
  t.is(r.convergeError, null);
  t.deepEqual(r.wrongReplies, []);
  t.deepEqual(r.crashes, []);
  t.true(r.ops.ok > 100, 'too few operations completed to mean anything');
});
