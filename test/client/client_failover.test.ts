// raftis/client against a real 3-node cluster: 10,000 writes while the leader is killed
// (SIGKILL). Idempotent writes (each key written once, by this test, to its own value)
// see no error at all, only latency; default writes may see OutcomeUnknownError for the
// writes in flight at the kill, and nothing else. Every acknowledged key reads back.

import test from 'ava';
import { createClient, OutcomeUnknownError, type RaftisClient } from '../../src/client/index.ts';
import { key, latencySummary, readyCluster, runWrites, value, type ReadyCluster } from './support.ts';

const KEYS = 10_000;
const WRITERS = 16;
const KILL_AFTER_ACKS = 3000;
const RUN_TIMEOUT_MS = 180_000;

/** Reads back every acknowledged key through the client (SCAN + MGET): the ones missing or wrong. */
async function missing(client: RaftisClient, prefix: string, acked: readonly number[]): Promise<string[]> {
  const got = new Map(await client.list(`${prefix}:`, { limit: 100_000 }));
  return acked.filter((i) => got.get(key(prefix, i)) !== value(i)).map((i) => key(prefix, i));
}

async function killLeaderRun(t: import('ava').ExecutionContext, rc: ReadyCluster, prefix: string, idempotent: boolean) {
  const client = createClient({ nodes: rc.addrs, retryDeadlineMs: 10_000, poolSize: 4 });
  t.teardown(() => client.close());
  const leader = (await rc.cluster.waitForLeader(10_000)).id;
  const run = await runWrites(
    { count: KEYS, concurrency: WRITERS, faultAfterAcks: KILL_AFTER_ACKS, fault: () => rc.cluster.kill(leader), timeoutMs: RUN_TIMEOUT_MS },
    (i) => client.set(key(prefix, i), value(i), { idempotent }),
  );
  const acked = run.outcomes.filter((o) => o.error === null).map((o) => o.i);
  const failed = run.outcomes.filter((o) => o.error !== null);
  const after = run.outcomes.filter((o) => o.error === null && o.startMs > run.faultAtMs);
  t.log(`${prefix}: killed ${leader} after ${KILL_AFTER_ACKS} acks; ${acked.length} acknowledged (${after.length} sent after the kill), ${failed.length} errors; ${latencySummary(run)}; client stats ${JSON.stringify(client.stats())}`);
  t.true(after.length > 0, 'writes continue after the failover');
  return { client, run, acked, failed, leader };
}

test.serial('10,000 idempotent writes, leader SIGKILLed mid-way: no error, only latency; every key reads back', async (t) => {
  const rc = await readyCluster(t);
  const { client, acked, failed } = await killLeaderRun(t, rc, 'idem', true);
  t.deepEqual(failed.map((f) => `${f.i}: ${f.error!.name}: ${f.error!.message}`), []);
  t.is(acked.length, KEYS);
  t.deepEqual(await missing(client, 'idem', acked), []);
});

test.serial('10,000 default writes, leader SIGKILLed mid-way: only OutcomeUnknownError (writes in flight), every acknowledged key reads back', async (t) => {
  const rc = await readyCluster(t);
  const { client, acked, failed } = await killLeaderRun(t, rc, 'dflt', false);
  const others = failed.filter((f) => !(f.error instanceof OutcomeUnknownError));
  t.deepEqual(others.map((f) => `${f.i}: ${f.error!.name}: ${f.error!.message}`), [], 'only outcome-unknown errors');
  // At most the writes in flight at the kill (one per writer) can have an unknown outcome.
  t.true(failed.length <= WRITERS, `${failed.length} unknown outcomes`);
  t.deepEqual(await missing(client, 'dflt', acked), []);
  const fates = await Promise.all(failed.map(async (f) => ((await client.get(key('dflt', f.i))) === value(f.i) ? 'applied' : 'not applied')));
  t.log(`outcome unknown: ${failed.length} (read back later: ${fates.filter((x) => x === 'applied').length} applied, ${fates.filter((x) => x !== 'applied').length} not)`);
});
