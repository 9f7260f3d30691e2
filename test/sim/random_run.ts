// One seeded chaos simulation: a cluster shaped by the seed serves clients while a
// nemesis crashes nodes (also in the middle of a Ready), partitions links (both
// ways and one way), degrades the network, changes membership and moves
// leadership. Then everything heals and liveness is required: a leader, every
// live client's proposal committed, all members converged. The client history
// must be linearizable. Safety is checked on every step by the world.

import { isLearner, isVoter, type NodeId, type ConfigChange } from '../../consensus/index.ts';
import { checkKv } from '../support/linearizability.ts';
import { Clients } from './clients.ts';
import { Rng } from './rng.ts';
import { World, type CrashPoint } from './world.ts';

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly error: string | null;
  readonly summary: string;
}

export interface SimParams {
  readonly chaosTicks: number;
}

const CRASH_POINTS: readonly CrashPoint[] = ['beforePersist', 'afterSnapshot', 'afterPersist'];

export function runSeed(seed: number, params: SimParams = { chaosTicks: 400 }): SimResult {
  const shape = new Rng(seed ^ 0x5eed);
  const voters = shape.pick([1, 3, 3, 3, 5, 5]);
  const spares = shape.pick([0, 0, 1, 2]);
  const careful = shape.chance(0.85); // pre-vote and check-quorum on
  const lease = careful && shape.chance(0.25);
  const snapshotEvery = shape.pick([0, 15, 40, 200]);
  const asyncPersist = shape.chance(0.5);
  const world = new World({
    seed,
    voters,
    spares,
    snapshotEvery,
    asyncPersist,
    raft: {
      preVote: careful,
      checkQuorum: careful,
      readMode: lease ? 'lease' : 'readIndex',
      appendEntriesMax: shape.pick([1, 4, 64]),
      inflightMsgsMax: shape.pick([1, 4, 256]),
    },
  });
  const clients = new Clients(world, 3, ['a', 'b', 'c']);
  const label = `voters=${voters} spares=${spares} preVote/checkQuorum=${careful} lease=${lease} snapshotEvery=${snapshotEvery} asyncPersist=${asyncPersist}`;
  try {
    for (let t = 0; t < params.chaosTicks; t++) {
      world.tick();
      clients.poll();
      driveClients(world, clients, 0.3);
      nemesis(world, careful);
    }
    heal(world);
    world.runUntil(() => (clients.poll(), clients.allIdle()), 200, 'pending client operations resolved');
    world.runUntil(() => stableLeader(world) !== null, 400, 'a leader that committed in its term');
    requireLiveness(world, clients);
    requireConvergence(world);
    const lin = checkKv(clients.history(), { timeoutMs: 60_000, maxStates: 2_000_000 });
    if (lin.kind !== 'ok') {
      const why = lin.kind === 'illegal' ? lin.explanation : `checker gave up (${lin.bound}) on key ${lin.key}`;
      throw new Error(`history not linearizable: ${why}`);
    }
    const s = clients.stats;
    return {
      seed,
      ok: true,
      error: null,
      summary: `${label}; ops issued=${s.issued} completed=${s.completed} unknown=${s.unknown} refused=${s.refused}; applied=${world.safety.appliedCount()}`,
    };
  } catch (e) {
    const err = e as Error;
    return { seed, ok: false, error: `${err.name}: ${err.message}`, summary: label };
  }
}

export function driveClients(world: World, clients: Clients, rate: number): void {
  const live = world.live();
  if (live.length === 0) return;
  for (let c = 0; c < clients.count; c++) {
    if (!clients.idle(c) || !world.rng.chance(rate)) continue;
    const leader = world.leader();
    const node = leader !== null && world.rng.chance(0.6) ? leader : world.rng.pick(live).id;
    clients.issue(c, node);
  }
}

