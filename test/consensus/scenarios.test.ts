// The named scenarios of the Raft core, each in the deterministic simulator with a
// fixed seed; the world checks safety after every step, these check the outcome.

import test from 'ava';
import { logIndex, nodeId, term, type NodeId } from '../../consensus/index.ts';
import { runFigure8 } from '../sim/figure8.ts';
import { awaitApplied, awaitLeader, converged, others, propose, write } from '../sim/scenario_kit.ts';
import { World } from '../sim/world.ts';
import { heal, stableLeader } from '../sim/random_run.ts';

test('basic agreement: every node applies the same entries in the same order', (t) => {
  const w = new World({ seed: 1, voters: 3 });
  for (let i = 0; i < 20; i++) write(w, `k${i % 3}`, `v${i}`);
  t.true(converged(w));
  t.is(w.node(nodeId('n1')).kv.get('k2'), 'v17');
});

test('no excessive resending: entry bytes sent per committed byte stay near one per follower', (t) => {
  const w = new World({ seed: 2, voters: 5 });
  w.net.faults = { ...w.net.faults, fifo: true }; // per-link order, as over NATS; reordering costs resends by design
  const leader = awaitLeader(w);
  w.run(30);
  const before = w.net.entryBytesSent;
  let committedBytes = 0;
  let last = 0;
  for (let i = 0; i < 200; i++) {
    const value = `value-${i}-${'x'.repeat(50)}`;
    last = propose(w, leader, 'k', value) ?? 0;
    t.not(last, 0, 'refused');
    committedBytes += w.raft(leader).log.slice(logIndex(last), logIndex(last + 1), 1 << 20, 1)![0]!.data.length;
    if (i % 10 === 9) w.tick();
  }
  awaitApplied(w, last, w.ids);
  const ratio = (w.net.entryBytesSent - before) / (committedBytes * 4);
  t.log(`entry bytes sent per committed byte per follower: ${ratio.toFixed(3)}`);
  t.true(ratio <= 1.05, `ratio ${ratio}`);
});

test('follower failure: a majority commits; without a majority nothing commits; recovery catches up', (t) => {
  const w = new World({ seed: 3, voters: 3 });
  const leader = awaitLeader(w);
  const [f1, f2] = others(w, leader) as [NodeId, NodeId];
  write(w, 'a', '1');
  w.crash(f1);
  write(w, 'a', '2', [leader, f2]);
  w.crash(f2);
  const index = propose(w, leader, 'a', '3');
  w.run(100);
  t.true(w.raft(leader).log.committed < (index ?? 0), 'committed without a majority');
  w.restart(f1);
  w.restart(f2);
  awaitLeader(w, 400);
  write(w, 'a', '4');
  t.true(converged(w));
  t.is(w.node(f1).kv.get('a'), '4');
});

test('leader failure: a new leader is elected and the old one rejoins as a follower', (t) => {
  const w = new World({ seed: 4, voters: 3 });
  const old = awaitLeader(w);
  write(w, 'a', '1');
  w.crash(old);
  const ticks = w.runUntil(() => stableLeader(w) !== null, 200, 'a new leader');
  const leader = stableLeader(w)!;
  t.not(leader, old);
  t.log(`new leader after ${ticks} ticks`);
  t.true(ticks <= 60);
  write(w, 'a', '2', [leader]);
  w.restart(old);
  write(w, 'a', '3');
  t.is(w.raft(old).role.kind, 'follower');
  t.true(converged(w));
});

test('rejoin: a partitioned leader\'s uncommitted entries are replaced when it rejoins', (t) => {
  const w = new World({ seed: 5, voters: 3 });
  const old = awaitLeader(w);
  write(w, 'a', 'committed');
  w.net.isolate(old, w.ids);
  for (let i = 0; i < 5; i++) propose(w, old, 'a', `lost-${i}`);
  const oldLast = w.raft(old).log.lastIndex();
  w.runUntil(() => { const l = stableLeader(w); return l !== null && l !== old; }, 300, 'a leader on the majority side');
  for (let i = 0; i < 3; i++) write(w, 'a', `new-${i}`, others(w, old));
  w.net.heal();
  write(w, 'a', 'after');
  t.true(converged(w));
  t.is(w.node(old).kv.get('a'), 'after');
  t.true(oldLast > 0);
});

