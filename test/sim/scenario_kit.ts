// Small steps that the named scenarios are written in: wait for a leader, write
// through it, wait until nodes have applied, cut and heal links. Every wait is
// bounded in ticks and throws with what it waited for.

import type { NodeId } from '../../consensus/index.ts';
import { encodeCommand } from './kv_machine.ts';
import { stableLeader } from './random_run.ts';
import type { World } from './world.ts';

let writeSeq = 0;

export function awaitLeader(world: World, maxTicks = 200): NodeId {
  world.runUntil(() => stableLeader(world) !== null, maxTicks, 'a stable leader');
  return stableLeader(world)!;
}

/** Proposes put(key, value) on the leader; returns the log index, or null if refused. */
export function propose(world: World, leader: NodeId, key: string, value: string): number | null {
  const r = world.raft(leader);
  const res = r.propose(encodeCommand({ client: -1, seq: ++writeSeq, input: { kind: 'put', key, value } }));
  world.process(world.node(leader));
  return res.ok ? res.index : null;
}

/** Writes through the current leader and waits until `on` (default: every live member) applied it. */
export function write(world: World, key: string, value: string, on?: readonly NodeId[], maxTicks = 200): number {
  const leader = awaitLeader(world, maxTicks);
  const index = propose(world, leader, key, value);
  if (index === null) throw new Error(`leader ${leader} refused the write`);
  const cfg = world.raft(leader).config();
  const members = [...cfg.voters, ...cfg.learners].filter((id) => world.node(id).alive);
  awaitApplied(world, index, on ?? members, maxTicks);
  return index;
}

export function awaitApplied(world: World, index: number, ids: readonly NodeId[], maxTicks = 200): void {
  world.runUntil(
    () => ids.every((id) => (world.node(id).raft?.log.applied ?? -1) >= index),
    maxTicks,
    `${ids.join(',')} applied ${index}`,
  );
}

export function others(world: World, id: NodeId): NodeId[] {
  return world.ids.filter((x) => x !== id);
}

/** All live nodes agree: same applied index and same state-machine contents. */
export function converged(world: World, ids: readonly NodeId[] = world.live().map((n) => n.id)): boolean {
  const first = world.node(ids[0]!);
  return ids.every((id) => {
    const n = world.node(id);
    return n.raft !== null && n.raft.log.applied === first.raft?.log.applied && n.kv.digest() === first.kv.digest();
  });
}
