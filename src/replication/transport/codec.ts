// Encodes and decodes whole frames: [version u8][type u8][body]. Raft message bodies
// come from message_codec.ts; the transport's own frames (snapshot chunks and acks,
// forwarded commands and replies) are laid out here. See docs/wire-format.md.
// Invariants: decoding is strict (known version and type, no truncation, no trailing
// bytes, canonical varints, valid UTF-8 ids), and decodeFrame(encodeFrame(f)) deep-equals f.
// Decoded byte fields are views into the input buffer, not copies.

import type { LogIndex, Message, NodeId, Term } from '../../../consensus/types.ts';
import {
  FRAME_TYPE,
  WIRE_VERSION,
  type CorrelationId,
  type Frame,
  type ForwardRequest,
  type ForwardResponse,
  type SnapshotAck,
  type SnapshotAckStatus,
  type SnapshotChunk,
} from './frames.ts';
import { messageTypeCode, readMessageBody, writeMessageBody } from './message_codec.ts';
import { Reader, Writer } from './wire_bytes.ts';
import { WireDecodeError, WireEncodeError } from './wire_errors.ts';

/**
 * The most bytes a snapshot chunk frame adds around its data: version, type, four
 * varints of at most 8 bytes, the last flag and the data length varint. A chunk of
 * `d` bytes encodes to at most `d + SNAPSHOT_CHUNK_OVERHEAD_BYTES_MAX` bytes.
 */
export const SNAPSHOT_CHUNK_OVERHEAD_BYTES_MAX = 2 + 4 * 8 + 1 + 8;

const ACK_STATUS: readonly SnapshotAckStatus[] = ['progress', 'done', 'refused'];
/** The smallest argv element on the wire: a length byte. */
const ARG_BYTES_MIN = 1;

export function encodeFrame(f: Frame): Buffer {
  const w = new Writer(estimateBytes(f));
  w.u8(WIRE_VERSION);
  switch (f.kind) {
    case 'message':
      w.u8(messageTypeCode(f.message.type));
      writeMessageBody(w, f.message);
      break;
    case 'snapshotChunk':
      w.u8(FRAME_TYPE.snapshotChunk);
      writeChunk(w, f);
      break;
    case 'snapshotAck':
      w.u8(FRAME_TYPE.snapshotAck);
      w.varint(f.index, 'snapshot index');
      w.varint(f.term, 'snapshot term');
      w.varint(f.ackedBytes, 'ackedBytes');
      w.u8(ACK_STATUS.indexOf(f.status));
      break;
    case 'forwardRequest':
      w.u8(FRAME_TYPE.forwardRequest);
      writeCorrelationId(w, f.id);
      w.varint(f.db, 'db');
      w.varint(f.retry, 'retry');
      w.varint(f.argv.length, 'argc');
      for (const a of f.argv) w.bytes(a);
      break;
    case 'forwardResponse':
      w.u8(FRAME_TYPE.forwardResponse);
      writeCorrelationId(w, f.id);
      w.bytes(f.reply);
      break;
    default:
      return unreachable(f);
  }
  return w.finish();
}

/** Encodes a Raft message as a frame. */
export const encodeMessage = (message: Message): Buffer => encodeFrame({ kind: 'message', message });

/** Decodes one whole frame; throws WireDecodeError on anything but a valid frame of a known version. */
export function decodeFrame(bytes: Uint8Array): Frame {
  const r = new Reader(bytes);
  const version = r.u8('version');
  if (version !== WIRE_VERSION) throw new WireDecodeError(`unknown wire version ${version} (this node speaks ${WIRE_VERSION})`, 0);
  const code = r.u8('frame type');
  const frame = readBody(r, code);
  r.end();
  return frame;
}

