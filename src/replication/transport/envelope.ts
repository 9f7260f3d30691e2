// What NatsTransport puts around a frame on a NATS subject: the sender's node id, so
// the receiver knows who sent it without decoding the frame. Also the rule for ids
// that become subject tokens. No I/O.
//
// NATS payload, a whole frame:   [1][from length u8, 1..64][from UTF-8][frame]
// NATS payload, a frame's piece: [2][from length u8, 1..64][from UTF-8][u32 frame id]
//                                [u32 frame bytes][u32 offset of this piece][piece]
// NATS payload, several frames:  [3][from length u8, 1..64][from UTF-8][u32 n]
//                                n × [u32 frame bytes][frame]

import type { NodeId } from '../../../consensus/types.ts';
import { NODE_ID_BYTES_MAX } from './wire_bytes.ts';

export const ENVELOPE_VERSION = 1;
/** The first byte of a payload carrying a piece of a frame too large for one NATS message. */
export const FRAGMENT_ENVELOPE = 2;
export const FRAGMENT_HEADER_BYTES = 12;
/** The first byte of a payload carrying several whole frames, in order. */
export const BATCH_ENVELOPE = 3;
/** What a batch adds: its count, then a length per frame. */
export const BATCH_HEADER_BYTES = 4;
export const BATCH_FRAME_OVERHEAD_BYTES = 4;
export const ENVELOPE_BYTES_MAX = 2 + NODE_ID_BYTES_MAX;

/** Where a piece belongs: frame `id` (per sender) of `total` bytes, at `offset`. */
export interface FragmentPosition {
  readonly id: number;
  readonly total: number;
  readonly offset: number;
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A NATS subject token we can put a cluster or node id in: 1..64 bytes, no dots, wildcards or whitespace. */
export function checkSubjectToken(what: string, s: string): void {
  if (s.length === 0 || /[\s.*>]/u.test(s) || !s.isWellFormed() || utf8.encode(s).length > NODE_ID_BYTES_MAX) {
    throw new RangeError(`${what} ${JSON.stringify(s)} must be 1..${NODE_ID_BYTES_MAX} bytes with no '.', '*', '>' or whitespace`);
  }
}

/** The bytes in front of every frame this node sends. */
export function envelopeHeader(from: NodeId): Buffer {
  checkSubjectToken('node id', from);
  const id = utf8.encode(from);
  return Buffer.concat([Buffer.from([ENVELOPE_VERSION, id.length]), id]);
}

/** The payload carrying `piece` of a fragmented frame, behind the sender's `envelope` (envelopeHeader). */
export function fragmentPayload(envelope: Uint8Array, at: FragmentPosition, piece: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(envelope.length + FRAGMENT_HEADER_BYTES + piece.length);
  b.set(envelope, 0);
  b[0] = FRAGMENT_ENVELOPE;
  let o = b.writeUInt32LE(at.id >>> 0, envelope.length);
  o = b.writeUInt32LE(at.total, o);
  o = b.writeUInt32LE(at.offset, o);
  b.set(piece, o);
  return b;
}

/** The payload carrying `frames` (two or more, each whole), behind the sender's `envelope`. */
export function batchPayload(envelope: Uint8Array, frames: readonly Uint8Array[], frameBytes: number): Buffer {
  const b = Buffer.allocUnsafe(envelope.length + BATCH_HEADER_BYTES + frames.length * BATCH_FRAME_OVERHEAD_BYTES + frameBytes);
  b.set(envelope, 0);
  b[0] = BATCH_ENVELOPE;
  let o = b.writeUInt32LE(frames.length, envelope.length);
  for (const f of frames) {
    o = b.writeUInt32LE(f.length, o);
    b.set(f, o);
    o += f.length;
  }
  return b;
}

/** The frames of a batch payload's body (parseEnvelope's `frame` when `batch`); null if malformed. */
export function splitBatch(body: Uint8Array): Uint8Array[] | null {
  if (body.length < BATCH_HEADER_BYTES) return null;
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const n = dv.getUint32(0, true);
  const frames: Uint8Array[] = [];
  let o = BATCH_HEADER_BYTES;
  for (let i = 0; i < n; i++) {
    if (o + BATCH_FRAME_OVERHEAD_BYTES > body.length) return null;
    const len = dv.getUint32(o, true);
    o += BATCH_FRAME_OVERHEAD_BYTES;
    if (o + len > body.length) return null;
    frames.push(body.subarray(o, o + len));
    o += len;
  }
  return o === body.length ? frames : null;
}

/**
 * Splits a NATS payload into the sender's id and the frame (or, for a piece of a larger
 * frame, the piece and where it belongs; for a batch, its body: see splitBatch); null if
 * it is not an envelope of ours.
 */
export function parseEnvelope(
  payload: Uint8Array,
): { readonly from: NodeId; readonly frame: Uint8Array; readonly fragment: FragmentPosition | null; readonly batch: boolean } | null {
  const kind = payload[0];
  if (payload.length < 3 || (kind !== ENVELOPE_VERSION && kind !== FRAGMENT_ENVELOPE && kind !== BATCH_ENVELOPE)) return null;
  const n = payload[1]!;
  if (n === 0 || n > NODE_ID_BYTES_MAX || payload.length < 2 + n) return null;
  let from: NodeId;
  try {
    from = utf8Strict.decode(payload.subarray(2, 2 + n)) as NodeId;
  } catch {
    return null;
  }
  if (kind !== FRAGMENT_ENVELOPE) return { from, frame: payload.subarray(2 + n), fragment: null, batch: kind === BATCH_ENVELOPE };
  const at = 2 + n;
  if (payload.length < at + FRAGMENT_HEADER_BYTES) return null;
  const dv = new DataView(payload.buffer, payload.byteOffset + at, FRAGMENT_HEADER_BYTES);
  const fragment = { id: dv.getUint32(0, true), total: dv.getUint32(4, true), offset: dv.getUint32(8, true) };
  const frame = payload.subarray(at + FRAGMENT_HEADER_BYTES);
  if (fragment.offset + frame.length > fragment.total) return null;
  return { from, frame, fragment, batch: false };
}
