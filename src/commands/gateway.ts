// The commands layer's view of the replication driver: propose an entry and wait
// for its apply result, or wait for a linearizable read point. Implemented by
// src/replication; a test can supply its own.

import type { Reply } from '../../protocol/index.ts';
import type { Keyspace } from '../state/keyspace.ts';
import type { Session } from '../net/session.ts';
import type { RedisError } from './errors.ts';

export interface Proposal {
  /** The log index the entry went to (for per-client read-your-writes). */
  readonly index: number;
  /** Resolves with the apply result, or an error reply telling the truth about the write's fate. */
  readonly result: Promise<Reply>;
  /**
   * A forwarded write (index -1): resolves with the log index it was applied at (0 if it
   * was not, or its fate is unknown) when `result` resolves. This node may not have
   * applied that far yet: the session's later reads wait for it.
   */
  readonly appliedAt?: Promise<number>;
}

export interface Gateway {
  /**
   * Proposes an entry whose bytes `build` makes from the leader's time stamp. Returns
   * a RedisError at once when the write certainly cannot be proposed (no leader...).
   */
  propose(build: (timeMs: number) => Uint8Array): Proposal | RedisError;
  /**
   * Resolves (with null) once this node may serve a linearizable read that follows
   * every write acknowledged before the call and the log index `minIndex`, or with an
   * error reply when no read point can be obtained.
   */
  readBarrier(minIndex: number, consistency?: 'linearizable' | 'lease'): Promise<RedisError | null>;
  /** Resolves once this node applied `index` (no read point: stale reads). */
  appliedAtLeast(index: number): Promise<void>;
  /** True when writes made now are forwarded to another node (their index is known only from the reply). */
  forwarding(): boolean;
  /** True when a read may be served right now without waiting (the fast path of readBarrier). */
  readReady(minIndex: number): boolean;
  /**
   * Blocks until an applied write touches one of `keys` ('changed'; waiters are woken in
   * the order they blocked; with `wakeOnProposal`, already when such a write is proposed here), `timeoutMs` passes ('timeout'; null = never) or the
   * session closes ('closed'). The caller re-runs its read (or re-proposes its write).
   */
  waitForKeys(
    keys: ReadonlyArray<{ readonly db: number; readonly key: Buffer }>,
    timeoutMs: number | null,
    session: Session | null,
    wakeOnProposal?: boolean,
  ): Promise<'changed' | 'timeout' | 'closed'>;
  /**
   * How many waiters asked (`wakeOnProposal`) to wake as soon as a write to one of
   * their keys is proposed on this node, so that their own proposal joins the same log
   * entry; `proposedKeys` wakes them (in the order they blocked). Optional: without it
   * every waiter wakes when the write is applied.
   */
  readonly wakeOnProposalWaiters?: number;
  proposedKeys?(keys: ReadonlyArray<{ readonly db: number; readonly key: Buffer | null }>): void;
  /** A client disconnected: release what it was blocked on. */
  sessionClosed?(session: Session): void;
  /** The local state machine (reads after a barrier). */
  keyspace(): Keyspace;
  appliedIndex(): number;
}