function nemesis(world: World, membership: boolean): void {
  const rng = world.rng;
  const live = world.live();
  const down = world.ids.filter((id) => !world.node(id).alive);
  if (rng.chance(0.015) && live.length > 0) world.crash(rng.pick(live).id);
  if (rng.chance(0.015) && live.length > 0) rng.pick(live).crashDuringNextReady = rng.pick(CRASH_POINTS);
  if (rng.chance(0.04) && down.length > 0) world.restart(rng.pick(down));
  if (rng.chance(0.012)) {
    const shuffled = rng.shuffle(world.ids);
    const cut = rng.int(1, Math.max(1, shuffled.length - 1));
    world.net.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
  }
  if (rng.chance(0.008)) world.net.block(rng.pick(world.ids), rng.pick(world.ids));
  if (rng.chance(0.03)) world.net.heal();
  if (rng.chance(0.01)) {
    world.net.faults = {
      lossRate: rng.pick([0, 0.02, 0.1, 0.3]),
      duplicateRate: rng.pick([0, 0.05, 0.2]),
      delayMin: 0,
      delayMax: rng.pick([1, 2, 5, 12]),
    };
  }
  const leader = world.leader();
  if (leader === null) return;
  if (membership && rng.chance(0.012)) {
    const change = randomConfigChange(world, leader);
    if (change) world.raft(leader).proposeConfigChange(change);
    world.process(world.node(leader));
  }
  const current = world.leader(); // processing the change may have crashed the leader
  if (current !== null && rng.chance(0.006)) {
    const cfg = world.raft(current).config();
    world.raft(current).transferLeadership(rng.pick(cfg.voters));
    world.process(world.node(current));
  }
}

function randomConfigChange(world: World, leader: NodeId): ConfigChange | null {
  const rng = world.rng;
  const cfg = world.raft(leader).config();
  const strangers = world.ids.filter((id) => !isVoter(cfg, id) && !isLearner(cfg, id));
  const choice = rng.int(0, 3);
  if (choice === 0 && strangers.length > 0) return { kind: 'addLearner', node: rng.pick(strangers) };
  if (choice === 1 && cfg.learners.length > 0) return { kind: 'promote', node: rng.pick(cfg.learners) };
  if (choice === 2 && cfg.voters.length > 1) return { kind: 'remove', node: rng.pick([...cfg.voters, ...cfg.learners]) };
  if (choice === 3 && strangers.length > 0 && cfg.voters.length < 5) return { kind: 'addVoter', node: rng.pick(strangers) };
  return null;
}

export function heal(world: World): void {
  world.net.heal();
  world.net.faults = { lossRate: 0, duplicateRate: 0, delayMin: 0, delayMax: 1 };
  for (const id of world.ids) {
    world.node(id).crashDuringNextReady = null;
    world.restart(id);
  }
}

/** A leader that has committed an entry of its own term (so it knows the commit index). */
export function stableLeader(world: World): NodeId | null {
  const id = world.leader();
  if (id === null) return null;
  const r = world.raft(id);
  return r.log.term(r.log.committed) === r.term ? id : null;
}

/** After healing, every client's new write must commit (retrying only refusals, which certainly did not apply). */
function requireLiveness(world: World, clients: Clients): void {
  for (let c = 0; c < clients.count; c++) {
    const before = clients.stats.completed;
    let tries = 0;
    world.runUntil(
      () => {
        if (clients.stats.completed > before) return true;
        const leader = stableLeader(world);
        if (clients.idle(c) && leader !== null) {
          // Only attempts count: ticks without a stable leader are bounded by runUntil.
          if (++tries > 20) throw new Error(`liveness: client ${c}'s write was refused 20 times after healing`);
          clients.issue(c, leader, { kind: 'put', key: 'live', value: `c${c}` });
        }
        clients.poll();
        return false;
      },
      600,
      `client ${c}'s write committed after healing`,
    );
  }
}

function requireConvergence(world: World): void {
  world.runUntil(
    () => {
      const leader = stableLeader(world);
      if (leader === null) return false;
      const lr = world.raft(leader);
      const cfg = lr.config();
      const members = [...cfg.voters, ...cfg.learners];
      const digest = world.node(leader).kv.digest();
      return members.every((id) => {
        const n = world.node(id);
        return n.raft !== null && n.raft.log.applied === lr.log.committed && n.kv.digest() === digest;
      });
    },
    600,
    'all members applied the same entries',
  );
}
