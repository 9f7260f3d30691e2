// A Jepsen-style run against a real raftis cluster: concurrent ioredis clients on every
// node do GET/SET/APPEND/DEL on a few keys while a seeded nemesis kills, pauses,
// partitions (RAFT FAULT) and restarts nodes. The history (call/return times; unknown
// fate = return null) is checked for linearizability with checkKv; after healing every
// node must converge to the same keyspace. One seed decides every client's and the
// nemesis's choices (the interleaving still depends on the machine). Nemesis waits are
// its schedule, not synchronisation; every wait for the cluster has a deadline.

import { cpSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { Cluster } from '../support/cluster.ts';
import { checkKv, type CheckResult, type KvInput, type KvOutput, type Operation } from '../support/linearizability.ts';
import { Prng } from '../support/prng.ts';
import type { TeardownOwner } from '../support/processes.ts';
import { fateOfError } from './load.ts';

export interface JepsenOptions {
  readonly seed: number;
  readonly timeLimitMs: number;
  readonly nodes?: number;
  readonly keys?: number;
  readonly clientsPerNode?: number;
  /** Pause between a client's operations, to keep each key's history small enough to check. */
  readonly opPauseMs?: number;
  /** ioredis command timeout: a write that times out has an unknown outcome. */
  readonly commandTimeoutMs?: number;
  readonly checkTimeoutMs?: number;
  readonly keep?: boolean;
  /** Which faults the nemesis may choose (default all). */
  readonly faults?: ReadonlyArray<Fault['kind']>;
  readonly log?: (line: string) => void;
}

export interface JepsenResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly check: CheckResult;
  readonly converged: string | null;
  readonly convergeError: string | null;
  readonly ops: { readonly ok: number; readonly unknown: number; readonly dropped: number; readonly perKey: Record<string, number> };
  readonly nemesis: readonly string[];
  readonly errors: Readonly<Record<string, number>>;
  /** Replies of the wrong kind for the command (a write's outcome then counts as unknown). */
  readonly wrongReplies: readonly string[];
  /** Nodes that exited without the nemesis killing them. */
  readonly crashes: readonly string[];
  /** Where the history (and the nodes' logs, beside it) were written when the run failed. */
  readonly historyFile: string | null;
}

export type Fault =
  | { readonly kind: 'kill'; readonly node: string }
  | { readonly kind: 'pause'; readonly node: string }
  | { readonly kind: 'partition'; readonly nodes: readonly string[] };

