// The layout of the Raft messages of consensus/types.ts on the wire: the body that
// follows the version and type bytes. Knows nothing of transport frames; codec.ts
// frames these bodies. Field order and widths are documented in docs/wire-format.md.
// Invariant: decodeMessageBody(type, encodeMessageBody(m)) is deep-equal to m.

import type { Config, Entry, EntryType, LogIndex, Message, NodeId, SnapshotMeta, Term } from '../../../consensus/types.ts';
import { FRAME_TYPE } from './frames.ts';
import type { Reader, Writer } from './wire_bytes.ts';

/** The smallest entry on the wire: type, term, index and data length of one byte each. */
const ENTRY_BYTES_MIN = 4;
/** The smallest node id on the wire: length byte and one byte of UTF-8. */
const NODE_ID_BYTES_MIN = 2;

const ENTRY_TYPE_NORMAL = 0;
const ENTRY_TYPE_CONFIG = 1;

export type MessageTypeCode = (typeof FRAME_TYPE)[Message['type']];

export function messageTypeCode(type: Message['type']): MessageTypeCode {
  return FRAME_TYPE[type];
}

/** Writes the envelope and the fields of `m` (not its type byte). */
export function writeMessageBody(w: Writer, m: Message): void {
  w.nodeId(m.from);
  w.nodeId(m.to);
  w.varint(m.term, 'term');
  switch (m.type) {
    case 'append':
      w.varint(m.prevIndex, 'prevIndex');
      w.varint(m.prevTerm, 'prevTerm');
      w.varint(m.commit, 'commit');
      w.varint(m.entries.length, 'entry count');
      for (const e of m.entries) writeEntry(w, e);
      return;
    case 'appendResponse':
      w.varint(m.index, 'index');
      w.bool(m.reject);
      w.varint(m.hintIndex, 'hintIndex');
      w.varint(m.hintTerm, 'hintTerm');
      return;
    case 'heartbeat':
      w.varint(m.commit, 'commit');
      w.varint(m.context, 'context');
      return;
    case 'heartbeatResponse':
    case 'readIndex':
      w.varint(m.context, 'context');
      return;
    case 'vote':
    case 'preVote':
      w.varint(m.lastIndex, 'lastIndex');
      w.varint(m.lastTerm, 'lastTerm');
      w.bool(m.transfer);
      return;
    case 'voteResponse':
    case 'preVoteResponse':
      w.bool(m.reject);
      return;
    case 'snapshot':
      writeSnapshotMeta(w, m.snapshot);
      return;
    case 'timeoutNow':
      return;
    case 'readIndexResponse':
      w.varint(m.context, 'context');
      w.varint(m.index, 'index');
      w.bool(m.reject);
      return;
    case 'transferLeadership':
      w.nodeId(m.transferee);
      return;
    default:
      return unreachable(m);
  }
}

