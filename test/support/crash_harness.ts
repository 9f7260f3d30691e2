// Real raftis processes for crash and shutdown tests: start one on a data dir, wait
// for its "listening" line, signal exactly the PID we spawned, await its exit.
// Plus the write load those tests drive (ioredis clients that record what was
// acknowledged) and the checks against it. Every wait has a deadline; no sleeps.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Rng } from '../sim/rng.ts';
import { waitUntil, within } from './wait.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const START_MS_MAX = 20_000;
const POLL_MS = 5;

/** Polls `condition` until true; throws naming `what` after `timeoutMs`. */
export const waitFor = (condition: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void> =>
  waitUntil(condition, what, timeoutMs, POLL_MS);

export { within };

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface RaftisProcess {
  readonly pid: number;
  readonly port: number;
  readonly exited: Promise<Exit>;
  /** Everything written to stderr so far (the JSON log), for failure messages. */
  stderr(): string;
  /** Sends `signal` to the PID we spawned (never by name) and waits for the exit. */
  signal(signal: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
}

/** Starts `node src/main.ts --port 0 --dir <dir> ...extra` with the Node running the tests. */
export async function startRaftis(dir: string, extra: readonly string[] = []): Promise<RaftisProcess> {
  const child: ChildProcess = spawn(process.execPath, [MAIN, '--port', '0', '--dir', dir, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-20_000)));
  let exit: Exit | null = null;
  const exited = new Promise<Exit>((resolve) => {
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('raftis did not spawn');
  try {
    await waitFor(() => exit !== null || /listening on \S+:(\d+)/.test(out), 'raftis to print its listening line', START_MS_MAX);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`raftis did not start: ${String(e)}\n${err}`);
  }
  if (exit !== null) throw new Error(`raftis exited during start (${JSON.stringify(exit)}):\n${err}`);
  const port = Number(/listening on \S+:(\d+)/.exec(out)![1]);
  return {
    pid,
    port,
    exited,
    stderr: () => err,
    signal: async (signal, timeoutMs = 15_000) => {
      if (exit === null) process.kill(pid, signal);
      return within(exited, `raftis pid ${pid} to exit after ${signal}`, timeoutMs);
    },
  };
}

/** An ioredis client that never retries or resends: a failed command stays failed. */
export function strictClient(port: number): Redis {
  return new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    enableReadyCheck: false,
    connectTimeout: 5000,
  }).on('error', () => {
    // Connection errors also reject the commands in flight, which is where they are handled.
  });
}

// ---- the write load and its model ----

export const COUNTERS = ['ctr:0', 'ctr:1', 'ctr:2'] as const;

/**
 * What the clients know. Unique SET keys: `acked` must be present with their value;
 * `pending` (sent, no reply) may be present with their value or absent; `refused`
 * (a TRYAGAIN/CLUSTERDOWN reply: certainly not applied) must be absent.
 * Counters and per-client APPEND keys: `base` is what was verified before this round.
 */
export class Model {
  readonly sets = new Map<string, string>();
  readonly absent = new Set<string>();
  pendingSets = new Map<string, string>();
  readonly refusedSets = new Set<string>();
  readonly counters = new Map<string, { base: number; acked: number; pending: number }>(COUNTERS.map((c) => [c, { base: 0, acked: 0, pending: 0 }]));
  readonly appends = new Map<string, { base: string; acked: string; pending: string[] }>();
  ackedWrites = 0;
}

/** One client's sequential write loop: at most one command in flight. Stops on the first connection error. */
async function clientLoop(model: Model, redis: Redis, clientId: number, round: number, rng: Rng, stop: () => boolean): Promise<void> {
  const appendKey = `app:${clientId}`;
  if (!model.appends.has(appendKey)) model.appends.set(appendKey, { base: '', acked: '', pending: [] });
  for (let i = 0; !stop(); i++) {
    const op = rng.nextInt(10);
    try {
      if (op < 5) {
        const key = `k:${round}:${clientId}:${i}`;
        const value = `v${rng.nextInt(1e9)}-${'x'.repeat(rng.nextInt(200))}`;
        model.pendingSets.set(key, value);
        let r: string | null;
        try {
          r = await redis.set(key, value);
        } catch (e) {
          if (/^(TRYAGAIN|CLUSTERDOWN) /.test((e as Error).message)) {
            model.pendingSets.delete(key);
            model.refusedSets.add(key);
            if (/shutting down/.test((e as Error).message)) return;
            continue;
          }
          throw e;
        }
        if (r !== 'OK') throw new Error(`SET ${key} answered ${r}`);
        model.pendingSets.delete(key);
        model.sets.set(key, value);
      } else if (op < 8) {
        const key = COUNTERS[rng.nextInt(COUNTERS.length)]!;
        const c = model.counters.get(key)!;
        c.pending++;
        await redis.incr(key);
        // No per-reply lower bound: replies to one applied batch may reach different clients in any order.
        c.pending--;
        c.acked++;
      } else {
        const a = model.appends.get(appendKey)!;
        const chunk = `${round}.${i};`;
        a.pending.push(chunk);
        const len = await redis.append(appendKey, chunk);
        a.pending.pop();
        a.acked += chunk;
        const want = a.base.length + a.acked.length;
        if (len !== want) throw new Error(`APPEND ${appendKey} answered ${len}, expected ${want}`);
      }
      model.ackedWrites++;
    } catch (e) {
      if (isConnectionError(e)) return; // in flight at the kill: stays pending
      throw e;
    }
  }
}