export async function runJepsen(owner: TeardownOwner, opts: JepsenOptions): Promise<JepsenResult> {
  const log = opts.log ?? (() => {});
  const ids = Array.from({ length: opts.nodes ?? 3 }, (_, i) => `n${i + 1}`);
  const keys = Array.from({ length: opts.keys ?? 4 }, (_, i) => `k${i}`);
  const cluster = await Cluster.start(owner, { ids, faultInjection: true, snapshotEntries: 500, keep: opts.keep ?? false });
  const t0 = performance.now();
  const now = (): number => performance.now() - t0;
  await cluster.waitForLeader(10_000);
  const history: Operation[] = [];
  const errors: Record<string, number> = {};
  const nemesisLog: string[] = [];
  const note = (s: string): void => {
    const line = `${(now() / 1000).toFixed(2)}s ${s}`;
    nemesisLog.push(line);
    log(line);
  };
  let dropped = 0;
  const wrongReplies: string[] = [];
  let stopClients = false;
  let nextProcess = 0;

  const client = async (node: string, index: number): Promise<void> => {
    const rng = new Prng(opts.seed * 7919 + index);
    const r: Redis = await cluster.client(node, { commandTimeoutMs: opts.commandTimeoutMs ?? 3000 });
    let processId = nextProcess++;
    for (let n = 0; !stopClients; n++) {
      const input = randomInput(rng, keys, index, n);
      const call = now();
      try {
        const output = await runOp(r, input);
        history.push({ clientId: processId, input, call, return: now(), output });
        await delay(opts.opPauseMs ?? 15);
      } catch (e) {
        if (e instanceof WrongReplyError) wrongReplies.push(`${(call / 1000).toFixed(2)}s on ${node}: ${e.message}`);
        const msg = e instanceof Error ? e.message : String(e);
        const label = msg.replace(/[0-9]+/g, '#').slice(0, 70);
        errors[`${input.kind}: ${label}`] = (errors[`${input.kind}: ${label}`] ?? 0) + 1;
        if (input.kind === 'get' || fateOfError(e) === 'not-applied') dropped++;
        else {
          // Unknown fate: it may take effect at any later time. This process is done;
          // a new one (a new id) continues, as in Jepsen.
          history.push({ clientId: processId, input, call, return: null, output: null });
          processId = nextProcess++;
        }
        await delay(50);
      }
    }
    cluster.closeClient(r);
  };

  const clients = ids.flatMap((node, i) => Array.from({ length: opts.clientsPerNode ?? 2 }, (_, j) => client(node, i * 100 + j)));
  const nemesisRng = new Prng(opts.seed);
  const deadline = opts.timeLimitMs;
  try {
    while (now() < deadline - 2000) {
      await delay(nemesisRng.range(500, 1500));
      if (now() >= deadline - 2000) break;
      const fault = await chooseFault(cluster, nemesisRng, ids, opts.faults ?? ['kill', 'pause', 'partition']);
      const holdMs = nemesisRng.range(1000, 4000);
      await inject(cluster, fault, note);
      await delay(Math.min(holdMs, Math.max(0, deadline - now())));
      await recover(cluster, fault, note);
    }
  } finally {
    stopClients = true;
    await Promise.all(clients);
  }
  note('clients stopped; healing');
  for (const c of cluster.crashes) note(`crashed: ${c.split('\n')[0]}`);
  await healEverything(cluster, ids, note);
  let converged: string | null = null;
  let convergeError: string | null = null;
  try {
    await cluster.waitForLeader(15_000);
    converged = await cluster.waitConverged(ids, 30_000);
    note(`converged: ${converged}`);
  } catch (e) {
    convergeError = `${String(e)}\n${cluster.describe()}`;
    note(`did not converge: ${String(e)}`);
  }
  // Final reads through every node join the history: they must agree with it too.
  for (const id of ids) {
    for (const key of keys) {
      const call = now();
      try {
        const value = (await cluster.node(id).call('GET', key)) as string | null;
        history.push({ clientId: nextProcess++, input: { kind: 'get', key }, call, return: now(), output: { value } });
      } catch (e) {
        convergeError ??= `final read of ${key} on ${id} failed: ${String(e)}`;
      }
    }
  }
  const check = checkKv(history, { timeoutMs: opts.checkTimeoutMs ?? 60_000 });
  const perKey: Record<string, number> = {};
  for (const op of history) perKey[op.input.key] = (perKey[op.input.key] ?? 0) + 1;
  const crashes = [...cluster.crashes];
  const ok = check.kind === 'ok' && convergeError === null && crashes.length === 0 && wrongReplies.length === 0;
  let historyFile: string | null = null;
  if (!ok) {
    historyFile = join(tmpdir(), `raftis-jepsen-${opts.seed}-${Date.now()}.json`);
    writeFileSync(historyFile, JSON.stringify({ seed: opts.seed, nemesis: nemesisLog, history }, null, 1));
    for (const id of ids) cpSync(cluster.node(id).logFile, `${historyFile}.${id}.log`);
  }
  return {
    seed: opts.seed,
    ok,
    check,
    converged,
    convergeError,
    ops: { ok: history.filter((o) => o.return !== null).length, unknown: history.filter((o) => o.return === null).length, dropped, perKey },
    nemesis: nemesisLog,
    errors,
    crashes,
    wrongReplies,
    historyFile,
  };
}

function randomInput(rng: Prng, keys: readonly string[], client: number, n: number): KvInput {
  const key = rng.pick(keys);
  const value = `c${client}n${n};`;
  const x = rng.int(10);
  if (x < 4) return { kind: 'get', key };
  if (x < 6) return { kind: 'put', key, value };
  if (x < 9) return { kind: 'append', key, value };
  return { kind: 'delete', key };
}

/** A reply no correct server gives to that command (e.g. another command's reply). */
export class WrongReplyError extends Error {
  override readonly name = 'WrongReplyError';
}

