// Redis Streams as an at-least-once work queue, on a real raftis process that is
// SIGKILLed mid-run and restarted on the same data dir. Producers XADD unique payload
// ids; two consumers of one group read `>` and XACK. Each round one consumer "crashes"
// (drops its connection) holding an unacked batch, then raftis is killed under load.
// After the restart that batch must still be pending for the crashed consumer with
// delivery count 1, XAUTOCLAIM must hand every pending entry to the survivor, and at
// the end every acknowledged XADD must have been acknowledged by a consumer with
// nothing left pending. Seed: RAFTIS_QUEUE_SEED (default fixed); failures name it.

import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { Rng } from '../sim/rng.ts';
import { startRaftis, strictClient, waitFor, within, type RaftisProcess } from '../support/crash_harness.ts';
import {
  GROUP, QueueModel, STREAM, ack, allEntries, autoclaimAll, consume, consumeThenHold, pendingCount, pendingRows, produce, readGroup,
  type Delivery,
} from '../support/stream_queue.ts';

const SEED = Number(process.env.RAFTIS_QUEUE_SEED ?? 20261124);
const ROUNDS = 3;
const PRODUCERS = 2;
const BLOCK_MS = 100;
const ROUND_MS_MAX = 20_000;
const SURVIVOR = 'survivor';
const BODY = 'x'.repeat(200);

interface Clients {
  readonly producers: Redis[];
  readonly survivor: Redis;
  readonly victim: Redis;
}

async function connectAll(port: number): Promise<Clients> {
  const c = { producers: Array.from({ length: PRODUCERS }, () => strictClient(port)), survivor: strictClient(port), victim: strictClient(port) };
  await within(Promise.all([...c.producers, c.survivor, c.victim].map((r) => r.connect())), 'queue clients to connect', 5000);
  return c;
}