test('partition: the minority cannot commit, the majority can, and healing converges', (t) => {
  const w = new World({ seed: 6, voters: 5 });
  const leader = awaitLeader(w);
  write(w, 'a', '0');
  const minority = [leader, others(w, leader)[0]!];
  const majority = w.ids.filter((id) => !minority.includes(id));
  w.net.partition([minority, majority]);
  const idx = propose(w, leader, 'a', 'minority');
  w.runUntil(() => { const l = stableLeader(w); return l !== null && majority.includes(l); }, 300, 'a majority leader');
  write(w, 'a', 'majority', majority);
  w.run(50);
  t.true((w.node(leader).raft?.log.committed ?? 0) < (idx ?? 0), 'minority committed');
  t.not(w.raft(leader).role.kind, 'leader', 'check-quorum: the minority leader stepped down');
  w.net.heal();
  write(w, 'b', 'healed');
  t.true(converged(w));
  t.is(w.node(leader).kv.get('a'), 'majority');
});

for (const unreliable of [false, true]) {
  test(`Figure 8${unreliable ? ' with an unreliable network' : ''}: no committed entry is ever overwritten`, (t) => {
    let crashed = 0;
    for (let seed = 1; seed <= 12; seed++) crashed += runFigure8(seed, 400, unreliable).leadersCrashed;
    t.log(`${crashed} leaders crashed`);
    t.true(crashed > 50);
  });
}

test('agreement with random message loss, duplication and reordering', (t) => {
  const w = new World({ seed: 8, voters: 5 });
  w.net.faults = { lossRate: 0.2, duplicateRate: 0.1, delayMin: 0, delayMax: 6 };
  for (let i = 0; i < 30; i++) write(w, 'k', `v${i}`, undefined, 2000);
  t.true(converged(w));
  t.is(w.node(nodeId('n5')).kv.get('k'), 'v29');
});

test('snapshot installed on a lagging follower', (t) => {
  const w = new World({ seed: 9, voters: 3, snapshotEvery: 10 });
  const leader = awaitLeader(w);
  const lagging = others(w, leader)[0]!;
  w.crash(lagging);
  for (let i = 0; i < 40; i++) write(w, `k${i % 5}`, `v${i}`, others(w, lagging));
  t.true(w.node(leader).storage.firstIndex() > 2, 'the leader compacted its log');
  w.restart(lagging);
  write(w, 'k0', 'final');
  t.true(w.node(lagging).snapshotsInstalled >= 1);
  t.true(converged(w));
});

for (const point of ['beforePersist', 'afterSnapshot', 'afterPersist'] as const) {
  test(`crash during snapshot installation (${point}) leaves a node that restarts and catches up`, (t) => {
    const w = new World({ seed: 10, voters: 3, snapshotEvery: 10 });
    const leader = awaitLeader(w);
    const lagging = others(w, leader)[0]!;
    w.crash(lagging);
    for (let i = 0; i < 30; i++) write(w, `k${i % 4}`, `v${i}`, others(w, lagging));
    w.restart(lagging);
    w.node(lagging).crashOnSnapshotInstall = point;
    w.runUntil(() => !w.node(lagging).alive, 300, 'the crash during install');
    w.restart(lagging);
    write(w, 'k0', 'final');
    t.true(converged(w));
    t.is(w.node(lagging).kv.get('k0'), 'final');
  });
}

test('membership change during a partition: no split brain, one config after healing', (t) => {
  const w = new World({ seed: 11, voters: 5, spares: 1 });
  const leader = awaitLeader(w);
  write(w, 'a', '0');
  const minority = [leader, others(w, leader)[0]!];
  const majority = w.ids.filter((id) => !minority.includes(id) && id !== nodeId('n6'));
  w.net.partition([minority, [...majority, nodeId('n6')]]);
  // The old leader proposes a change it cannot commit.
  w.raft(leader).proposeConfigChange({ kind: 'remove', node: majority[0]! });
  w.process(w.node(leader));
  const newLeader = (w.runUntil(() => { const l = stableLeader(w); return l !== null && majority.includes(l); }, 300, 'majority leader'), stableLeader(w)!);
  const res = w.raft(newLeader).proposeConfigChange({ kind: 'addVoter', node: nodeId('n6') });
  t.true(res.ok);
  w.process(w.node(newLeader));
  write(w, 'a', 'majority', majority);
  w.net.heal();
  write(w, 'a', 'healed');
  const configs = new Set(w.live().map((n) => JSON.stringify(n.raft!.config())));
  t.is(configs.size, 1, [...configs].join(' / '));
  t.true(w.raft(newLeader).config().voters.includes(nodeId('n6')));
  t.true(converged(w));
});

