// The frames peers exchange: a Raft message, or one of the transport's own frames
// (snapshot data chunks and their acknowledgements, forwarded commands and their
// replies). Pure data and the wire constants; the layout lives in codec.ts and is
// documented in docs/wire-format.md.

import type { LogIndex, Message, NodeId, Term } from '../../../consensus/types.ts';

/** The first byte of every frame. Bump it when any frame's layout changes (docs/wire-format.md, "Versioning"). */
export const WIRE_VERSION = 1;

/** The second byte of every frame. Raft messages use 1..13, transport frames 32..35. */
export const FRAME_TYPE = {
  append: 1,
  appendResponse: 2,
  heartbeat: 3,
  heartbeatResponse: 4,
  vote: 5,
  preVote: 6,
  voteResponse: 7,
  preVoteResponse: 8,
  snapshot: 9,
  timeoutNow: 10,
  readIndex: 11,
  readIndexResponse: 12,
  transferLeadership: 13,
  snapshotChunk: 32,
  snapshotAck: 33,
  forwardRequest: 34,
  forwardResponse: 35,
} as const;

/** Identifies one forwarded command: the forwarding node and its own counter (never reused while the node lives). */
export interface CorrelationId {
  readonly node: NodeId;
  /** 0 ≤ seq < 2^64. */
  readonly seq: bigint;
}

/** Bytes `[offset, offset + data.length)` of the snapshot at (index, term), `totalBytes` long. */
export interface SnapshotChunk {
  readonly kind: 'snapshotChunk';
  readonly index: LogIndex;
  readonly term: Term;
  readonly offset: number;
  readonly totalBytes: number;
  /** Set on the chunk that ends at `totalBytes` (and only on it). */
  readonly last: boolean;
  readonly data: Uint8Array;
}

/**
 * `progress`: the receiver holds bytes `[0, ackedBytes)` in order (cumulative).
 * `done`: the whole snapshot is durable at the receiver. `refused`: the receiver will
 * not take this transfer (superseded, malformed, or a local I/O failure); stop.
 */
export type SnapshotAckStatus = 'progress' | 'done' | 'refused';

export interface SnapshotAck {
  readonly kind: 'snapshotAck';
  readonly index: LogIndex;
  readonly term: Term;
  readonly ackedBytes: number;
  readonly status: SnapshotAckStatus;
}

/** A command a follower forwards to the leader: the client's db and argv, and how many times it was re-sent. */
export interface ForwardRequest {
  readonly kind: 'forwardRequest';
  readonly id: CorrelationId;
  readonly db: number;
  readonly argv: readonly Uint8Array[];
  readonly retry: number;
}

/** The leader's answer to a ForwardRequest: the reply, encoded by the caller (opaque here). */
export interface ForwardResponse {
  readonly kind: 'forwardResponse';
  readonly id: CorrelationId;
  readonly reply: Uint8Array;
}

export type Frame =
  | { readonly kind: 'message'; readonly message: Message }
  | SnapshotChunk
  | SnapshotAck
  | ForwardRequest
  | ForwardResponse;

export type FrameKind = Frame['kind'];