/** Reads the body of a message whose type byte was `code`; null when `code` is not a message type. */
export function readMessageBody(r: Reader, code: number): Message | null {
  if (code < FRAME_TYPE.append || code > FRAME_TYPE.transferLeadership) return null;
  const from = r.nodeId('from') as NodeId;
  const to = r.nodeId('to') as NodeId;
  const term = r.varint('term') as Term;
  switch (code) {
    case FRAME_TYPE.append: {
      const prevIndex = r.varint('prevIndex') as LogIndex;
      const prevTerm = r.varint('prevTerm') as Term;
      const commit = r.varint('commit') as LogIndex;
      const n = r.count('entry count', ENTRY_BYTES_MIN);
      const entries: Entry[] = [];
      for (let i = 0; i < n; i++) entries.push(readEntry(r));
      return { type: 'append', from, to, term, prevIndex, prevTerm, entries, commit };
    }
    case FRAME_TYPE.appendResponse: {
      const index = r.varint('index') as LogIndex;
      const reject = r.bool('reject');
      const hintIndex = r.varint('hintIndex') as LogIndex;
      const hintTerm = r.varint('hintTerm') as Term;
      return { type: 'appendResponse', from, to, term, index, reject, hintIndex, hintTerm };
    }
    case FRAME_TYPE.heartbeat: {
      const commit = r.varint('commit') as LogIndex;
      return { type: 'heartbeat', from, to, term, commit, context: r.varint('context') };
    }
    case FRAME_TYPE.heartbeatResponse:
      return { type: 'heartbeatResponse', from, to, term, context: r.varint('context') };
    case FRAME_TYPE.vote:
    case FRAME_TYPE.preVote: {
      const lastIndex = r.varint('lastIndex') as LogIndex;
      const lastTerm = r.varint('lastTerm') as Term;
      const transfer = r.bool('transfer');
      return { type: code === FRAME_TYPE.vote ? 'vote' : 'preVote', from, to, term, lastIndex, lastTerm, transfer };
    }
    case FRAME_TYPE.voteResponse:
    case FRAME_TYPE.preVoteResponse:
      return { type: code === FRAME_TYPE.voteResponse ? 'voteResponse' : 'preVoteResponse', from, to, term, reject: r.bool('reject') };
    case FRAME_TYPE.snapshot:
      return { type: 'snapshot', from, to, term, snapshot: readSnapshotMeta(r) };
    case FRAME_TYPE.timeoutNow:
      return { type: 'timeoutNow', from, to, term };
    case FRAME_TYPE.readIndex:
      return { type: 'readIndex', from, to, term, context: r.varint('context') };
    case FRAME_TYPE.readIndexResponse: {
      const context = r.varint('context');
      const index = r.varint('index') as LogIndex;
      const reject = r.bool('reject');
      return { type: 'readIndexResponse', from, to, term, context, index, reject };
    }
    case FRAME_TYPE.transferLeadership:
      return { type: 'transferLeadership', from, to, term, transferee: r.nodeId('transferee') as NodeId };
    default:
      return r.fail(`message type ${code} has no layout`);
  }
}

// Each entry carries its own index and term rather than deriving them from prevIndex:
// it costs two or three bytes per entry and keeps the codec free of Raft's invariants.
function writeEntry(w: Writer, e: Entry): void {
  w.u8(e.type === 'config' ? ENTRY_TYPE_CONFIG : ENTRY_TYPE_NORMAL);
  w.varint(e.term, 'entry term');
  w.varint(e.index, 'entry index');
  w.bytes(e.data);
}

function readEntry(r: Reader): Entry {
  const code = r.u8('entry type');
  if (code !== ENTRY_TYPE_NORMAL && code !== ENTRY_TYPE_CONFIG) r.fail(`unknown entry type ${code}`);
  const type: EntryType = code === ENTRY_TYPE_CONFIG ? 'config' : 'normal';
  const term = r.varint('entry term') as Term;
  const index = r.varint('entry index') as LogIndex;
  return { term, index, type, data: r.bytes('entry data') };
}

function writeSnapshotMeta(w: Writer, s: SnapshotMeta): void {
  w.varint(s.index, 'snapshot index');
  w.varint(s.term, 'snapshot term');
  writeIds(w, s.config.voters);
  writeIds(w, s.config.learners);
}

function readSnapshotMeta(r: Reader): SnapshotMeta {
  const index = r.varint('snapshot index') as LogIndex;
  const term = r.varint('snapshot term') as Term;
  const voters = readIds(r, 'voter');
  const learners = readIds(r, 'learner');
  const config: Config = { voters, learners };
  return { index, term, config };
}

function writeIds(w: Writer, ids: readonly NodeId[]): void {
  w.varint(ids.length, 'member count');
  for (const id of ids) w.nodeId(id);
}

function readIds(r: Reader, what: string): NodeId[] {
  const n = r.count(`${what} count`, NODE_ID_BYTES_MIN);
  const ids: NodeId[] = [];
  for (let i = 0; i < n; i++) ids.push(r.nodeId(what) as NodeId);
  return ids;
}

function unreachable(x: never): never {
  throw new Error(`unhandled message ${JSON.stringify(x)}`);
}
