// Owns putting a frame back together from the pieces a frame too large for one NATS
// message travels in (envelope.ts). No I/O. Invariants: a sender publishes a frame's pieces
// back to back and in order, and NATS keeps one publisher's messages in order, so any
// other payload from that sender before the last piece means a piece was lost: the frame
// is dropped, like a lost message (Raft and the forwarder retry). At most one frame per
// sender is held, of at most FRAGMENTED_FRAME_BYTES_MAX bytes.

import type { NodeId } from '../../../consensus/types.ts';
import type { FragmentPosition } from './envelope.ts';

/** The largest frame sent in pieces: a proposal of 64 MiB (the Raft core's limit) plus its message. */
export const FRAGMENTED_FRAME_BYTES_MAX = 80 * 1024 * 1024;

interface Partial {
  readonly id: number;
  readonly bytes: Buffer;
  received: number;
}

export class Reassembler {
  readonly #partial = new Map<NodeId, Partial>();
  /** Frames abandoned because a piece went missing. */
  lost = 0;

  /** A whole frame arrived from `from`: a frame it was sending in pieces will not complete. */
  whole(from: NodeId): void {
    if (this.#partial.delete(from)) this.lost++;
  }

  /** A piece arrived; returns the frame once its last piece is in, else null. */
  piece(from: NodeId, at: FragmentPosition, bytes: Uint8Array): Uint8Array | null {
    let p = this.#partial.get(from);
    if (p !== undefined && (p.id !== at.id || p.received !== at.offset)) {
      this.#partial.delete(from);
      this.lost++;
      p = undefined;
    }
    if (p === undefined) {
      // Only a first piece starts a frame; a later one without its start is a remnant of a lost one.
      if (at.offset !== 0 || at.total > FRAGMENTED_FRAME_BYTES_MAX || bytes.length === 0) return null;
      p = { id: at.id, bytes: Buffer.allocUnsafe(at.total), received: 0 };
      this.#partial.set(from, p);
    }
    p.bytes.set(bytes, p.received);
    p.received += bytes.length;
    if (p.received < p.bytes.length) return null;
    this.#partial.delete(from);
    return p.bytes;
  }
}
