// Helpers for the client tests: a 3-node cluster (test/support/cluster.ts) whose nodes
// have all announced their addresses, and a bounded write driver that writes N keys with
// C writers, runs a fault once a number of writes were acknowledged, and records every
// write's outcome and latency. Kills only the cluster's own PIDs; every wait is bounded.

import { Cluster } from '../support/cluster.ts';
import type { TeardownOwner } from '../support/processes.ts';
import { waitUntil, within } from '../support/wait.ts';

export const LEADER_MS = 10_000;
const ANNOUNCE_MS = 10_000;

export interface ReadyCluster {
  readonly cluster: Cluster;
  readonly leader: string;
  /** "127.0.0.1:port" of every node. */
  readonly addrs: readonly string[];
}

/** Starts the cluster and waits for a leader and for every node's address in RAFT NODES. */
export async function readyCluster(owner: TeardownOwner): Promise<ReadyCluster> {
  const cluster = await Cluster.start(owner);
  const { id } = await cluster.waitForLeader(LEADER_MS);
  await waitUntil(async () => {
    try {
      const rows = (await cluster.node(id).call('RAFT', 'NODES')) as unknown[][];
      return rows.length === 3 && rows.every((r) => typeof r[r.indexOf('addr') + 1] === 'string' && r[r.indexOf('addr') + 1] !== '');
    } catch {
      return false;
    }
  }, 'every node to announce its address', ANNOUNCE_MS, 50);
  return { cluster, leader: id, addrs: [...cluster.nodes.values()].map((n) => `127.0.0.1:${n.port}`) };
}

export interface WriteOutcome {
  readonly i: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly error: Error | null;
}

export interface WriteRun {
  readonly outcomes: readonly WriteOutcome[];
  /** When the fault started (performance.now()), or NaN if it never ran. */
  readonly faultAtMs: number;
}

export interface WriteRunOptions {
  readonly count: number;
  readonly concurrency: number;
  /** Runs (not awaited by the writers) once this many writes were acknowledged. */
  readonly faultAfterAcks?: number;
  readonly fault?: () => Promise<void>;
  readonly timeoutMs: number;
}

/** Writes i = 0..count-1 with `concurrency` writers, each awaiting one write at a time. */
export async function runWrites(o: WriteRunOptions, write: (i: number) => Promise<unknown>): Promise<WriteRun> {
  const outcomes: WriteOutcome[] = [];
  let next = 0;
  let acks = 0;
  let faultAtMs = NaN;
  let fault: Promise<void> = Promise.resolve();
  const worker = async (): Promise<void> => {
    while (next < o.count) {
      const i = next++;
      const startMs = performance.now();
      let error: Error | null = null;
      try {
        await write(i);
        acks++;
      } catch (e) {
        error = e instanceof Error ? e : new Error(String(e));
      }
      outcomes.push({ i, startMs, endMs: performance.now(), error });
      if (o.fault && acks === o.faultAfterAcks && Number.isNaN(faultAtMs)) {
        faultAtMs = performance.now();
        fault = o.fault();
      }
    }
  };
  await within(Promise.all(Array.from({ length: o.concurrency }, worker)), `${o.count} writes`, o.timeoutMs);
  await within(fault, 'the fault to finish', o.timeoutMs);
  return { outcomes, faultAtMs };
}

/** Latency figures for a log line: max, p99, and the longest time without any acknowledgement. */
export function latencySummary(run: WriteRun): string {
  const lat = run.outcomes.map((x) => x.endMs - x.startMs).sort((a, b) => a - b);
  const acks = run.outcomes.filter((x) => x.error === null).map((x) => x.endMs).sort((a, b) => a - b);
  let gap = 0;
  for (let k = 1; k < acks.length; k++) gap = Math.max(gap, acks[k]! - acks[k - 1]!);
  const p = (q: number): string => (lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] ?? 0).toFixed(0);
  return `latency p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${p(1)} ms; longest gap between acknowledgements ${gap.toFixed(0)} ms`;
}

export const key = (prefix: string, i: number): string => `${prefix}:${String(i).padStart(5, '0')}`;
export const value = (i: number): string => `v${i}`;
