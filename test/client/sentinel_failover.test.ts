// Stock ioredis in Sentinel mode against a real 3-node cluster: every node answers as a
// sentinel (SENTINEL get-master-addr-by-name / sentinels / replicas), the Raft leader is
// the master. 10,000 writes while the leader is SIGKILLed: ioredis finds the new master
// through the surviving sentinels; the errors it surfaces are counted, every
// acknowledged key reads back, and writing goes on after the failover.

import test from 'ava';
import { Redis } from 'ioredis';
import { waitUntil } from '../support/wait.ts';
import { key, latencySummary, readyCluster, runWrites, value } from './support.ts';

const KEYS = 10_000;
const WRITERS = 16;
const KILL_AFTER_ACKS = 3000;
const RUN_TIMEOUT_MS = 180_000;

const hostPort = (a: string): { host: string; port: number } => ({ host: a.slice(0, a.lastIndexOf(':')), port: Number(a.slice(a.lastIndexOf(':') + 1)) });

test.serial('SENTINEL replies: the leader as master, the others as replicas and sentinels', async (t) => {
  const rc = await readyCluster(t);
  const leaderAddr = `127.0.0.1:${rc.cluster.node(rc.leader).port}`;
  const follower = rc.cluster.founders.find((id) => id !== rc.leader)!;
  const r = await rc.cluster.client(follower);
  t.deepEqual(await r.call('SENTINEL', 'get-master-addr-by-name', 'raftis'), [hostPort(leaderAddr).host, String(hostPort(leaderAddr).port)]);
  t.is(await r.call('SENTINEL', 'get-master-addr-by-name', 'nope'), null);
  const pack = (rows: unknown): Array<Record<string, string>> => (rows as string[][]).map((row) => Object.fromEntries(row.flatMap((_, i) => (i % 2 === 0 ? [[row[i], row[i + 1]]] : []))));
  const sentinels = pack(await r.call('SENTINEL', 'sentinels', 'raftis'));
  t.deepEqual(sentinels.map((s) => `${s.ip}:${s.port}`).sort(), rc.addrs.filter((a) => a !== `127.0.0.1:${rc.cluster.node(follower).port}`).sort());
  t.true(sentinels.every((s) => s.flags === 'sentinel'));
  const replicas = pack(await r.call('SENTINEL', 'replicas', 'raftis'));
  t.deepEqual(replicas.map((s) => `${s.ip}:${s.port}`).sort(), rc.addrs.filter((a) => a !== leaderAddr).sort());
  t.deepEqual(pack(await r.call('SENTINEL', 'slaves', 'raftis')), replicas);
  t.true(replicas.every((s) => s.flags === 'slave'));
  await t.throwsAsync(r.call('SENTINEL', 'replicas', 'nope'), { message: 'ERR No such master with that name' });
  t.is(pack([await r.call('SENTINEL', 'master', 'raftis')])[0]!.ip, '127.0.0.1');
  // The cluster id (--cluster-id, default "raftis") is the name.
  t.is((await r.call('CONFIG', 'GET', 'cluster-id') as string[])[1], 'raftis');
  // ioredis with role 'slave' lands on a follower; with failoverDetector it subscribes to +switch-master.
  const replica = new Redis({ sentinels: rc.addrs.map(hostPort), name: 'raftis', role: 'slave' });
  const detector = new Redis({ sentinels: rc.addrs.map(hostPort), name: 'raftis', failoverDetector: true });
  for (const x of [replica, detector]) {
    x.on('error', () => {});
    t.teardown(() => x.disconnect());
  }
  t.is(await detector.set('detector', '1'), 'OK');
  t.is(await replica.get('detector'), '1', 'a follower read sees the write (linearizable)');
  t.regex(String(await replica.info('replication')), /role:slave/);
});

