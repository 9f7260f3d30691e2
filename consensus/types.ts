// The vocabulary of the consensus core: branded ids, log entries, hard state,
// membership configurations, snapshots metadata and the messages peers exchange.
// Pure data: no behaviour, no imports from outside consensus/.
// Every message carries all a transport needs to encode it (see message_size.ts).

export type NodeId = string & { readonly __brand: 'NodeId' };
export type Term = number & { readonly __brand: 'Term' };
export type LogIndex = number & { readonly __brand: 'LogIndex' };

export const nodeId = (s: string): NodeId => s as NodeId;
export const term = (n: number): Term => n as Term;
export const logIndex = (n: number): LogIndex => n as LogIndex;

/** `normal` entries carry application data; `config` entries carry an encoded ConfigChange. */
export type EntryType = 'normal' | 'config';

export interface Entry {
  readonly term: Term;
  readonly index: LogIndex;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must survive a crash besides the log: the current term, the vote in it, and the commit index. */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId | null;
  readonly commit: LogIndex;
}

/** A cluster membership: voters decide, learners only receive the log. Disjoint sets. */
export interface Config {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/**
 * One membership step. Each changes the voter set by at most one member, which is
 * what makes one-at-a-time changes safe (thesis §4.1): any majority of the old
 * voters and any majority of the new voters overlap.
 */
export type ConfigChange =
  | { readonly kind: 'addLearner'; readonly node: NodeId }
  | { readonly kind: 'promote'; readonly node: NodeId }
  | { readonly kind: 'addVoter'; readonly node: NodeId }
  | { readonly kind: 'remove'; readonly node: NodeId };

/** Metadata of a snapshot; the snapshot's bytes are opaque to the core and travel out of band. */
export interface SnapshotMeta {
  readonly index: LogIndex;
  readonly term: Term;
  readonly config: Config;
}

/**
 * The answer to `readIndex(context)`: the read may be served once the state machine
 * has applied `index`; `index === null` means the read was refused (no leader, or
 * leadership lost before it was confirmed) and the caller should retry elsewhere.
 */
export interface ReadState {
  readonly context: number;
  readonly index: LogIndex | null;
}

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

export type Message =
  | (Envelope & {
      readonly type: 'append';
      readonly prevIndex: LogIndex;
      readonly prevTerm: Term;
      readonly entries: readonly Entry[];
      readonly commit: LogIndex;
    })
  | (Envelope & {
      readonly type: 'appendResponse';
      /** On success: the follower's last index matching the leader. On reject: the rejected prevIndex. */
      readonly index: LogIndex;
      readonly reject: boolean;
      /** On reject: where the leader should look next (fast backtracking, thesis §5.3 / etcd's findConflictByTerm). */
      readonly hintIndex: LogIndex;
      readonly hintTerm: Term;
    })
  | (Envelope & { readonly type: 'heartbeat'; readonly commit: LogIndex; readonly context: number })
  | (Envelope & { readonly type: 'heartbeatResponse'; readonly context: number })
  | (Envelope & {
      readonly type: 'vote' | 'preVote';
      readonly lastIndex: LogIndex;
      readonly lastTerm: Term;
      /** Set when campaigning because of a leadership transfer: voters ignore their leader lease. */
      readonly transfer: boolean;
    })
  | (Envelope & { readonly type: 'voteResponse' | 'preVoteResponse'; readonly reject: boolean })
  | (Envelope & { readonly type: 'snapshot'; readonly snapshot: SnapshotMeta })
  | (Envelope & { readonly type: 'timeoutNow' })
  | (Envelope & { readonly type: 'readIndex'; readonly context: number })
  | (Envelope & { readonly type: 'readIndexResponse'; readonly context: number; readonly index: LogIndex; readonly reject: boolean })
  | (Envelope & { readonly type: 'transferLeadership'; readonly transferee: NodeId });

export type MessageType = Message['type'];
