// Graceful shutdown of a real raftis process: SIGTERM or SIGINT during a write load
// makes it exit 0, and every write acknowledged before the exit is present after a
// restart on the same dir; a write refused as "shutting down", or left without an
// answer (received after the shutdown began, so never executed), was never applied.

import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../sim/rng.ts';
import { Model, startLoad, startRaftis, strictClient, verifyAndSettle, waitFor, within, type RaftisProcess } from '../support/crash_harness.ts';

const CLIENTS = 6;
const ACKS_BEFORE_SIGNAL = 500;
const BURST = 2000;

for (const [signal, seed] of [['SIGTERM', 101], ['SIGINT', 202]] as const) {
  test.serial(`${signal} during a write load exits 0 and keeps every acknowledged write`, async (t) => {
    t.timeout(60_000);
    const dir = mkdtempSync(join(tmpdir(), 'raftis-shutdown-'));
    const model = new Model();
    let proc: RaftisProcess | null = null;
    try {
      proc = await startRaftis(dir);
      const load = await startLoad(model, proc.port, CLIENTS, 1, new Rng(seed));
      let loadFailed: unknown = null;
      void load.done.catch((e: unknown) => (loadFailed = e));
      await waitFor(() => loadFailed !== null || model.ackedWrites >= ACKS_BEFORE_SIGNAL, `${ACKS_BEFORE_SIGNAL} acknowledged writes`, 15_000);
      if (loadFailed !== null) throw loadFailed;
      // A pipelined burst in flight as the signal lands: replies due must still arrive.
      const burstClient = strictClient(proc.port);
      await burstClient.connect();
      const burst = Array.from({ length: BURST }, (_, i) => {
        const key = `burst:${i}`;
        const value = `b${i}`;
        model.pendingSets.set(key, value);
        return burstClient.set(key, value).then(
          () => {
            model.pendingSets.delete(key);
            model.sets.set(key, value);
            model.ackedWrites++;
          },
          () => undefined, // no answer: stays pending
        );
      });
      const exit = await proc.signal(signal, 15_000);
      await within(Promise.all(burst), 'the burst to settle', 10_000);
      burstClient.disconnect();
      t.deepEqual(exit, { code: 0, signal: null }, `exit after ${signal}\n${proc.stderr().slice(-2000)}`);
      await within(load.done, 'clients to stop after the exit', 10_000);
      load.close();
      const pending = model.pendingSets.size + [...model.counters.values()].reduce((n, c) => n + c.pending, 0) + [...model.appends.values()].reduce((n, a) => n + a.pending.length, 0);
      t.log(`${model.ackedWrites} writes acknowledged, ${model.refusedSets.size} SETs refused while shutting down, ${pending} without an answer`);

      proc = await startRaftis(dir);
      const redis = strictClient(proc.port);
      try {
        await redis.connect();
        t.deepEqual(await verifyAndSettle(model, redis, 'never-applied'), [], 'after the restart');
      } finally {
        redis.disconnect();
      }
      const again = await proc.signal('SIGTERM', 15_000);
      t.deepEqual(again, { code: 0, signal: null }, 'an idle server exits 0 too');
      proc = null;
    } finally {
      if (proc) await proc.signal('SIGKILL').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
