// Helpers for snapshot streaming tests: seeded random files written in slices (never
// the whole file in memory), file digests, and the wiring of a sender and a receiver
// to any pair of send functions.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { NodeId } from '../../consensus/types.ts';
import { decodeFrame } from '../../src/replication/transport/codec.ts';
import type { SnapshotReceiver, SnapshotSender } from '../../src/replication/transport/snapshot_stream.ts';
import type { Prng } from '../support/prng.ts';

const SLICE_BYTES = 1 << 20;

/** Writes `bytes` seeded random bytes to `path`. */
export async function writeRandomFile(path: string, bytes: number, p: Prng): Promise<void> {
  const f = await open(path, 'w');
  try {
    for (let at = 0; at < bytes; at += SLICE_BYTES) {
      const n = Math.min(SLICE_BYTES, bytes - at);
      const words = new Uint32Array(Math.ceil(n / 4));
      for (let i = 0; i < words.length; i++) words[i] = p.next();
      await f.write(new Uint8Array(words.buffer, 0, n), 0, n, at);
    }
  } finally {
    await f.close();
  }
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const b of createReadStream(path)) h.update(b as Buffer);
  return h.digest('hex');
}

/** Routes a decoded frame to the sender (acks) or the receiver (chunks); anything else is a test bug. */
export function route(from: NodeId, frame: Uint8Array, parts: { sender?: SnapshotSender; receiver?: SnapshotReceiver }): void {
  const f = decodeFrame(frame);
  if (f.kind === 'snapshotAck' && parts.sender) parts.sender.handleAck(from, f);
  else if (f.kind === 'snapshotChunk' && parts.receiver) parts.receiver.handleChunk(from, f);
  else throw new Error(`unexpected ${f.kind} frame from ${from}`);
}
