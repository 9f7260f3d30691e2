// The one output batch of the core, and the public status snapshot.
// Ready is a contract about the order of effects; read its doc before writing a driver.

import type { Config, Entry, HardState, LogIndex, Message, NodeId, ReadState, SnapshotMeta, Term } from './types.ts';

export type RoleKind = 'follower' | 'preCandidate' | 'candidate' | 'leader';

export interface SoftState {
  readonly role: RoleKind;
  readonly leader: NodeId | null;
}

/**
 * Everything the core wants done, in one batch. The driver must, in this order:
 *
 * 1. **Persist** `snapshot` (install its data, received out of band), then `entries`
 *    (appending, and truncating any stored suffix from `entries[0].index` on), then
 *    `hardState`, and make them durable (fsync). Nothing else may happen first:
 *    the messages below promise votes and acknowledge entries that must survive a
 *    crash (a vote forgotten after a crash allows two leaders in one term; an
 *    acknowledged entry forgotten may lose a committed write).
 * 2. **Send** `messages`. They may go in any order and be lost; the core retries.
 *    Exception: a leader's `append` messages may be sent *before* step 1 (thesis
 *    §10.2.1), so its own fsync overlaps the followers' (see `sendableBeforePersist`).
 *    That is safe because an append promises nothing about the leader's disk, and a
 *    commit the leader computes from acknowledgements is acted on (applied, announced)
 *    only in a later Ready, after this one's persist completed.
 * 3. **Apply** `committedEntries` in order to the state machine. They are durable on
 *    a majority. Serve `readStates` once the state machine has applied their index.
 * 4. **advance()** — and only then call `ready()` again (it throws otherwise). Inputs
 *    (tick, step, propose, readIndex...) may arrive between `ready()` and `advance()`,
 *    for instance while the driver waits for its fsync: whatever they produce (entries,
 *    votes, acknowledgements, messages) goes into the *next* Ready, so it is persisted
 *    before it is sent like everything else, and it batches (group commit).
 *
 * A crash anywhere before step 1 completes loses the whole batch, which is safe:
 * nobody has seen its effects.
 */
export interface Ready {
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  readonly snapshot: SnapshotMeta | null;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
}

export interface PeerStatus {
  readonly id: NodeId;
  readonly match: LogIndex;
  readonly next: LogIndex;
  readonly mode: 'probe' | 'replicate' | 'snapshot';
  readonly voter: boolean;
  readonly recentActive: boolean;
}

export interface Status {
  readonly id: NodeId;
  readonly role: RoleKind;
  /** A member that may not vote: it receives the log only. */
  readonly learner: boolean;
  readonly term: Term;
  readonly vote: NodeId | null;
  readonly leader: NodeId | null;
  readonly commit: LogIndex;
  readonly applied: LogIndex;
  readonly lastIndex: LogIndex;
  readonly firstIndex: LogIndex;
  readonly config: Config;
  /** Leader only: what it knows of each member. */
  readonly peers: readonly PeerStatus[];
  readonly transferee: NodeId | null;
}

export type ProposeRefusal =
  | 'not-leader'
  | 'transferring'
  | 'too-large'
  | 'overloaded'
  | 'config-change-pending'
  | 'config-change-invalid';

/** The outcome of a proposal: where it went in the log, or why it certainly did not. */
export type ProposeResult =
  | { readonly ok: true; readonly index: LogIndex; readonly term: Term }
  | { readonly ok: false; readonly reason: ProposeRefusal; readonly leader: NodeId | null };

/** Messages a driver may send before persisting their Ready: a leader's appends (see Ready). */
export const sendableBeforePersist = (m: Message): boolean => m.type === 'append';
