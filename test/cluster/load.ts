// A steady write load for cluster tests: ioredis clients that each SET unique keys
// (prefix:client:n = n) on one node, one command in flight per client, until stopped.
// Records what was acknowledged (OK), certainly not applied (CLUSTERDOWN/TRYAGAIN,
// not sent) and of unknown fate (UNKNOWN, timeout, connection lost), with times.

import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Cluster } from '../support/cluster.ts';

/** Pause after an error before the next write, so a failing node is not hammered. */
const ERROR_PAUSE_MS = 20;

export type Fate = 'ok' | 'not-applied' | 'unknown';

/** How an error reply or client failure decides a write's fate. */
export function fateOfError(e: unknown): Exclude<Fate, 'ok'> {
  const m = e instanceof Error ? e.message : String(e);
  if (/^(CLUSTERDOWN|TRYAGAIN)\b/.test(m)) return 'not-applied';
  // ioredis refused to send it (not connected, offline queue off): it never left this process.
  if (/enableOfflineQueue|Stream isn't writeable/.test(m)) return 'not-applied';
  return 'unknown';
}

export interface WriteRecord {
  readonly key: string;
  readonly value: string;
  readonly callMs: number;
  readonly returnMs: number;
  readonly fate: Fate;
  readonly error?: string;
}

export class WriteLoad {
  readonly records: WriteRecord[] = [];
  readonly #cluster: Cluster;
  readonly #node: string;
  readonly #clients: number;
  readonly #prefix: string;
  readonly #pauseMs: number;
  #running = false;
  #loops: Promise<void>[] = [];
  #redis: Redis[] = [];

  constructor(cluster: Cluster, opts: { node: string; clients?: number; prefix?: string; pauseMs?: number }) {
    this.#cluster = cluster;
    this.#node = opts.node;
    this.#clients = opts.clients ?? 4;
    this.#prefix = opts.prefix ?? 'w';
    this.#pauseMs = opts.pauseMs ?? 0;
  }

  async start(): Promise<void> {
    this.#redis = await Promise.all(Array.from({ length: this.#clients }, () => this.#cluster.client(this.#node, { commandTimeoutMs: 15_000 })));
    this.#running = true;
    this.#loops = this.#redis.map((r, c) => this.#loop(r, c));
  }

  async #loop(r: Redis, c: number): Promise<void> {
    for (let n = 0; this.#running; n++) {
      const key = `${this.#prefix}:${c}:${n}`;
      const value = String(n);
      const callMs = performance.now();
      try {
        const reply = await r.set(key, value);
        const fate: Fate = reply === 'OK' ? 'ok' : 'unknown';
        this.records.push({ key, value, callMs, returnMs: performance.now(), fate });
        if (this.#pauseMs > 0) await delay(this.#pauseMs);
      } catch (e) {
        this.records.push({ key, value, callMs, returnMs: performance.now(), fate: fateOfError(e), error: String(e) });
        await delay(ERROR_PAUSE_MS);
      }
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
    for (const r of this.#redis) this.#cluster.closeClient(r);
  }

  acked(): WriteRecord[] {
    return this.records.filter((w) => w.fate === 'ok');
  }

  count(fate: Fate): number {
    return this.records.filter((w) => w.fate === fate).length;
  }

  /** The first acknowledged write that was sent at or after `ms`. */
  firstAckCalledAfter(ms: number): WriteRecord | undefined {
    return this.acked().filter((w) => w.callMs >= ms).sort((a, b) => a.returnMs - b.returnMs)[0];
  }

  summary(): string {
    const errs = new Map<string, number>();
    for (const w of this.records) if (w.error) errs.set(w.error.slice(0, 60), (errs.get(w.error.slice(0, 60)) ?? 0) + 1);
    return `writes: ${this.count('ok')} ok, ${this.count('not-applied')} not applied, ${this.count('unknown')} unknown; errors: ${JSON.stringify([...errs])}`;
  }
}

/** Every acknowledged write reads back, with its value, from each of `nodes` (linearizable MGET). */
export async function missingAcked(cluster: Cluster, acked: readonly WriteRecord[], nodes: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const id of nodes) {
    for (let i = 0; i < acked.length; i += 500) {
      const chunk = acked.slice(i, i + 500);
      const values = (await cluster.node(id).call('MGET', ...chunk.map((w) => w.key))) as Array<string | null>;
      chunk.forEach((w, j) => {
        if (values[j] !== w.value) missing.push(`${id}: ${w.key} = ${String(values[j])}, acknowledged ${w.value}`);
      });
    }
  }
  return missing;
}
