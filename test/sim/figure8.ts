// The Figure 8 scenario (Raft paper §5.4.2): leaders crash right after appending,
// so entries of old terms sit on some nodes while newer leaders come and go. A
// leader that committed an old-term entry by counting replicas could see it
// overwritten. Driven as in MIT 6.824's Figure8 tests: many rounds of propose,
// crash the leader after a random short time, restart others; optionally over
// an unreliable network. One append carries one entry, so old entries are
// acknowledged apart from the new leader's no-op (the case the rule exists for).

import { Clients } from './clients.ts';
import { heal, stableLeader } from './random_run.ts';
import { World } from './world.ts';

export interface Figure8Result {
  readonly leadersCrashed: number;
  readonly applied: number;
}

export function runFigure8(seed: number, rounds: number, unreliable: boolean): Figure8Result {
  const world = new World({ seed, voters: 5, raft: { appendEntriesMax: 1, inflightMsgsMax: 1 } });
  const clients = new Clients(world, 5, ['x', 'y'], 30);
  const rng = world.rng;
  let leadersCrashed = 0;
  if (unreliable) world.net.faults = { lossRate: 0.1, duplicateRate: 0.1, delayMin: 0, delayMax: 8 };
  for (let round = 0; round < rounds; round++) {
    const leader = world.leader();
    if (leader !== null) {
      for (let c = 0; c < clients.count; c++) if (clients.idle(c)) clients.issue(c, leader, { kind: 'append', key: rng.pick(['x', 'y']), value: `r${round}c${c}` });
    }
    // Mostly a very short run (the leader dies with entries barely sent), sometimes a long one.
    world.run(rng.chance(0.1) ? rng.int(0, 40) : rng.int(0, 4));
    clients.poll();
    const now = world.leader();
    if (now !== null && rng.chance(0.8)) {
      world.crash(now);
      leadersCrashed++;
    }
    if (world.live().length < 3) {
      const down = world.ids.filter((id) => !world.node(id).alive);
      world.restart(rng.pick(down));
    }
  }
  heal(world);
  world.runUntil(() => stableLeader(world) !== null, 1000, 'a leader after Figure 8 rounds');
  world.runUntil(() => (clients.poll(), clients.allIdle()), 200, 'client operations resolved');
  return { leadersCrashed, applied: world.safety.appliedCount() };
}