async function runOp(r: Redis, input: KvInput): Promise<KvOutput> {
  switch (input.kind) {
    case 'get':
      return { value: await r.get(input.key) };
    case 'put': {
      const reply = await r.set(input.key, input.value);
      if (reply !== 'OK') throw new WrongReplyError(`SET ${input.key} answered ${JSON.stringify(reply)}`);
      return { ok: true };
    }
    case 'delete': {
      const reply = await r.del(input.key);
      if (reply !== 0 && reply !== 1) throw new WrongReplyError(`DEL ${input.key} answered ${JSON.stringify(reply)}`);
      return { ok: true };
    }
    case 'append': {
      const reply: unknown = await r.append(input.key, input.value);
      if (typeof reply !== 'number' || reply < input.value.length) throw new WrongReplyError(`APPEND ${input.key} answered ${JSON.stringify(reply)}`);
      return { ok: true };
    }
    default: {
      const never: never = input;
      throw new Error(`unknown op ${JSON.stringify(never)}`);
    }
  }
}

/** One fault at a time, on a minority: a node (the leader half of the time) killed, paused or cut off. */
async function chooseFault(cluster: Cluster, rng: Prng, ids: readonly string[], kinds: ReadonlyArray<Fault['kind']>): Promise<Fault> {
  const leader = await cluster.leader().catch(() => null);
  const node = leader !== null && rng.chance(0.5) ? leader : rng.pick(ids);
  const kind = rng.pick(kinds);
  if (kind === 'kill') return { kind: 'kill', node };
  if (kind === 'pause') return { kind: 'pause', node };
  // A minority: one node, or (with 5 nodes) sometimes two.
  const size = ids.length >= 5 && rng.chance(0.5) ? 2 : 1;
  const nodes = [node, ...ids.filter((i) => i !== node)].slice(0, size);
  return { kind: 'partition', nodes };
}

async function inject(cluster: Cluster, f: Fault, note: (s: string) => void): Promise<void> {
  switch (f.kind) {
    case 'kill':
      note(`kill -9 ${f.node} (pid ${cluster.node(f.node).pid})`);
      await cluster.kill(f.node);
      return;
    case 'pause':
      note(`SIGSTOP ${f.node}`);
      cluster.pause(f.node);
      return;
    case 'partition':
      note(`isolate ${f.nodes.join(',')}`);
      await cluster.isolate(f.nodes);
      return;
    default: {
      const never: never = f;
      throw new Error(`unknown fault ${JSON.stringify(never)}`);
    }
  }
}

async function recover(cluster: Cluster, f: Fault, note: (s: string) => void): Promise<void> {
  switch (f.kind) {
    case 'kill':
      note(`restart ${f.node}`);
      await cluster.startProcess(f.node);
      return;
    case 'pause':
      note(`SIGCONT ${f.node}`);
      cluster.resume(f.node);
      return;
    case 'partition':
      note('heal');
      await cluster.healAll();
      return;
    default: {
      const never: never = f;
      throw new Error(`unknown fault ${JSON.stringify(never)}`);
    }
  }
}

async function healEverything(cluster: Cluster, ids: readonly string[], note: (s: string) => void): Promise<void> {
  for (const id of ids) {
    const n = cluster.node(id);
    if (n.paused) cluster.resume(id);
    if (!n.running) {
      note(`restart ${id}`);
      await cluster.startProcess(id);
    }
  }
  await cluster.healAll();
}

/** A one-paragraph account of a run. */
export function describeRun(r: JepsenResult): string {
  const verdict =
    r.check.kind === 'ok' ? 'linearizable' : r.check.kind === 'illegal' ? `NOT linearizable (key ${r.check.key})` : `check inconclusive (${r.check.bound} bound on key ${r.check.key})`;
  return [
    `seed ${r.seed}: ${r.ok ? 'PASS' : 'FAIL'} — ${verdict}; ${r.convergeError === null ? `converged (${r.converged})` : `NOT converged: ${r.convergeError.split('\n')[0]}`}`,
    `  ops: ${r.ops.ok} completed, ${r.ops.unknown} unknown, ${r.ops.dropped} dropped (errors known not to apply, failed reads); per key ${JSON.stringify(r.ops.perKey)}`,
    `  nemesis: ${r.nemesis.length} events; errors: ${JSON.stringify(r.errors)}`,
    ...r.crashes.map((c) => `  CRASH: ${c}`),
    ...(r.wrongReplies.length > 0 ? [`  WRONG REPLIES (${r.wrongReplies.length}): ${r.wrongReplies.slice(0, 5).join('; ')}`] : []),
    ...(r.check.kind === 'illegal' ? [r.check.explanation] : []),
    ...(r.historyFile ? [`  history written to ${r.historyFile}`] : []),
  ].join('\n');
}
