// `npm run bench:consensus`: a 3-node cluster of the Raft core in one process with
// no I/O (in-memory storage, messages handed over directly). Reports committed
// proposals per second for 100-byte entries at several proposal batch sizes, and
// where the time goes. Bounded: each run stops after its entry count or time limit.

import { parseArgs } from 'node:util';
import { MemoryStorage, Raft, createPrng, nodeId, type Message, type NodeId, type Term } from '../consensus/index.ts';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '2000000' },
    seconds: { type: 'string', default: '5' },
  },
});
const ENTRIES = Number(values.entries);
const SECONDS = Number(values.seconds);
const PAYLOAD = new Uint8Array(100).fill(7);

interface Timing {
  propose: number;
  ready: number;
  persist: number;
  step: number;
  advance: number;
}

function run(batch: number): { perSec: number; committed: number; seconds: number; timing: Timing; messages: number } {
  const ids = ['n1', 'n2', 'n3'].map(nodeId);
  const storages = new Map<NodeId, MemoryStorage>(ids.map((id) => [id, MemoryStorage.bootstrap(ids)]));
  const nodes = new Map<NodeId, Raft>(ids.map((id, i) => [id, new Raft({ id, storage: storages.get(id)!, prng: createPrng(i + 1) })]));
  const timing: Timing = { propose: 0, ready: 0, persist: 0, step: 0, advance: 0 };
  let inbox: Message[] = [];
  let messages = 0;
  let committed = 0;

  const drain = (): void => {
    for (let rounds = 0; rounds < 1000; rounds++) {
      let busy = false;
      for (const [id, r] of nodes) {
        if (!r.hasReady()) continue;
        busy = true;
        let t0 = performance.now();
        const rd = r.ready();
        const t1 = performance.now();
        const s = storages.get(id)!;
        if (rd.entries.length > 0) s.append(rd.entries);
        if (rd.hardState) s.setHardState(rd.hardState);
        const t2 = performance.now();
        for (const m of rd.messages) inbox.push(m);
        messages += rd.messages.length;
        if (id === ids[0]) committed += rd.committedEntries.length;
        r.advance();
        timing.ready += t1 - t0;
        timing.persist += t2 - t1;
        timing.advance += performance.now() - t2;
        t0 = performance.now();
      }
      const t0 = performance.now();
      const batchIn = inbox;
      inbox = [];
      for (const m of batchIn) nodes.get(m.to)!.step(m);
      timing.step += performance.now() - t0;
      if (!busy && inbox.length === 0) return;
    }
  };

  // Elect n1.
  const n1 = nodes.get(ids[0]!)!;
  for (let i = 0; i < 100 && n1.role.kind !== 'leader'; i++) {
    n1.tick();
    drain();
  }
  if (n1.role.kind !== 'leader') throw new Error('n1 did not become leader');
  drain();
  committed = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  let proposed = 0;
  while (proposed < ENTRIES && performance.now() < deadline) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) {
      const res = n1.propose(PAYLOAD);
      if (!res.ok) throw new Error(`proposal refused: ${res.reason}`);
    }
    proposed += batch;
    timing.propose += performance.now() - t0;
    drain();
    if (proposed % 65536 < batch) {
      // Keep memory bounded: compact every node's log up to what it applied.
      for (const [id, r] of nodes) {
        const s = storages.get(id)!;
        const applied = r.log.applied;
        s.compact({ index: applied, term: s.term(applied) as Term, config: r.config() });
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return { perSec: committed / seconds, committed, seconds, timing, messages };
}

console.log(`3-node Raft core in one process, no I/O, ${PAYLOAD.length}-byte entries`);
for (const batch of [1, 16, 256, 1024]) {
  const r = run(batch);
  const total = Object.values(r.timing).reduce((a, b) => a + b, 0);
  const share = Object.entries(r.timing)
    .map(([k, v]) => `${k} ${((100 * v) / total).toFixed(0)}%`)
    .join(', ');
  console.log(
    `batch ${String(batch).padStart(4)}: ${Math.round(r.perSec).toLocaleString('en-US').padStart(10)} committed proposals/s` +
      ` (${r.committed} in ${r.seconds.toFixed(2)} s, ${(r.messages / r.committed).toFixed(3)} messages/entry; time: ${share})`,
  );
}
