// The options of a Raft node: injected dependencies (storage, PRNG, logger) and
// tunables with their defaults. Units are in the names; time is counted in ticks.

import type { LogStorage } from './storage.ts';
import type { NodeId } from './types.ts';

/** The only source of randomness in the core (election timeouts); inject a seeded one in tests. */
export interface Prng {
  /** A uniformly distributed integer in [0, bound). */
  nextInt(bound: number): number;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {} };

/**
 * `readIndex`: every read confirms leadership with a heartbeat round (default, safe
 * under any clock behaviour). `lease`: the leader answers reads alone while a lease
 * holds; requires checkQuorum and assumes clocks advance at rates within
 * `leaseDriftPercent` of each other (see docs/consensus.md).
 */
export type ReadMode = 'readIndex' | 'lease';

export interface RaftOptions {
  readonly id: NodeId;
  readonly storage: LogStorage;
  readonly prng: Prng;
  readonly logger?: Logger;
  readonly electionTicksMin?: number;
  readonly electionTicksMax?: number;
  readonly heartbeatTicks?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly readMode?: ReadMode;
  readonly leaseDriftPercent?: number;
  /** Bound on the entry bytes in one append message (a single larger entry goes alone). */
  readonly appendBytesMax?: number;
  readonly appendEntriesMax?: number;
  readonly inflightMsgsMax?: number;
  readonly inflightBytesMax?: number;
  readonly proposalBytesMax?: number;
  /** Proposals are refused while this many bytes are appended but not committed (backpressure). */
  readonly uncommittedBytesMax?: number;
  /** Bounds on the committed entries handed out in one Ready. */
  readonly applyBytesMax?: number;
  readonly applyEntriesMax?: number;
}

export type ResolvedOptions = Required<RaftOptions>;

export function resolveOptions(o: RaftOptions): ResolvedOptions {
  const r: ResolvedOptions = {
    logger: silentLogger,
    electionTicksMin: 10,
    electionTicksMax: 20,
    heartbeatTicks: 1,
    preVote: true,
    checkQuorum: true,
    readMode: 'readIndex',
    leaseDriftPercent: 10,
    appendBytesMax: 1 << 20,
    appendEntriesMax: 4096,
    inflightMsgsMax: 256,
    inflightBytesMax: 64 << 20,
    proposalBytesMax: 64 << 20,
    uncommittedBytesMax: 256 << 20,
    applyBytesMax: 64 << 20,
    applyEntriesMax: 16384,
    ...o,
  };
  if (!(r.heartbeatTicks >= 1 && r.electionTicksMin > r.heartbeatTicks && r.electionTicksMax > r.electionTicksMin)) {
    throw new RangeError(
      `need 1 <= heartbeatTicks < electionTicksMin < electionTicksMax, got ${r.heartbeatTicks}, ${r.electionTicksMin}, ${r.electionTicksMax}`,
    );
  }
  if (r.readMode === 'lease' && !r.checkQuorum) throw new RangeError('readMode lease requires checkQuorum');
  if (!(r.leaseDriftPercent >= 0 && r.leaseDriftPercent < 100)) throw new RangeError('leaseDriftPercent must be in [0, 100)');
  return r;
}

/** sfc32, a small fast PRNG with a 128-bit state; deterministic for a given seed. */
export function createPrng(seed: number): Prng {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 15; i++) next();
  return { nextInt: (bound) => Math.floor((next() / 4294967296) * bound) };
}
