// Crash safety of a real raftis process: under a write load from several clients it
// is killed with SIGKILL at a seeded moment and restarted on the same data dir;
// every acknowledged write must survive, in-flight writes may or may not, and the
// keyspace must stay consistent. Rounds repeat on one dir; a variant compacts the
// log often so snapshots are taken and restored between kills.
// Seed: RAFTIS_CRASH_SEED (default fixed); a failure names the seed and round.

import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../sim/rng.ts';
import { Model, infoField, startLoad, startRaftis, strictClient, verifyAndSettle, waitFor, within, type RaftisProcess } from '../support/crash_harness.ts';

const SEED = Number(process.env.RAFTIS_CRASH_SEED ?? 20261123);
const ROUNDS = 5;
const CLIENTS = 6;
/** Acknowledged writes per round before the kill: drawn from this range. */
const KILL_AFTER_ACKS = [50, 3000] as const;
const ROUND_MS_MAX = 15_000;

interface Variant {
  readonly title: string;
  readonly flags: readonly string[];
  readonly seed: number;
  readonly expectSnapshot: boolean;
}

const variants: readonly Variant[] = [
  { title: 'default log', flags: [], seed: SEED, expectSnapshot: false },
  { title: '--snapshot-entries 200', flags: ['--snapshot-entries', '200'], seed: SEED + 1, expectSnapshot: true },
];

for (const v of variants) {
  test.serial(`SIGKILL under write load loses no acknowledged write (${v.title}, seed ${v.seed})`, async (t) => {
    t.timeout(120_000);
    const rng = new Rng(v.seed);
    const dir = mkdtempSync(join(tmpdir(), 'raftis-crash-'));
    const model = new Model();
    let proc: RaftisProcess | null = null;
    let maxSnapshotIndex = 0;
    try {
      proc = await startRaftis(dir, v.flags);
      for (let round = 1; round <= ROUNDS; round++) {
        const where = `seed ${v.seed} round ${round}`;
        const before = model.ackedWrites;
        const target = rng.int(KILL_AFTER_ACKS[0], KILL_AFTER_ACKS[1]);
        const load = await startLoad(model, proc.port, CLIENTS, round, rng.fork());
        let loadFailed: unknown = null;
        void load.done.catch((e: unknown) => (loadFailed = e));
        await waitFor(() => loadFailed !== null || model.ackedWrites - before >= target, `${target} acknowledged writes (${where})`, ROUND_MS_MAX);
        if (loadFailed !== null) throw loadFailed;
        const exit = await proc.signal('SIGKILL');
        t.is(exit.signal, 'SIGKILL', where);
        await within(load.done, `clients to notice the kill (${where})`, 10_000);
        load.close();
        const acked = model.ackedWrites - before;

        proc = await startRaftis(dir, v.flags);
        const redis = strictClient(proc.port);
        try {
          await redis.connect();
          const problems = await verifyAndSettle(model, redis);
          t.deepEqual(problems, [], `${where}: after the restart\n${proc.stderr().slice(-2000)}`);
          const snap = Number(await infoField(redis, 'persistence', 'raft_snapshot_index'));
          maxSnapshotIndex = Math.max(maxSnapshotIndex, snap);
          t.log(`round ${round}: killed after ${acked} acknowledged writes (target ${target}); ${model.sets.size} keys known; snapshot index ${snap}`);
        } finally {
          redis.disconnect();
        }
      }
      if (v.expectSnapshot) t.true(maxSnapshotIndex > 0, 'the log was compacted at least once between kills');
    } finally {
      if (proc) await proc.signal('SIGKILL').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