test.serial('stock ioredis Sentinel mode: 10,000 writes, leader SIGKILLed mid-way; acknowledged keys read back, writing continues', async (t) => {
  const rc = await readyCluster(t);
  const redis = new Redis({ sentinels: rc.addrs.map(hostPort), name: 'raftis' });
  const events: string[] = [];
  redis.on('error', (e: Error) => void events.push(`error: ${e.message}`));
  t.teardown(() => redis.disconnect());
  await waitUntil(() => redis.status === 'ready', 'ioredis (sentinel mode) to connect', 10_000);
  const leader = rc.leader;
  const run = await runWrites(
    { count: KEYS, concurrency: WRITERS, faultAfterAcks: KILL_AFTER_ACKS, fault: () => rc.cluster.kill(leader), timeoutMs: RUN_TIMEOUT_MS },
    (i) => redis.set(key('sent', i), value(i)),
  );
  const acked = run.outcomes.filter((o) => o.error === null).map((o) => o.i);
  const failed = run.outcomes.filter((o) => o.error !== null);
  const after = run.outcomes.filter((o) => o.error === null && o.startMs > run.faultAtMs);
  const kinds = new Map<string, number>();
  for (const f of failed) kinds.set(f.error!.message, (kinds.get(f.error!.message) ?? 0) + 1);
  t.log(`killed ${leader} after ${KILL_AFTER_ACKS} acks; ${acked.length} acknowledged (${after.length} sent after the kill), ${failed.length} errors surfaced by ioredis ${JSON.stringify([...kinds])}; ${latencySummary(run)}; connection errors emitted: ${events.length}`);
  t.true(after.length > 0, 'writing continues after the failover');
  const newLeader = await rc.cluster.waitForLeader(10_000, { exclude: [leader] });
  // Read back on the new leader, linearizably, every acknowledged key.
  const check = await rc.cluster.client(newLeader.id);
  const wrong: string[] = [];
  for (let k = 0; k < acked.length; k += 500) {
    const chunk = acked.slice(k, k + 500);
    const got = (await check.mget(...chunk.map((i) => key('sent', i)))) as Array<string | null>;
    chunk.forEach((i, j) => void (got[j] !== value(i) && wrong.push(key('sent', i))));
  }
  t.deepEqual(wrong, []);
  // ioredis now talks to the new leader.
  t.is(await redis.set('after-failover', '1'), 'OK');
  const info = String(await redis.info('replication'));
  t.regex(info, /role:master/);
});

test.serial('+switch-master: after RAFT TRANSFER (the old leader stays up) ioredis with failoverDetector moves to the new master', async (t) => {
  const rc = await readyCluster(t);
  const target = rc.cluster.founders.find((id) => id !== rc.leader)!;
  const targetAddr = `127.0.0.1:${rc.cluster.node(target).port}`;
  // Every node publishes +switch-master to its own subscribers when it learns of a new leader.
  const watcher = new Redis({ ...hostPort(rc.addrs[0]!), lazyConnect: true });
  watcher.on('error', () => {});
  t.teardown(() => watcher.disconnect());
  await watcher.connect();
  const switches: string[] = [];
  watcher.on('message', (channel: string, message: string) => {
    if (channel === '+switch-master') switches.push(message);
  });
  await watcher.subscribe('+switch-master');

  const detector = new Redis({ sentinels: rc.addrs.map(hostPort), name: 'raftis', failoverDetector: true });
  detector.on('error', () => {});
  t.teardown(() => detector.disconnect());
  t.is(await detector.set('before-transfer', '1'), 'OK');

  const leader = await rc.cluster.client(rc.leader);
  t.is(await leader.call('RAFT', 'TRANSFER', target), 'OK');
  await waitUntil(() => switches.length > 0, '+switch-master published', 10_000);
  const [, , , newHost, newPort] = switches.at(-1)!.split(' ');
  t.is(`${newHost}:${newPort}`, targetAddr);
  // The detector reconnects to the new master: its connection's INFO says master and its port is the target's.
  await waitUntil(
    async () => {
      const info = String(await detector.info('replication').catch(() => ''));
      return /role:master/.test(info) && String(await detector.config('GET', 'port').catch(() => [])).endsWith(String(rc.cluster.node(target).port));
    },
    'ioredis on the new master',
    15_000,
  );
  t.is(await detector.set('after-transfer', '1'), 'OK');
});
