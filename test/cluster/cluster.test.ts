// Cluster behaviour with real processes over a real nats-server: election at start,
// failover under load, a paused leader, a partitioned leader, rejoin and catch-up (also
// through a snapshot after a wipe), membership changes. Each test owns its cluster.
// RAFTIS_CLUSTER_HEAVY=1 runs longer loads and more rounds.

import test from 'ava';
import { Cluster } from '../support/cluster.ts';
import { waitUntil } from '../support/wait.ts';
import { WriteLoad, missingAcked, fateOfError } from './load.ts';

const HEAVY = process.env.RAFTIS_CLUSTER_HEAVY === '1';
const ACKS_BEFORE_FAULT = HEAVY ? 500 : 50;
const ACKS_AFTER_FAULT = HEAVY ? 500 : 50;

/** The outcome of one command as a value: its reply, or its error text. */
async function attempt<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  try {
    return { ok: true, value: await p };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

test.serial('startup: a 3-node cluster elects a leader within 5 s', async (t) => {
  const t0 = performance.now();
  const c = await Cluster.start(t);
  const leader = await c.waitForLeader(5000);
  const ms = performance.now() - t0;
  t.log(`leader ${leader.id} ${ms.toFixed(0)} ms after the start began (${leader.ms.toFixed(0)} ms after all nodes listened)`);
  t.true(ms < 5000);
  const st = await c.statuses();
  t.deepEqual(new Set(st.map((s) => s.leader)), new Set([leader.id]));
});

test.serial('large values: 5 MiB written through a follower travel in pieces (forward, reply, appends) and read back on every node', async (t) => {
  const c = await Cluster.start(t);
  const { id: leader } = await c.waitForLeader(5000);
  const follower = c.founders.find((id) => id !== leader)!;
  const onFollower = await c.client(follower, { commandTimeoutMs: 20_000 });
  const big = Buffer.alloc(5 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  t.is(await onFollower.set('big', big), 'OK');
  // The old value comes back in the forwarded write's reply: a frame larger than one NATS message too.
  const old = await onFollower.setBuffer('big', Buffer.from('small'), 'GET');
  t.true(Buffer.isBuffer(old) && old.equals(big), 'SET ... GET relays the 5 MiB old value');
  t.is(await onFollower.set('big', big), 'OK');
  for (const id of c.founders) {
    const r = await c.client(id, { commandTimeoutMs: 20_000 });
    const got = await r.getBuffer('big');
    t.true(got !== null && got.equals(big), `node ${id} reads the 5 MiB value`);
  }
  t.is(c.running().length, 3, 'no node crashed');
});

test.serial('fsyncs: a write costs the leader and each follower about one log fsync (a Ready that only moves the commit index is not fsynced)', async (t) => {
  const c = await Cluster.start(t);
  const { id: leader } = await c.waitForLeader(5000);
  const onLeader = await c.client(leader);
  t.is(await onLeader.set('warm', '1'), 'OK');
  await c.waitConverged([...c.founders]);
  const fsyncs = async (): Promise<Map<string, number>> => {
    const out = new Map<string, number>();
    for (const id of c.founders) {
      const m = /raft_log_fsyncs:(\d+)/.exec(await (await c.client(id)).info('raft'));
      if (m === null) throw new Error(`no raft_log_fsyncs in INFO raft of ${id}`);
      out.set(id, Number(m[1]));
    }
    return out;
  };
  const before = await fsyncs();
  const writes = 40;
  for (let i = 0; i < writes; i++) t.is(await onLeader.set(`k${i}`, 'v'), 'OK');
  await c.waitConverged([...c.founders]);
  const after = await fsyncs();
  const counts = c.founders.map((id) => ({ id, n: after.get(id)! - before.get(id)! }));
  for (const { id, n } of counts) t.log(`${id}${id === leader ? ' (leader)' : ''}: ${n} fsyncs for ${writes} sequential writes`);
  for (const { id, n } of counts) {
    // At most one per write's entry (a follower behind gets two in one append), plus a
    // few for heartbeats; an fsync for each Ready that only moved the commit index doubled it.
    t.true(n >= writes / 2 && n <= writes * 1.25 + 5, `${id}: ${n} fsyncs`);
  }
});

test.serial('failover: SIGKILL the leader under load on a follower; a new leader, writes resume, nothing acknowledged lost', async (t) => {
  const c = await Cluster.start(t);
  const { id: leader } = await c.waitForLeader(5000);
  const follower = c.founders.find((id) => id !== leader)!;
  const load = new WriteLoad(c, { node: follower, clients: 4 });
  await load.start();
  await waitUntil(() => load.acked().length >= ACKS_BEFORE_FAULT, 'writes before the kill', 20_000);
  const killedAt = performance.now();
  await c.kill(leader);
  const next = await c.waitForLeader(10_000, { exclude: [leader] });
  const electedMs = performance.now() - killedAt;
  await waitUntil(() => load.firstAckCalledAfter(killedAt) !== undefined, 'a write sent after the kill to be acknowledged', 15_000);
  const resumed = load.firstAckCalledAfter(killedAt)!;
  const ackedAtKill = load.acked().length;
  await waitUntil(() => load.acked().length >= ackedAtKill + ACKS_AFTER_FAULT, 'writes after the failover', 20_000);
  await load.stop();
  t.log(`killed ${leader}; ${next.id} leads ${electedMs.toFixed(0)} ms later (seen by polling); first write sent after the kill acknowledged ${(resumed.returnMs - killedAt).toFixed(0)} ms after it; longest time without an acknowledgement ${longestAckGap(load).toFixed(0)} ms`);
  t.log(load.summary());
  t.true(electedMs < 10_000);
  await c.startProcess(leader);
  await c.waitConverged([...c.founders]);
  t.deepEqual(await missingAcked(c, load.acked(), c.founders), []);
});

function longestAckGap(load: WriteLoad): number {
  const times = load.acked().map((w) => w.returnMs).sort((a, b) => a - b);
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
  return gap;
}

test.serial('pause: a SIGSTOPped leader steps down after SIGCONT and serves no stale read', async (t) => {
  const c = await Cluster.start(t);
  const { id: old } = await c.waitForLeader(5000);
  const follower = c.founders.find((id) => id !== old)!;
  const onOld = await c.client(old, { commandTimeoutMs: 15_000 });
  const onFollower = await c.client(follower, { commandTimeoutMs: 15_000 });
  t.is(await onOld.set('k', 'v0'), 'OK');
  c.pause(old);
  const pausedAt = performance.now();
  try {
    const next = await c.waitForLeader(10_000, { exclude: [old] });
    t.log(`${old} paused; ${next.id} leads ${(performance.now() - pausedAt).toFixed(0)} ms later`);
    t.is(await onFollower.set('k', 'v1'), 'OK');
    // Sent while the old leader is stopped: they sit in its socket until it resumes.
    const staleRead = attempt(onOld.get('k'));
    const lateWrite = attempt(onOld.set('k2', 'from-old'));
    await waitUntil(() => performance.now() - pausedAt >= 3000, 'the pause to exceed the election timeout', 5000, 50);
    c.resume(old);
    const read = await staleRead;
    t.log(`read on the resumed old leader: ${JSON.stringify(read)}`);
    if (read.ok) t.is(read.value, 'v1', 'a read on the resumed old leader returned a stale value');
    else t.regex(read.error, /^(CLUSTERDOWN|TRYAGAIN)/);
    const after = await attempt(onOld.get('k'));
    if (after.ok) t.is(after.value, 'v1');
    const write = await lateWrite;
    t.log(`write sent to the paused old leader: ${JSON.stringify(write)}`);
    await waitUntil(async () => (await c.node(old).status()).role !== 'leader', `${old} to step down`, 5000);
    await c.waitConverged();
    for (const id of c.founders) {
      t.is(await c.node(id).call('GET', 'k'), 'v1', `k on ${id}`);
      if (write.ok) t.is(await c.node(id).call('GET', 'k2'), 'from-old', `an acknowledged write to the old leader is missing on ${id}`);
    }
  } finally {
    c.resume(old);
  }
});

test.serial('partition: an isolated leader refuses writes and reads, the majority goes on; after healing all converge', async (t) => {
  const c = await Cluster.start(t, { faultInjection: true });
  const { id: old } = await c.waitForLeader(5000);
  const majority = c.founders.filter((id) => id !== old);
  const onOld = await c.client(old, { commandTimeoutMs: 15_000 });
  const onMajority = await c.client(majority[0]!, { commandTimeoutMs: 15_000 });
  t.is(await onOld.set('k', 'before'), 'OK');
  await c.waitConverged();
  await c.isolate([old]);
  const cutAt = performance.now();
  // A write and a read started on the minority right away, while it may still think it leads.
  const minorityWrite = attempt(onOld.set('k', 'minority'));
  const minorityRead = attempt(onOld.get('k'));
  const next = await c.waitForLeader(10_000, { among: majority });
  t.log(`${old} isolated; ${next.id} leads the majority ${(performance.now() - cutAt).toFixed(0)} ms later`);
  t.is(await onMajority.set('k', 'majority'), 'OK');
  const w = await minorityWrite;
  const r = await minorityRead;
  t.log(`minority write: ${JSON.stringify(w)}; minority read: ${JSON.stringify(r)}`);
  t.false(w.ok, 'a write on the isolated node was acknowledged');
  if (!w.ok) t.not(fateOfError(new Error(w.error)), 'ok');
  // Reads on the minority after the majority wrote: an error, never 'before'.
  t.false(r.ok && r.value !== 'before', `minority read returned ${JSON.stringify(r)}`);
  const later = await attempt(onOld.get('k'));
  t.log(`minority read after the majority's write: ${JSON.stringify(later)}`);
  t.false(later.ok, `a read on the isolated node answered ${JSON.stringify(later)}`);
  if (!later.ok) t.regex(later.error, /^(CLUSTERDOWN|TRYAGAIN)/);
  const laterWrite = await attempt(onOld.set('k3', 'x'));
  t.false(laterWrite.ok);
  if (!laterWrite.ok) t.regex(laterWrite.error, /^(CLUSTERDOWN|TRYAGAIN)/, 'a write on a node that knows no leader should be certainly not applied');
  await c.healAll();
  const converged = await c.waitConverged([...c.founders], 20_000);
  t.log(`converged after healing: ${converged}`);
  t.is(await c.node(old).call('GET', 'k'), 'majority');
});

test.serial('rejoin: a stopped follower catches up; a wiped follower re-added with --join recovers through a snapshot', async (t) => {
  const c = await Cluster.start(t, { snapshotEntries: 200 });
  const { id: leader } = await c.waitForLeader(5000);
  const [f1, f2] = c.founders.filter((id) => id !== leader) as [string, string];
  await c.kill(f1);
  const load1 = new WriteLoad(c, { node: leader, clients: 4, prefix: 'a' });
  await load1.start();
  await waitUntil(() => load1.acked().length >= 100, 'writes while a follower is down', 20_000);
  await load1.stop();
  await c.startProcess(f1);
  t.log(`restarted ${f1}: ${await c.waitConverged([...c.founders])}`);
  t.deepEqual(await missingAcked(c, load1.acked(), [f1]), []);

  // The documented procedure for a node that lost its data: remove, wipe, start with --join, add.
  await c.kill(f2);
  await c.wipe(f2);
  t.is(await c.node(leader).call('RAFT', 'REMOVE', f2), 'OK');
  const load2 = new WriteLoad(c, { node: leader, clients: 4, prefix: 'b' });
  await load2.start();
  await waitUntil(() => load2.acked().length >= (HEAVY ? 3000 : 600), 'writes past several snapshots', 60_000);
  await load2.stop();
  const before = await c.node(leader).status();
  t.log(`leader ${leader} commit ${before.commit}; log first index ${String(await c.node(leader).call('RAFT', 'INFO')).match(/first_log_index:(\d+)/)?.[1]}`);
  await c.startProcess(f2, { join: true });
  t.is(await c.node(leader).call('RAFT', 'ADD', f2), 'OK');
  await waitUntil(async () => (await c.node(leader).status()).voters.includes(f2), `${f2} to be promoted to voter`, 20_000, 50);
  t.log(`re-added ${f2}: ${await c.waitConverged([...c.founders])}`);
  t.deepEqual(await missingAcked(c, [...load1.acked(), ...load2.acked()], [f2]), []);
  const log = c.node(f2).proc!.stderr;
  t.regex(log, /installed snapshot from the leader/, 'the wiped node did not recover through a snapshot');
});

test.serial('restart: writes forwarded by a restarted follower are applied, not taken for duplicates', async (t) => {
  const c = await Cluster.start(t);
  const { id: leader } = await c.waitForLeader(5000);
  const f = c.founders.find((id) => id !== leader)!;
  const before = new WriteLoad(c, { node: f, clients: 1, prefix: 'before' });
  await before.start();
  await waitUntil(() => before.acked().length >= 20, 'forwarded writes before the restart', 10_000);
  await before.stop();
  await c.restart(f);
  await c.waitForLeader(5000);
  const after = new WriteLoad(c, { node: f, clients: 1, prefix: 'after' });
  await after.start();
  await waitUntil(() => after.acked().length >= 20, 'forwarded writes after the restart', 10_000);
  await after.stop();
  await c.waitConverged();
  const missing = await missingAcked(c, [...before.acked(), ...after.acked()], c.founders);
  t.deepEqual(missing.slice(0, 10), [], `${missing.length} acknowledged writes missing`);
});

test.serial('membership: grow 3 → 5 under load, survive 2 of 5 down, remove the leader', async (t) => {
  const c = await Cluster.start(t);
  const { id: leader } = await c.waitForLeader(5000);
  const steady = c.founders.find((id) => id !== leader)!;
  const load = new WriteLoad(c, { node: steady, clients: 1, prefix: 'm', pauseMs: 10 });
  await load.start();
  for (const id of ['n4', 'n5']) {
    await c.addNode(id, { join: true });
    const l = await c.waitForLeader(5000);
    t.is(await c.node(l.id).call('RAFT', 'ADD', id), 'OK');
    await waitUntil(async () => (await c.node(l.id).status()).voters.includes(id), `${id} to be promoted`, 20_000, 50);
  }
  const all = [...c.nodes.keys()];
  t.is((await c.node(leader).status()).voters.length, 5);
  // Two nodes down, neither the leader nor the load's node: the other three are a majority.
  const down = all.filter((id) => id !== leader && id !== steady).slice(0, 2);
  for (const id of down) await c.kill(id);
  const acked = load.acked().length;
  await waitUntil(() => load.acked().length >= acked + 20, `writes with ${down.join(',')} down`, 10_000);
  const w = await c.client(leader);
  t.is(await w.set('five', 'two-down'), 'OK');
  for (const id of down) await c.startProcess(id);
  await c.waitConverged(all);

  // The leader removes itself: it leads until the change commits, then steps down.
  const removed = await attempt(c.node(leader).call('RAFT', 'REMOVE', leader));
  t.log(`RAFT REMOVE ${leader} on ${leader}: ${JSON.stringify(removed)}`);
  const rest = all.filter((id) => id !== leader);
  const next = await c.waitForLeader(10_000, { among: rest });
  t.not(next.id, leader);
  t.false((await c.node(next.id).status()).voters.includes(leader));
  const after = load.acked().length;
  await waitUntil(() => load.acked().length >= after + 20, 'writes after removing the leader', 10_000);
  await load.stop();
  t.log(load.summary());
  await c.stop(leader);
  await c.waitConverged(rest);
  t.deepEqual(await missingAcked(c, load.acked(), rest), []);
});
