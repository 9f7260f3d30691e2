// What NatsTransport puts around a frame on a NATS subject: the sender's node id, so
// the receiver knows who sent it without decoding the frame. Also the rule for ids
// that become subject tokens. No I/O.
//
// NATS payload: [envelope version u8 = 1][from length u8, 1..64][from UTF-8][frame]

import type { NodeId } from '../../../consensus/types.ts';
import { NODE_ID_BYTES_MAX } from './wire_bytes.ts';

export const ENVELOPE_VERSION = 1;
export const ENVELOPE_BYTES_MAX = 2 + NODE_ID_BYTES_MAX;

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

/** Splits a NATS payload into the sender's id and the frame; null if it is not an envelope of ours. */
export function parseEnvelope(payload: Uint8Array): { readonly from: NodeId; readonly frame: Uint8Array } | null {
  if (payload.length < 3 || payload[0] !== ENVELOPE_VERSION) return null;
  const n = payload[1]!;
  if (n === 0 || n > NODE_ID_BYTES_MAX || payload.length < 2 + n) return null;
  try {
    return { from: utf8Strict.decode(payload.subarray(2, 2 + n)) as NodeId, frame: payload.subarray(2 + n) };
  } catch {
    return null;
  }
}
