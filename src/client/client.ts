// createClient: a raftis client on top of ioredis. Commands go to the leader when it is
// reachable (another node otherwise: it forwards writes), are retried with backoff and
// jitter while they certainly were not applied, and fail with OutcomeUnknownError when
// they may have been. Owns the pool, the topology refresh timers and the fire queue.

import { Redis, type RedisCommander } from 'ioredis';
import { ClientClosedError } from './errors.ts';
import { FireQueue, type FireCallback } from './fire.ts';
import { formatAddress, resolveOptions, type Address, type ClientOptions, type ResolvedOptions } from './options.ts';
import { Pool, type Slot } from './pool.ts';
import { isReadOnly } from './read_only.ts';
import { afterFailure, startAttempts } from './retry_policy.ts';
import { Topology, type Member } from './topology.ts';

export type RedisArg = string | Buffer | number;

export interface CallOptions {
  /**
   * Sending it twice has the effect of sending it once (e.g. SET of a key only this
   * caller writes, to a value of its own): retried even when an attempt's outcome is
   * unknown. Read-only commands are retried so anyway.
   */
  readonly idempotent?: boolean;
}

export interface SetOptions extends CallOptions {
  /** Expire after this many milliseconds (SET ... PX). */
  readonly ttlMs?: number;
  /** Only if the key does not exist (NX) / already exists (XX). */
  readonly onlyIf?: 'absent' | 'present';
}

export interface ListOptions {
  /** At most this many keys (default 1000, at most 100 000). */
  readonly limit?: number;
  /** SCAN COUNT hint per round (default 500). */
  readonly scanCount?: number;
}

export interface ClientStats {
  /** Commands that succeeded (fire operations included). */
  commands: number;
  /** Attempts retried after an error that said "not applied" (or any error, for retry-safe commands). */
  retries: number;
  /** OutcomeUnknownErrors surfaced. */
  outcomeUnknown: number;
  /** Connections lost without being closed by the client. */
  connectionsLost: number;
}

const LIST_LIMIT_MAX = 100_000;
const MGET_CHUNK = 500;
const CLOSE_GRACE_MS = 2000;
/** Connection-state commands make no sense across a pool: not offered on `redis`. */
const NOT_POOLED = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe', 'monitor',
  'multi', 'exec', 'discard', 'watch', 'unwatch', 'select', 'auth', 'hello', 'client', 'reset', 'quit', 'then']);

export class RaftisClient {
  readonly #o: ResolvedOptions;
  readonly #topology: Topology;
  readonly #pool: Pool;
  readonly #fire: FireQueue;
  readonly #stats: ClientStats = { commands: 0, retries: 0, outcomeUnknown: 0, connectionsLost: 0 };
  #refreshTimer: NodeJS.Timeout | null = null;
  readonly #periodic: NodeJS.Timeout;
  #degradedRounds = 0;
  #closed = false;
  #redis: RedisCommander | null = null;

