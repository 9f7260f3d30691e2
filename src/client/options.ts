// The client's options, their defaults and bounds, and "host:port" addresses.
// Validates once at createClient so a bad option fails there, naming itself.

import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';

export interface Address {
  readonly host: string;
  readonly port: number;
}

export interface ClientOptions {
  /** Seed nodes, "host:port" (IPv6 as "[::1]:6379"). Any reachable one reveals the others and the leader. */
  readonly nodes: readonly string[];
  /** How long a command is retried after errors that certainly did not apply it. Default 10 000. */
  readonly retryDeadlineMs?: number;
  /** Connections kept to the node that serves this client (the leader when reachable). Default 4. */
  readonly poolSize?: number;
  /** Waits between retries (exponential with jitter). Default { baseMs: 20, capMs: 1000 }. */
  readonly backoff?: BackoffOptions;
  /** A command without a reply for this long is given up (outcome unknown for a write). Default 5000. */
  readonly commandTimeoutMs?: number;
  /** Connecting to one node. Default 2000. */
  readonly connectTimeoutMs?: number;
  /** Membership and leader are re-read this often (and at once after a connection fails). Default 5000. */
  readonly topologyRefreshMs?: number;
  /**
   * When the leader is unreachable, commands wait (and retry) this long for a new leader
   * before going to another node, which forwards them. Default 2000.
   */
  readonly leaderWaitMs?: number;
  /** A node whose connection failed is avoided for this long. Default 2000. */
  readonly nodeFailureMemoryMs?: number;
  /** fire(): operations queued at most (beyond: QueueFullError). Default 100 000. */
  readonly fireQueueMax?: number;
  /** fire(): operations per pipeline at most. Default 1000. */
  readonly fireBatchMax?: number;
  /** fire(): pipelines in flight at most. Default poolSize. */
  readonly fireBatchesInFlightMax?: number;
  readonly username?: string;
  readonly password?: string;
  /** Database number (SELECT). Default 0. */
  readonly db?: number;
  /** Injected randomness for the backoff jitter (tests). Default Math.random. */
  readonly random?: () => number;
}

export interface ResolvedOptions {
  readonly seeds: readonly Address[];
  readonly retryDeadlineMs: number;
  readonly poolSize: number;
  readonly backoff: BackoffOptions;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly topologyRefreshMs: number;
  readonly nodeFailureMemoryMs: number;
  readonly leaderWaitMs: number;
  readonly fireQueueMax: number;
  readonly fireBatchMax: number;
  readonly fireBatchesInFlightMax: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
  readonly random: () => number;
}

/** Parses "host:port" or "[v6]:port". */
export function parseAddress(s: string): Address {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:\s]+):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new TypeError(`invalid node address ${JSON.stringify(s)} (expected "host:port")`);
  return { host: m[1]!, port };
}

export const formatAddress = (a: Address): string => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);

function int(name: string, v: number | undefined, def: number, min: number, max: number): number {
  const x = v ?? def;
  if (!Number.isInteger(x) || x < min || x > max) throw new RangeError(`option ${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  return x;
}

export function resolveOptions(o: ClientOptions): ResolvedOptions {
  if (!Array.isArray(o.nodes) || o.nodes.length === 0) throw new TypeError('option nodes must list at least one "host:port"');
  const poolSize = int('poolSize', o.poolSize, 4, 1, 64);
  const backoff = o.backoff ?? DEFAULT_BACKOFF;
  int('backoff.baseMs', backoff.baseMs, 0, 1, 60_000);
  int('backoff.capMs', backoff.capMs, 0, backoff.baseMs, 600_000);
  return {
    seeds: o.nodes.map(parseAddress),
    retryDeadlineMs: int('retryDeadlineMs', o.retryDeadlineMs, 10_000, 0, 3_600_000),
    poolSize,
    backoff,
    commandTimeoutMs: int('commandTimeoutMs', o.commandTimeoutMs, 5000, 1, 3_600_000),
    connectTimeoutMs: int('connectTimeoutMs', o.connectTimeoutMs, 2000, 1, 600_000),
    topologyRefreshMs: int('topologyRefreshMs', o.topologyRefreshMs, 5000, 50, 3_600_000),
    nodeFailureMemoryMs: int('nodeFailureMemoryMs', o.nodeFailureMemoryMs, 2000, 0, 600_000),
    leaderWaitMs: int('leaderWaitMs', o.leaderWaitMs, 2000, 0, 600_000),
    fireQueueMax: int('fireQueueMax', o.fireQueueMax, 100_000, 1, 10_000_000),
    fireBatchMax: int('fireBatchMax', o.fireBatchMax, 1000, 1, 100_000),
    fireBatchesInFlightMax: int('fireBatchesInFlightMax', o.fireBatchesInFlightMax, poolSize, 1, 1024),
    username: o.username,
    password: o.password,
    db: int('db', o.db, 0, 0, 15),
    random: o.random ?? Math.random,
  };
}