test.serial(`stream queue: crashed consumer + SIGKILLed server lose no acknowledged message (seed ${SEED})`, async (t) => {
  t.timeout(150_000);
  const rng = new Rng(SEED);
  const dir = mkdtempSync(join(tmpdir(), 'raftis-queue-'));
  const model = new QueueModel();
  const opened: Redis[] = [];
  const open = async (port: number): Promise<Redis> => {
    const r = strictClient(port);
    opened.push(r);
    await within(r.connect(), 'a client to connect', 5000);
    return r;
  };
  let proc: RaftisProcess | null = null;
  try {
    proc = await startRaftis(dir);
    const setup = await open(proc.port);
    t.is(await setup.call('XGROUP', 'CREATE', STREAM, GROUP, '$', 'MKSTREAM'), 'OK');
    setup.disconnect();

    for (let round = 1; round <= ROUNDS; round++) {
      const where = `seed ${SEED} round ${round}`;
      const victimName = `victim-${round}`;
      const count = rng.int(2, 10);
      const ackFirst = rng.int(5, 200);
      const killAfter = rng.int(50, 1000);

      // ---- run: producers, a survivor and a victim; the victim crashes holding a batch ----
      const unansweredBefore = model.producing.size;
      const c = await connectAll(proc.port);
      opened.push(...c.producers, c.survivor, c.victim);
      let stopped = false;
      const stop = (): boolean => stopped;
      let failed: unknown = null;
      const loops = [
        ...c.producers.map((p, i) => produce(p, model, `${round}.${i}`, BODY, stop)),
        consume(c.survivor, model, SURVIVOR, count, BLOCK_MS, stop),
      ].map((p) => p.catch((e: unknown) => void (failed ??= e)));
      const held = await within(consumeThenHold(c.victim, model, victimName, count, BLOCK_MS, ackFirst, stop), `${victimName} to hold a batch (${where})`, ROUND_MS_MAX);
      c.victim.disconnect(); // a crashed consumer process: its connection is gone, its batch unacked
      const base = model.produced.size;
      await waitFor(() => failed !== null || model.produced.size - base >= killAfter, `${killAfter} more acknowledged XADDs (${where})`, ROUND_MS_MAX);
      if (failed !== null) throw failed;
      const exit = await proc.signal('SIGKILL');
      t.is(exit.signal, 'SIGKILL', where);
      stopped = true;
      await within(Promise.all(loops), `clients to notice the kill (${where})`, 10_000);
      if (failed !== null) throw failed;
      for (const r of [...c.producers, c.survivor]) r.disconnect();
      const inFlight = { xadd: model.producing.size - unansweredBefore, xack: model.acking.size };

      // ---- restart on the same dir: the crashed consumer's batch is still pending ----
      proc = await startRaftis(dir);
      const admin = await open(proc.port);
      const victimRows = await pendingRows(admin, victimName);
      t.deepEqual(victimRows.map((r) => r.id), held.map((d) => d.id), `${where}: ${victimName}'s pending entries after the restart`);
      for (const r of victimRows) {
        t.is(r.consumer, victimName, where);
        t.is(r.deliveries, 1, `${where}: delivery count of ${r.id}, read once by ${victimName}`);
      }

      // XACKs that got no answer: applied iff the entry is no longer pending.
      const before = await pendingRows(admin);
      const pendingIds = new Set(before.map((r) => r.id));
      for (const [id, pid] of model.acking) if (!pendingIds.has(id)) model.acked.add(pid);
      model.acking.clear();

      // ---- XAUTOCLAIM hands every pending entry to the survivor, which acks them ----
      const survivor = await open(proc.port);
      const { claimed, deleted } = await autoclaimAll(survivor, SURVIVOR, 0);
      t.deepEqual(deleted, [], `${where}: XAUTOCLAIM reported deleted entries`);
      t.deepEqual(claimed.map((d) => d.id), before.map((r) => r.id), `${where}: XAUTOCLAIM min-idle 0 claims every pending entry`);
      model.receive(claimed, false, `${SURVIVOR} (XAUTOCLAIM)`);
      const after = new Map((await pendingRows(admin)).map((r) => [r.id, r]));
      for (const r of before) {
        const a = after.get(r.id);
        t.is(a?.consumer, SURVIVOR, `${where}: ${r.id} owned by the survivor after XAUTOCLAIM`);
        t.is(a?.deliveries, r.deliveries + 1, `${where}: ${r.id} delivery count after XAUTOCLAIM`);
      }
      await ack(survivor, model, claimed, `${SURVIVOR} (claimed)`);
      t.is(await pendingCount(admin), 0, `${where}: nothing pending once the claimed entries are acked`);
      t.log(
        `round ${round}: ${victimName} held ${held.length} (COUNT ${count}, after acking ${ackFirst}+); killed ${killAfter}+ XADDs later; ` +
          `in flight at the kill: ${inFlight.xadd} XADD, ${inFlight.xack} XACK; claimed ${claimed.length}; ${model.produced.size} produced, ${model.acked.size} acked`,
      );
      admin.disconnect();
      survivor.disconnect();
    }

    // ---- drain what is left (XADDs applied at a kill but never answered) and check it all ----
    const drain = await open(proc.port);
    let drained = 0;
    await waitFor(
      async () => {
        const batch: Delivery[] = await readGroup(drain, SURVIVOR, 100, BLOCK_MS);
        model.receive(batch, true, `${SURVIVOR} (drain)`);
        await ack(drain, model, batch, `${SURVIVOR} (drain)`);
        drained += batch.length;
        return batch.length === 0;
      },
      'the stream to be drained',
      ROUND_MS_MAX,
    );
    t.is(await pendingCount(drain), 0, 'final XPENDING summary: nothing pending');
    const entries = await allEntries(drain);
    const inStream = new Map(entries.map((e) => [e.pid, e.id]));
    const lost = [...model.produced.keys()].filter((pid) => !model.acked.has(pid));
    t.deepEqual(lost.slice(0, 20), [], `acknowledged XADDs never acknowledged by a consumer (${lost.length})`);
    const missing = [...model.produced].filter(([pid, id]) => inStream.get(pid) !== id);
    t.deepEqual(missing.slice(0, 20), [], `acknowledged XADDs missing from the stream (${missing.length})`);
    const unacked = entries.filter((e) => !model.acked.has(e.pid));
    t.deepEqual(unacked.slice(0, 20), [], `stream entries never acknowledged (${unacked.length})`);
    t.deepEqual(model.problems.slice(0, 20), [], `violations during the run (${model.problems.length})`);
    const maybe = [...model.producing].filter((pid) => inStream.has(pid)).length;
    t.log(`${model.produced.size} acknowledged XADDs, ${model.producing.size} unanswered (${maybe} of them applied); ${entries.length} entries; drained ${drained} at the end`);
  } finally {
    for (const r of opened) r.disconnect();
    if (proc) await proc.signal('SIGKILL').catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});