  constructor(options: ClientOptions) {
    this.#o = resolveOptions(options);
    this.#topology = new Topology({ seeds: this.#o.seeds, probe: (a) => this.#probe(a), failureMemoryMs: this.#o.nodeFailureMemoryMs, leaderWaitMs: this.#o.leaderWaitMs });
    this.#pool = new Pool({
      size: this.#o.poolSize,
      topology: this.#topology,
      connect: (a) => this.#connect(a, false),
      onLost: (a) => {
        this.#stats.connectionsLost++;
        this.#topology.noteFailure(a);
        this.#refreshSoon(0);
      },
    });
    this.#fire = new FireQueue({
      pool: this.#pool,
      options: this.#o,
      stats: this.#stats,
      retrySafe: isReadOnly,
      onTrouble: () => this.#refreshSoon(0),
    });
    this.#periodic = setInterval(() => this.#refreshSoon(0), this.#o.topologyRefreshMs).unref();
    this.#refreshSoon(0);
  }

  /** GET: the value, or null. */
  get(key: RedisArg): Promise<string | null> {
    return this.#run('get', (r) => r.get(key as string));
  }

  /** SET: true when set, false when `onlyIf` prevented it. */
  async set(key: RedisArg, value: RedisArg, options: SetOptions = {}): Promise<boolean> {
    const args: RedisArg[] = [key, value];
    if (options.ttlMs !== undefined) args.push('PX', options.ttlMs);
    if (options.onlyIf !== undefined) args.push(options.onlyIf === 'absent' ? 'NX' : 'XX');
    const r = await this.#run('set', (c) => c.call('set', ...args), options.idempotent === true);
    return r === 'OK';
  }

  /** DEL: how many of the keys existed. */
  async del(keys: RedisArg | readonly RedisArg[], options: CallOptions = {}): Promise<number> {
    const ks = Array.isArray(keys) ? keys : [keys];
    return Number(await this.#run('del', (c) => c.call('del', ...ks), options.idempotent === true));
  }

  /**
   * The keys starting with `prefix` and their string values, sorted by key: SCAN MATCH
   * prefix* then MGET, at most `limit` keys. Not a snapshot: each round is linearizable
   * alone; keys that are not strings, or were deleted meanwhile, are left out.
   */
  async list(prefix: string, options: ListOptions = {}): Promise<Array<[string, string]>> {
    const limit = options.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT_MAX) throw new RangeError(`limit must be an integer in [1, ${LIST_LIMIT_MAX}]`);
    const count = options.scanCount ?? 500;
    const pattern = `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
    const keys = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await this.#run('scan', (r) => r.scan(cursor, 'MATCH', pattern, 'COUNT', count));
      for (const k of batch) if (keys.size < limit) keys.add(k);
      cursor = next;
    } while (cursor !== '0' && keys.size < limit);
    const sorted = [...keys].sort();
    const out: Array<[string, string]> = [];
    for (let i = 0; i < sorted.length; i += MGET_CHUNK) {
      const chunk = sorted.slice(i, i + MGET_CHUNK);
      const values = await this.#run('mget', (r) => r.mget(chunk));
      chunk.forEach((k, j) => {
        const v = values[j];
        if (v !== null && v !== undefined) out.push([k, v]);
      });
    }
    return out;
  }

  /** Any command, with the client's retry policy: `call('hset', ['h', 'f', 'v'])`. Replies as ioredis's `call` gives them. */
  call(command: string, args: readonly RedisArg[] = [], options: CallOptions = {}): Promise<unknown> {
    return this.#run(command.toLowerCase(), (r) => r.call(command, ...args), options.idempotent === true);
  }

  /**
   * Every ioredis command method, typed as ioredis types it (`client.redis.hgetall(k)`),
   * each call sent through the retry policy to the current leader. Promise form only (no
   * callbacks); connection-state commands (MULTI, WATCH, SELECT, SUBSCRIBE...) are absent.
   */
  get redis(): RedisCommander {
    this.#redis ??= new Proxy({} as RedisCommander, {
      get: (_, prop) => {
        if (typeof prop !== 'string' || NOT_POOLED.has(prop.toLowerCase())) return undefined;
        const method = (Redis.prototype as unknown as Record<string, unknown>)[prop];
        if (typeof method !== 'function') return undefined;
        return (...args: unknown[]) => {
          if (typeof args.at(-1) === 'function') throw new TypeError(`client.redis.${prop}: callbacks are not supported, use the promise`);
          const command = prop === 'call' || prop === 'send_command' ? String(args[0]).toLowerCase() : prop.toLowerCase();
          return this.#run(command, (r) => (method as (...a: unknown[]) => Promise<unknown>).apply(r, args));
        };
      },
    });
    return this.#redis;
  }

  /** Fire-and-forget: queued, batched into pipelines per event-loop turn; `callback` is called exactly once. */
  fire(command: string, args: readonly RedisArg[], callback: FireCallback = () => {}, options: CallOptions = {}): void {
    const counted: FireCallback = (err, result) => {
      if (err === null) this.#stats.commands++;
      callback(err, result);
    };
    this.#fire.push(command.toLowerCase(), args, counted, options.idempotent === true);
  }

  /** Resolves when every fire() operation queued so far has completed (each within the retry deadline). */
  flush(): Promise<void> {
    return this.#fire.flush();
  }

  /** Waits for queued fire() operations, then closes the connections (pending replies get a short grace). */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#fire.flush();
    this.#closed = true;
    this.#fire.close();
    clearInterval(this.#periodic);
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
    await this.#pool.close(CLOSE_GRACE_MS);
  }

  /** The leader's address as last learned ("host:port"), or null. */
  leader(): string | null {
    const l = this.#topology.leader();
    return l === null ? null : formatAddress(l);
  }

  /** The members as last learned (RAFT NODES). */
  members(): readonly Member[] {
    return this.#topology.members();
  }

  /** Counters since creation (a copy). */
  stats(): ClientStats {
    return { ...this.#stats };
  }

  /** Re-reads membership and leader now (also done periodically and after failures). */
  async refresh(): Promise<void> {
    await this.#topology.refresh();
    this.#pool.rebalance();
  }

  async #run<T>(command: string, send: (r: Redis) => Promise<T>, idempotent = false): Promise<T> {
    const a = startAttempts(command, idempotent || isReadOnly(command), performance.now(), this.#o);
    for (;;) {
      if (this.#closed) throw new ClientClosedError();
      let err: unknown;
      let slot: Slot | null = null;
      try {
        slot = await this.#pool.acquire(a.deadlineAt);
      } catch (e) {
        err = e;
      }
      if (slot !== null) {
        slot.pending++;
        try {
          const r = await send(slot.redis);
          this.#stats.commands++;
          return r;
        } catch (e) {
          err = e;
          if (e instanceof Error && /timed out/i.test(e.message)) this.#pool.discard(slot);
        } finally {
          this.#pool.release(slot);
        }
      }
      if (err instanceof ClientClosedError) throw err;
      const step = afterFailure(a, err, performance.now(), this.#o);
      if (step.kind === 'fail') {
        if (step.error.name === 'OutcomeUnknownError') this.#stats.outcomeUnknown++;
        throw step.error;
      }
      this.#stats.retries++;
      this.#refreshSoon(0);
      await new Promise((res) => setTimeout(res, step.delayMs));
    }
  }

  /**
   * Refreshes the topology after `delayMs` (coalesced), then drains connections to a node
   * that is no longer the target; while the leader is unknown or unreachable, again soon.
   */
  #refreshSoon(delayMs: number): void {
    if (this.#closed || this.#refreshTimer !== null) return;
    this.#refreshTimer = setTimeout(() => {
      void this.#topology.refresh().then(() => {
        this.#refreshTimer = null;
        if (this.#closed) return;
        this.#pool.rebalance();
        if (this.#topology.degraded()) this.#refreshSoon(Math.min(1000, 50 * 2 ** Math.min(this.#degradedRounds++, 5)));
        else this.#degradedRounds = 0;
      });
    }, delayMs);
    this.#refreshTimer.unref();
  }

  #connect(a: Address, probe: boolean): Redis {
    return new Redis({
      host: a.host,
      port: a.port,
      username: this.#o.username,
      password: this.#o.password,
      db: this.#o.db,
      connectTimeout: this.#o.connectTimeoutMs,
      commandTimeout: probe ? Math.min(this.#o.connectTimeoutMs, this.#o.commandTimeoutMs) : this.#o.commandTimeoutMs,
      // No reconnect and no queue: a command is either written to a live connection or refused,
      // which is what tells "certainly not applied" from "outcome unknown".
      retryStrategy: () => null,
      enableOfflineQueue: probe,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      enableReadyCheck: false,
      lazyConnect: probe,
    });
  }

  /** RAFT NODES on one node, over a short-lived connection. */
  async #probe(a: Address): Promise<unknown> {
    const r = this.#connect(a, true);
    r.on('error', () => {});
    try {
      await r.connect();
      return await r.call('RAFT', 'NODES');
    } finally {
      r.disconnect();
    }
  }
}

/** A client for a raftis cluster: `createClient({ nodes: ['10.0.0.1:6379', ...] })`. */
export function createClient(options: ClientOptions): RaftisClient {
  return new RaftisClient(options);
}