/** The command's fate is unknown to the client: the connection broke, or the server said so. */
const isConnectionError = (e: unknown): boolean =>
  e instanceof Error &&
  /Connection is closed|ECONNRESET|ECONNREFUSED|EPIPE|Stream isn't writeable|^TRYAGAIN the server is shutting down|^UNKNOWN /.test(e.message);

export interface Load {
  /** Resolves when every client loop has ended (after a kill, or after `stop()`). */
  readonly done: Promise<void>;
  stop(): void;
  close(): void;
}

export async function startLoad(model: Model, port: number, clients: number, round: number, rng: Rng): Promise<Load> {
  let stopped = false;
  const conns = Array.from({ length: clients }, () => strictClient(port));
  await within(Promise.all(conns.map((c) => c.connect())), 'clients to connect', 5000);
  const loops = conns.map((c, i) => clientLoop(model, c, i, round, rng.fork(), () => stopped));
  return {
    done: Promise.all(loops).then(() => undefined),
    stop: () => void (stopped = true),
    close: () => conns.forEach((c) => c.disconnect()),
  };
}

/**
 * After a restart: checks every acknowledged write against the server, folds what
 * was pending at the kill into the model as now-known state, and checks that the
 * keyspace holds exactly the modelled keys (DBSIZE = SCAN count = model size).
 * `pending: 'never-applied'` (after a graceful shutdown, which executes nothing
 * more once it starts) also requires that no write left without an answer was applied.
 */
export async function verifyAndSettle(model: Model, redis: Redis, pending: 'maybe-applied' | 'never-applied' = 'maybe-applied'): Promise<string[]> {
  const strict = pending === 'never-applied';
  const problems: string[] = [];
  for (const [key, value] of model.sets) {
    const got = await redis.get(key);
    if (got !== value) problems.push(`acknowledged SET ${key} lost: got ${got === null ? 'nil' : JSON.stringify(got.slice(0, 40))}`);
  }
  for (const [key, value] of model.pendingSets) {
    const got = await redis.get(key);
    if (got === null) model.absent.add(key);
    else if (strict) problems.push(`SET ${key} got no answer at shutdown but was applied`);
    else if (got === value) model.sets.set(key, value);
    else problems.push(`in-flight SET ${key} has a foreign value ${JSON.stringify(got.slice(0, 40))}`);
  }
  model.pendingSets = new Map();
  for (const key of [...model.absent, ...model.refusedSets]) {
    if ((await redis.exists(key)) !== 0) problems.push(`SET ${key} was never acknowledged (or was refused) but appeared later`);
  }
  for (const [key, c] of model.counters) {
    const raw = await redis.get(key);
    const v = raw === null ? 0 : Number(raw);
    const hi = c.base + c.acked + (strict ? 0 : c.pending);
    if (v < c.base + c.acked || v > hi) {
      problems.push(`counter ${key} = ${raw}, want [${c.base + c.acked}, ${hi}] (base ${c.base}, acked ${c.acked}, in flight ${c.pending})`);
    }
    model.counters.set(key, { base: v, acked: 0, pending: 0 });
  }
  for (const [key, a] of model.appends) {
    const v = (await redis.get(key)) ?? '';
    const known = a.base + a.acked;
    const okValues = strict ? [known] : [known, ...a.pending.map((_, i) => known + a.pending.slice(0, i + 1).join(''))];
    if (!okValues.includes(v)) problems.push(`APPEND ${key} = ${JSON.stringify(v.slice(-60))}, want ${JSON.stringify(known.slice(-60))} (+ in flight ${a.pending.join('')})`);
    model.appends.set(key, { base: v, acked: '', pending: [] });
  }
  problems.push(...(await checkKeyspace(model, redis)));
  return problems;
}

/** Every key readable as a string, DBSIZE equals the SCAN count, and the key set is exactly the model's. */
async function checkKeyspace(model: Model, redis: Redis): Promise<string[]> {
  const problems: string[] = [];
  const seen = new Set<string>();
  let cursor = '0';
  for (let guard = 0; guard < 100_000; guard++) {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 500);
    for (const k of keys) seen.add(k);
    cursor = next;
    if (cursor === '0') break;
  }
  const dbsize = await redis.dbsize();
  if (dbsize !== seen.size) problems.push(`DBSIZE ${dbsize} but SCAN found ${seen.size} keys`);
  const expected = new Set<string>([...model.sets.keys(), ...model.appends.keys()]);
  for (const [k, c] of model.counters) if (c.base > 0) expected.add(k);
  for (const k of [...model.appends.keys()]) if (model.appends.get(k)!.base === '') expected.delete(k);
  for (const k of seen) if (!expected.has(k)) problems.push(`unexpected key ${k}`);
  for (const k of expected) if (!seen.has(k)) problems.push(`SCAN misses ${k}`);
  const keys = [...seen];
  for (let i = 0; i < keys.length; i += 500) {
    const vals = await redis.mget(...keys.slice(i, i + 500));
    vals.forEach((v, j) => v === null && problems.push(`key ${keys[i + j]} listed by SCAN but GET is nil`));
  }
  return problems;
}

/** A field from INFO, as a string ('' when absent). */
export async function infoField(redis: Redis, section: string, field: string): Promise<string> {
  const text = await redis.info(section);
  return new RegExp(`^${field}:(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
}
