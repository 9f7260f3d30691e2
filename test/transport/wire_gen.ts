// Seeded random frames for codec tests: every Raft message variant and every transport
// frame, with contents drawn from the whole range the wire format allows (edge values
// included). One seed decides everything; never Math.random.

import type { Config, Entry, LogIndex, Message, NodeId, SnapshotMeta, Term } from '../../consensus/types.ts';
import type { Frame, FrameKind } from '../../src/replication/transport/frames.ts';
import type { Prng } from '../support/prng.ts';

export const MESSAGE_TYPES: readonly Message['type'][] = [
  'append', 'appendResponse', 'heartbeat', 'heartbeatResponse', 'vote', 'preVote', 'voteResponse',
  'preVoteResponse', 'snapshot', 'timeoutNow', 'readIndex', 'readIndexResponse', 'transferLeadership',
];
export const TRANSPORT_KINDS: readonly Exclude<FrameKind, 'message'>[] = ['snapshotChunk', 'snapshotAck', 'forwardRequest', 'forwardResponse'];

const ID_CHARS = ['a', 'z', '0', '-', '_', 'é', 'ß', '節', '点', '🙂'];

/** A safe integer ≥ 0, often small, sometimes at the edges. */
export function natural(p: Prng): number {
  switch (p.int(6)) {
    case 0: return 0;
    case 1: return Number.MAX_SAFE_INTEGER - p.int(3);
    case 2: return p.int(128);
    case 3: return p.next();
    case 4: return p.next() * 2 ** 21 + p.int(2 ** 21);
    default: return p.int(1 << 20);
  }
}

/** 1..64 bytes of UTF-8 (multi-byte characters included). */
export function genNodeId(p: Prng): NodeId {
  let s = '';
  const target = p.chance(0.2) ? 64 : p.range(1, 12);
  for (;;) {
    const c = p.pick(ID_CHARS);
    if (Buffer.byteLength(s + c) > target) break;
    s += c;
  }
  if (s === '') s = 'n';
  return s as NodeId;
}

export const genBytes = (p: Prng, max: number): Buffer => p.bytes(p.chance(0.2) ? 0 : p.int(max + 1));
const idx = (p: Prng): LogIndex => natural(p) as LogIndex;
const trm = (p: Prng): Term => natural(p) as Term;

function genEntries(p: Prng): Entry[] {
  const n = p.chance(0.2) ? 0 : p.range(1, 20);
  const entries: Entry[] = [];
  for (let i = 0; i < n; i++) entries.push({ term: trm(p), index: idx(p), type: p.chance(0.2) ? 'config' : 'normal', data: genBytes(p, 300) });
  return entries;
}

function genConfig(p: Prng): Config {
  const ids = (n: number): NodeId[] => Array.from({ length: n }, () => genNodeId(p));
  return { voters: ids(p.int(6)), learners: ids(p.int(3)) };
}

export function genMessage(p: Prng, type: Message['type']): Message {
  const env = { from: genNodeId(p), to: genNodeId(p), term: trm(p) };
  switch (type) {
    case 'append': return { ...env, type, prevIndex: idx(p), prevTerm: trm(p), entries: genEntries(p), commit: idx(p) };
    case 'appendResponse': return { ...env, type, index: idx(p), reject: p.chance(0.5), hintIndex: idx(p), hintTerm: trm(p) };
    case 'heartbeat': return { ...env, type, commit: idx(p), context: natural(p) };
    case 'heartbeatResponse': return { ...env, type, context: natural(p) };
    case 'vote':
    case 'preVote': return { ...env, type, lastIndex: idx(p), lastTerm: trm(p), transfer: p.chance(0.5) };
    case 'voteResponse':
    case 'preVoteResponse': return { ...env, type, reject: p.chance(0.5) };
    case 'snapshot': {
      const snapshot: SnapshotMeta = { index: idx(p), term: trm(p), config: genConfig(p) };
      return { ...env, type, snapshot };
    }
    case 'timeoutNow': return { ...env, type };
    case 'readIndex': return { ...env, type, context: natural(p) };
    case 'readIndexResponse': return { ...env, type, context: natural(p), index: idx(p), reject: p.chance(0.5) };
    case 'transferLeadership': return { ...env, type, transferee: genNodeId(p) };
  }
}

const seq = (p: Prng): bigint => (p.chance(0.2) ? (1n << 64n) - 1n : (BigInt(p.next()) << 32n) | BigInt(p.next()));

export function genTransportFrame(p: Prng, kind: Exclude<FrameKind, 'message'>): Frame {
  switch (kind) {
    case 'snapshotChunk': {
      const data = genBytes(p, 2000);
      const offset = natural(p) % (Number.MAX_SAFE_INTEGER - 4000);
      const last = data.length === 0 || p.chance(0.3);
      const totalBytes = data.length === 0 ? 0 : last ? offset + data.length : offset + data.length + 1 + p.int(1000);
      return { kind, index: idx(p), term: trm(p), offset: data.length === 0 ? 0 : offset, totalBytes, last, data };
    }
    case 'snapshotAck':
      return { kind, index: idx(p), term: trm(p), ackedBytes: natural(p), status: p.pick(['progress', 'done', 'refused'] as const) };
    case 'forwardRequest': {
      const argv = Array.from({ length: p.range(1, 8) }, () => genBytes(p, 100));
      return { kind, id: { node: genNodeId(p), seq: seq(p) }, db: p.int(16), argv, retry: p.int(5) };
    }
    case 'forwardResponse':
      return { kind, id: { node: genNodeId(p), seq: seq(p) }, reply: genBytes(p, 500) };
  }
}

export function genFrame(p: Prng): Frame {
  const k = p.int(MESSAGE_TYPES.length + TRANSPORT_KINDS.length);
  return k < MESSAGE_TYPES.length
    ? { kind: 'message', message: genMessage(p, MESSAGE_TYPES[k]!) }
    : genTransportFrame(p, TRANSPORT_KINDS[k - MESSAGE_TYPES.length]!);
}