function readBody(r: Reader, code: number): Frame {
  const message = readMessageBody(r, code);
  if (message !== null) return { kind: 'message', message };
  switch (code) {
    case FRAME_TYPE.snapshotChunk:
      return readChunk(r);
    case FRAME_TYPE.snapshotAck:
      return readAck(r);
    case FRAME_TYPE.forwardRequest:
      return readForwardRequest(r);
    case FRAME_TYPE.forwardResponse: {
      const id = readCorrelationId(r);
      const f: ForwardResponse = { kind: 'forwardResponse', id, reply: r.bytes('reply') };
      return f;
    }
    default:
      throw new WireDecodeError(`unknown frame type ${code}`, 1);
  }
}

function writeChunk(w: Writer, c: SnapshotChunk): void {
  const problem = chunkProblem(c.offset, c.data.length, c.totalBytes, c.last);
  if (problem !== null) throw new WireEncodeError(`snapshot chunk: ${problem}`);
  w.varint(c.index, 'snapshot index');
  w.varint(c.term, 'snapshot term');
  w.varint(c.offset, 'offset');
  w.varint(c.totalBytes, 'totalBytes');
  w.bool(c.last);
  w.bytes(c.data);
}

function readChunk(r: Reader): SnapshotChunk {
  const index = r.varint('snapshot index') as LogIndex;
  const term = r.varint('snapshot term') as Term;
  const offset = r.varint('offset');
  const totalBytes = r.varint('totalBytes');
  const last = r.bool('last');
  const data = r.bytes('chunk data');
  const problem = chunkProblem(offset, data.length, totalBytes, last);
  if (problem !== null) r.fail(`snapshot chunk: ${problem}`);
  return { kind: 'snapshotChunk', index, term, offset, totalBytes, last, data };
}

/** A chunk lies inside the snapshot, is empty only for an empty snapshot, and is `last` exactly when it reaches the end. */
function chunkProblem(offset: number, dataBytes: number, totalBytes: number, last: boolean): string | null {
  if (offset + dataBytes > totalBytes) return `bytes [${offset}, ${offset + dataBytes}) lie beyond totalBytes ${totalBytes}`;
  if (dataBytes === 0 && totalBytes !== 0) return 'empty chunk of a non-empty snapshot';
  if (last !== (offset + dataBytes === totalBytes)) return `last=${last} but the chunk ends at ${offset + dataBytes} of ${totalBytes}`;
  return null;
}

function readAck(r: Reader): SnapshotAck {
  const index = r.varint('snapshot index') as LogIndex;
  const term = r.varint('snapshot term') as Term;
  const ackedBytes = r.varint('ackedBytes');
  const code = r.u8('ack status');
  const status = ACK_STATUS[code];
  if (status === undefined) return r.fail(`unknown ack status ${code}`);
  return { kind: 'snapshotAck', index, term, ackedBytes, status };
}

function readForwardRequest(r: Reader): ForwardRequest {
  const id = readCorrelationId(r);
  const db = r.varint('db');
  const retry = r.varint('retry');
  const argc = r.count('argc', ARG_BYTES_MIN);
  const argv: Uint8Array[] = [];
  for (let i = 0; i < argc; i++) argv.push(r.bytes('argument'));
  return { kind: 'forwardRequest', id, db, argv, retry };
}

function writeCorrelationId(w: Writer, id: CorrelationId): void {
  w.nodeId(id.node);
  w.u64(id.seq, 'correlation seq');
}

function readCorrelationId(r: Reader): CorrelationId {
  const node = r.nodeId('correlation node') as NodeId;
  return { node, seq: r.u64('correlation seq') };
}

function estimateBytes(f: Frame): number {
  switch (f.kind) {
    case 'message':
      if (f.message.type !== 'append') return 192;
      return 192 + f.message.entries.reduce((n, e) => n + e.data.length + 20, 0);
    case 'snapshotChunk':
      return f.data.length + SNAPSHOT_CHUNK_OVERHEAD_BYTES_MAX;
    case 'snapshotAck':
      return 32;
    case 'forwardRequest':
      return 96 + f.argv.reduce((n, a) => n + a.length + 5, 0);
    case 'forwardResponse':
      return 96 + f.reply.length;
    default:
      return unreachable(f);
  }
}

function unreachable(x: never): never {
  throw new Error(`unhandled frame ${JSON.stringify(x)}`);
}
