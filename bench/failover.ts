// `npx node bench/failover.ts [--kills 7] [--nodes 3] [--tick-ms 50]`: how long a raftis
// cluster (real processes, real nats-server, appendfsync always) is unable to take writes
// after its leader is killed with SIGKILL. Per kill it measures, from the kill:
//   * elected: until the surviving nodes agree on a new leader (INFO raft polled every 25 ms);
//   * write:   until the first write *sent after the kill* to a surviving follower is
//              acknowledged. Probes are sent every 20 ms, each on its own connection
//              (at most 100 in flight), so one stuck forward does not hide a later success.
// Prints each kill and the median and max of both; the goal is a median under 1 s.
// The killed node is restarted and the cluster converges before the next kill.

import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { Cluster } from '../test/support/cluster.ts';
import { Cleanups } from '../test/support/processes.ts';
import { waitUntil } from '../test/support/wait.ts';
import { median } from './lib/table.ts';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '7' },
    nodes: { type: 'string', default: '3' },
    'tick-ms': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write('usage: npx node bench/failover.ts [--kills N (>= 5)] [--nodes 3|5] [--tick-ms MS]\n');
  process.exit(0);
}
const KILLS = Math.max(5, Number(values.kills));
const NODES = Number(values.nodes);
const PROBE_EVERY_MS = 20;
const PROBES_IN_FLIGHT_MAX = 100;
const PROBE_DEADLINE_MS = 15_000;

const cleanups = new Cleanups();
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    interrupted = true;
    void cleanups.run().finally(() => process.exit(130));
  });
}


/** Sends a SET every PROBE_EVERY_MS to `node` from `fromMs` on; resolves with the first acknowledgement time. */
async function firstWriteAfter(cluster: Cluster, node: string, fromMs: number, round: number): Promise<number> {
  let done: number | null = null;
  let inFlight = 0;
  for (let i = 0; done === null; i++) {
    if (performance.now() - fromMs > PROBE_DEADLINE_MS) throw new Error(`no write acknowledged by ${node} within ${PROBE_DEADLINE_MS} ms`);
    if (inFlight < PROBES_IN_FLIGHT_MAX) {
      inFlight++;
      void cluster
        .client(node, { commandTimeoutMs: PROBE_DEADLINE_MS })
        .then(async (r) => {
          try {
            if ((await r.set(`probe:${round}:${i}`, String(i))) === 'OK') done ??= performance.now();
          } finally {
            cluster.closeClient(r);
          }
        })
        .catch(() => {})
        .finally(() => inFlight--);
    }
    await delay(PROBE_EVERY_MS);
  }
  return done - fromMs;
}

try {
  const ids = Array.from({ length: NODES }, (_, i) => `n${i + 1}`);
  const flags = values['tick-ms'] ? ['--tick-ms', values['tick-ms']] : [];
  const cluster = await Cluster.start(cleanups, { ids, flags });
  process.stdout.write(`cluster of ${NODES} (appendfsync always${flags.length ? `, tick ${values['tick-ms']} ms` : ''}); ${KILLS} leader kills\n`);
  const elected: number[] = [];
  const writes: number[] = [];
  for (let k = 1; k <= KILLS && !interrupted; k++) {
    const { id: leader } = await cluster.waitForLeader(10_000);
    await cluster.waitConverged(ids);
    const survivor = ids.find((id) => id !== leader)!;
    const warm = await cluster.client(survivor);
    await warm.set('warm', String(k));
    cluster.closeClient(warm);
    const killedAt = performance.now();
    await cluster.kill(leader);
    const [e, w] = await Promise.all([
      cluster.waitForLeader(10_000, { exclude: [leader], among: ids.filter((id) => id !== leader) }).then(() => performance.now() - killedAt),
      firstWriteAfter(cluster, survivor, killedAt, k),
    ]);
    elected.push(e);
    writes.push(w);
    process.stdout.write(`kill ${k}: leader ${leader} killed; new leader agreed after ${e.toFixed(0)} ms; first write on ${survivor} acknowledged after ${w.toFixed(0)} ms\n`);
    await cluster.startProcess(leader);
  }
  const fmt = (xs: number[]): string => `median ${median(xs).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms`;
  process.stdout.write(`new leader agreed:        ${fmt(elected)}\n`);
  process.stdout.write(`first write acknowledged: ${fmt(writes)} (goal: median < 1000 ms: ${median(writes) < 1000 ? 'met' : 'NOT met'})\n`);
  if (cluster.crashes.length > 0) process.stdout.write(`nodes that exited by themselves:\n${cluster.crashes.join('\n')}\n`);
} finally {
  await cleanups.run();
}