test('adding a learner, letting it catch up, and promoting it', (t) => {
  const w = new World({ seed: 12, voters: 3, spares: 1 });
  const n4 = nodeId('n4');
  const leader = awaitLeader(w);
  for (let i = 0; i < 10; i++) write(w, 'k', `v${i}`, w.ids.filter((x) => x !== n4));
  t.true(w.raft(leader).proposeConfigChange({ kind: 'addLearner', node: n4 }).ok);
  w.process(w.node(leader));
  write(w, 'k', 'after-learner');
  t.true(w.raft(n4).status().learner);
  t.is(w.node(n4).kv.get('k'), 'after-learner');
  w.run(5);
  const res = w.raft(stableLeader(w)!).proposeConfigChange({ kind: 'promote', node: n4 });
  t.true(res.ok);
  w.process(w.node(stableLeader(w)!));
  write(w, 'k', 'after-promote');
  t.deepEqual([...w.raft(n4).config().voters], ['n1', 'n2', 'n3', 'n4']);
  // With 4 voters, 3 are a majority: crash two old voters and the cluster must stop.
  w.crash(others(w, n4).find((x) => x !== stableLeader(w))!);
  write(w, 'k', 'three-of-four');
  t.true(converged(w));
});

test('leadership transfer: the target becomes leader without an election timeout', (t) => {
  const w = new World({ seed: 13, voters: 3 });
  const leader = awaitLeader(w);
  write(w, 'a', '1');
  const target = others(w, leader)[1]!;
  const termBefore = w.raft(leader).term;
  w.raft(leader).transferLeadership(target);
  w.process(w.node(leader));
  const ticks = w.runUntil(() => w.raft(target).role.kind === 'leader', 50, 'the transfer');
  t.log(`transfer took ${ticks} ticks`);
  t.true(ticks < 10);
  t.is(w.raft(target).term, term(termBefore + 1));
  write(w, 'a', '2');
  t.true(converged(w));
});

test('removing the leader: it commits its removal, steps down, and the rest go on', (t) => {
  const w = new World({ seed: 14, voters: 3 });
  const leader = awaitLeader(w);
  write(w, 'a', '1');
  t.true(w.raft(leader).proposeConfigChange({ kind: 'remove', node: leader }).ok);
  w.process(w.node(leader));
  w.runUntil(() => w.raft(leader).role.kind !== 'leader', 100, 'the removed leader steps down');
  const rest = others(w, leader);
  const next = (w.runUntil(() => { const l = stableLeader(w); return l !== null && l !== leader; }, 300, 'a new leader'), stableLeader(w)!);
  t.true(rest.includes(next));
  write(w, 'a', '2', rest);
  t.deepEqual([...w.raft(next).config().voters], rest);
  w.run(100);
  t.not(w.raft(leader).role.kind, 'leader', 'the removed node never campaigns');
  t.true(converged(w, rest));
});

test('pre-vote and check-quorum: a rejoining node does not depose a healthy leader', (t) => {
  const w = new World({ seed: 15, voters: 3 });
  const leader = awaitLeader(w);
  write(w, 'a', '1');
  const loner = others(w, leader)[0]!;
  w.net.isolate(loner, w.ids);
  w.run(200); // the loner times out again and again, but pre-vote keeps its term
  const term = w.raft(leader).term;
  t.is(w.raft(loner).term, term);
  w.net.heal();
  write(w, 'a', '2');
  t.is(stableLeader(w), leader);
  t.is(w.raft(leader).term, term);
});

test('reads: ReadIndex on leader and follower, refused without a leader', (t) => {
  const w = new World({ seed: 16, voters: 3 });
  const leader = awaitLeader(w);
  const index = write(w, 'a', '1');
  const follower = others(w, leader)[0]!;
  const got: Array<{ node: NodeId; index: number | null }> = [];
  w.hooks = { onReadState: (n, rs) => got.push({ node: n.id, index: rs.index }) };
  w.raft(leader).readIndex(1);
  w.raft(follower).readIndex(2);
  w.process(w.node(leader));
  w.process(w.node(follower));
  w.runUntil(() => got.length === 2, 20, 'two read states');
  t.true(got.every((g) => g.index !== null && g.index >= index));
  // A follower cut off from everyone answers "refused" once it no longer knows a leader.
  w.net.isolate(follower, w.ids);
  w.runUntil(() => w.raft(follower).leader() === null, 200, 'the follower forgets the leader');
  w.raft(follower).readIndex(3);
  w.process(w.node(follower));
  t.deepEqual(got[2], { node: follower, index: null });
  heal(w);
});
