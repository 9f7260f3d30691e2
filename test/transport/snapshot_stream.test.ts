// Snapshot streaming over an in-memory link (delivery on a later turn, seeded loss and
// duplication): byte-identical files, flow control within the window, retransmission,
// bounded failure, superseding transfers, and the receiver's answers to stale,
// duplicate and out-of-order chunks.

import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogIndex, NodeId, Term } from '../../consensus/types.ts';
import { decodeFrame, encodeFrame } from '../../src/replication/transport/codec.ts';
import type { SnapshotAck, SnapshotChunk } from '../../src/replication/transport/frames.ts';
import { SnapshotReceiver, SnapshotSender, tempPathOf, type ReceivedSnapshot, type SnapshotSenderOptions } from '../../src/replication/transport/snapshot_stream.ts';
import { Prng } from '../support/prng.ts';
import { waitUntil, within } from '../support/wait.ts';
import { memoryLog } from './nats_server.ts';
import { route, sha256File, writeRandomFile } from './snapshot_kit.ts';

const LEADER = 'leader' as NodeId;
const FOLLOWER = 'follower' as NodeId;
const WAIT_MS = 20_000;
const ix = (n: number): LogIndex => n as LogIndex;
const tm = (n: number): Term => n as Term;

interface LinkOptions {
  /** Return true to drop (direction: 'chunk' to the receiver, 'ack' to the sender). */
  readonly drop?: (kind: 'chunk' | 'ack', frame: Uint8Array) => boolean;
  readonly duplicate?: () => boolean;
  readonly sender?: Partial<SnapshotSenderOptions>;
}

interface Link {
  readonly sender: SnapshotSender;
  readonly receiver: SnapshotReceiver;
  readonly dir: string;
  readonly received: ReceivedSnapshot[];
  readonly chunksSent: SnapshotChunk[];
  readonly acks: SnapshotAck[];
  /** Largest (end of a sent chunk − bytes acknowledged to the sender) seen. */
  inFlightMaxBytes: number;
}

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'raftis-snap-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function link(t: ExecutionContext, o: LinkOptions = {}): Promise<Link> {
  const dir = await tempDir(t);
  const later = (fn: () => void): void => void setImmediate(fn);
  let ackedToSender = 0;
  const l: Link = { dir, received: [], chunksSent: [], acks: [], inFlightMaxBytes: 0, sender: null!, receiver: null! };
  const deliver = (kind: 'chunk' | 'ack', frame: Uint8Array, fn: () => void): void => {
    if (o.drop?.(kind, frame)) return;
    later(fn);
    if (o.duplicate?.()) later(fn);
  };
  const sender = new SnapshotSender({
    logger: memoryLog('leader'),
    chunkBytes: 64 * 1024,
    windowChunks: 4,
    ackTimeoutMs: 100,
    retriesMax: 20,
    ...o.sender,
    send: (to, frame) => {
      const c = decodeFrame(frame);
      if (c.kind !== 'snapshotChunk' || to !== FOLLOWER) throw new Error('sender sent a non-chunk');
      l.chunksSent.push(c);
      l.inFlightMaxBytes = Math.max(l.inFlightMaxBytes, c.offset + c.data.length - ackedToSender);
      deliver('chunk', frame, () => route(LEADER, frame, { receiver }));
    },
  });
  const receiver = new SnapshotReceiver({
    dir,
    logger: memoryLog('follower'),
    onReceived: (s) => l.received.push(s),
    send: (to, frame) => {
      const a = decodeFrame(frame);
      if (a.kind !== 'snapshotAck' || to !== LEADER) throw new Error('receiver sent a non-ack');
      l.acks.push(a);
      deliver('ack', frame, () => {
        if (a.status === 'progress') ackedToSender = Math.max(ackedToSender, a.ackedBytes);
        route(FOLLOWER, frame, { sender });
      });
    },
  });
  t.teardown(async () => {
    sender.close();
    await receiver.close();
  });
  return Object.assign(l, { sender, receiver });
}

test('a file arrives byte-identical, within the window, without spurious retransmission', async (t) => {
  const l = await link(t, { sender: { ackTimeoutMs: 10_000 } });
  const src = join(await tempDir(t), 'snap');
  await writeRandomFile(src, 1024 * 1024 + 123, new Prng(1));
  const result = await within(l.sender.send(FOLLOWER, { path: src, index: ix(42), term: tm(3) }), 'the transfer', WAIT_MS);
  t.deepEqual(result, { ok: true, bytes: 1024 * 1024 + 123 });
  t.is(l.received.length, 1);
  const got = l.received[0]!;
  t.like(got, { from: LEADER, index: 42, term: 3, bytes: 1024 * 1024 + 123 });
  t.is(await sha256File(got.path), await sha256File(src));
  t.is(l.chunksSent.length, 17, '16 full chunks and a tail, each sent once');
  t.true(l.inFlightMaxBytes <= 4 * 64 * 1024, `in flight ${l.inFlightMaxBytes}`);
  t.false(existsSync(tempPathOf(l.dir, ix(42))));
  t.deepEqual(l.receiver.latest(), got);
  t.deepEqual(l.sender.activePeers(), []);
});

test('an empty snapshot transfers as one empty last chunk', async (t) => {
  const l = await link(t);
  const src = join(await tempDir(t), 'empty');
  await writeFile(src, '');
  t.deepEqual(await within(l.sender.send(FOLLOWER, { path: src, index: ix(1), term: tm(1) }), 'the transfer', WAIT_MS), { ok: true, bytes: 0 });
  t.is(l.received[0]!.bytes, 0);
  t.is(l.chunksSent.length, 1);
});

test('loss and duplication of chunks and acks: retransmission delivers the same bytes', async (t) => {
  const p = new Prng(99);
  let dropped = 0;
  const l = await link(t, {
    drop: (kind) => {
      const d = p.chance(kind === 'chunk' ? 0.2 : 0.1);
      if (d) dropped++;
      return d;
    },
    duplicate: () => p.chance(0.1),
  });
  const src = join(await tempDir(t), 'snap');
  await writeRandomFile(src, 3 * 1024 * 1024 + 7, new Prng(2));
  const result = await within(l.sender.send(FOLLOWER, { path: src, index: ix(7), term: tm(2) }), 'the lossy transfer', WAIT_MS);
  t.true(result.ok, JSON.stringify(result));
  t.true(dropped > 5);
  t.true(l.chunksSent.length > 49, `${l.chunksSent.length} chunks sent for 49`);
  t.is(await sha256File(l.received[0]!.path), await sha256File(src));
  t.true(l.inFlightMaxBytes <= 4 * 64 * 1024);
});

test('a receiver that never answers: the transfer fails after bounded retries', async (t) => {
  const l = await link(t, { drop: () => true, sender: { ackTimeoutMs: 1000, retriesMax: 1 } });
  const src = join(await tempDir(t), 'snap');
  await writeRandomFile(src, 300 * 1024, new Prng(3));
  const result = await within(l.sender.send(FOLLOWER, { path: src, index: ix(5), term: tm(1) }), 'the failure', WAIT_MS);
  t.like(result, { ok: false, reason: 'timeout' });
  // The window (4 chunks) went out, nothing past it without acks, and it was resent once.
  t.deepEqual([...new Set(l.chunksSent.map((c) => c.offset / 65536))].sort(), [0, 1, 2, 3]);
  t.is(l.chunksSent.filter((c) => c.offset === 0).length, 2);
  t.deepEqual(l.sender.activePeers(), []);
});

test('a missing file fails with io', async (t) => {
  const l = await link(t);
  const result = await l.sender.send(FOLLOWER, { path: join(l.dir, 'nope'), index: ix(5), term: tm(1) });
  t.like(result, { ok: false, reason: 'io' });
});

test('a newer snapshot supersedes a transfer under way, on both sides', async (t) => {
  let holdOld = false;
  const l = await link(t, { drop: (kind, frame) => holdOld && kind === 'chunk' && (decodeFrame(frame) as SnapshotChunk).index === 10 });
  const dir = await tempDir(t);
  await writeRandomFile(join(dir, 'old'), 2 * 1024 * 1024, new Prng(4));
  await writeRandomFile(join(dir, 'new'), 512 * 1024 + 1, new Prng(5));
  const old = l.sender.send(FOLLOWER, { path: join(dir, 'old'), index: ix(10), term: tm(1) });
  await waitUntil(() => l.acks.some((a) => a.index === 10 && a.ackedBytes > 0), 'the old transfer to be under way', WAIT_MS);
  holdOld = true;
  t.true(existsSync(tempPathOf(l.dir, ix(10))));
  // Joining the same snapshot returns the same transfer.
  t.is(l.sender.send(FOLLOWER, { path: join(dir, 'old'), index: ix(10), term: tm(1) }), old);

  const fresh = l.sender.send(FOLLOWER, { path: join(dir, 'new'), index: ix(20), term: tm(2) });
  t.like(await old, { ok: false, reason: 'superseded' });
  t.like(await within(fresh, 'the new transfer', WAIT_MS), { ok: true });
  t.false(existsSync(tempPathOf(l.dir, ix(10))), 'the old partial file is removed');
  t.is(await sha256File(l.receiver.latest()!.path), await sha256File(join(dir, 'new')));
  t.deepEqual((await readdir(l.dir)).sort(), ['snapshot.recv.20-2.snap']);

  // A late chunk of the old snapshot is refused; a repeat of the new one is acked done.
  const acksBefore = l.acks.length;
  const late = l.chunksSent.find((c) => c.index === 10)!;
  l.receiver.handleChunk(LEADER, late);
  l.receiver.handleChunk(LEADER, l.chunksSent.findLast((c) => c.index === 20)!);
  await l.receiver.idle();
  t.deepEqual(l.acks.slice(acksBefore).map((a) => [a.index, a.status]), [[10, 'refused'], [20, 'done']]);
});

test('the receiver writes in order only: duplicates and gaps get the cumulative ack', async (t) => {
  const dir = await tempDir(t);
  const acks: SnapshotAck[] = [];
  const r = new SnapshotReceiver({ dir, logger: memoryLog('r'), send: (_to, f) => void acks.push(decodeFrame(f) as SnapshotAck) });
  t.teardown(() => r.close());
  const chunk = (offset: number, len: number): SnapshotChunk => {
    const f = encodeFrame({ kind: 'snapshotChunk', index: ix(3), term: tm(1), offset, totalBytes: 30, last: offset + len === 30, data: Buffer.alloc(len, 0x41 + offset / 10) });
    return decodeFrame(f) as SnapshotChunk;
  };
  for (const [offset, from] of [[10, LEADER], [0, LEADER], [0, LEADER], [20, LEADER], [10, 'other' as NodeId], [10, LEADER], [20, LEADER]] as const) {
    r.handleChunk(from, chunk(offset, 10));
  }
  await r.idle();
  t.deepEqual(acks.map((a) => `${a.status}:${a.ackedBytes}`), [
    'refused:0', // a new transfer must start at 0
    'progress:10',
    'progress:10', // duplicate
    'progress:10', // past a gap
    'refused:0', // another sender, mid-transfer
    'progress:20',
    'done:30',
  ]);
  t.is(await sha256File(r.latest()!.path), await sha256File(await (async () => {
    const p = join(dir, 'expected');
    await writeFile(p, Buffer.concat([Buffer.alloc(10, 0x41), Buffer.alloc(10, 0x42), Buffer.alloc(10, 0x43)]));
    return p;
  })()));
});

test('the receiver queue is bounded: chunks beyond it are dropped', async (t) => {
  const dir = await tempDir(t);
  const r = new SnapshotReceiver({ dir, logger: memoryLog('r'), send: () => undefined, queuedChunksMax: 4 });
  t.teardown(() => r.close());
  const data = Buffer.alloc(8);
  for (let i = 0; i < 10; i++) r.handleChunk(LEADER, { kind: 'snapshotChunk', index: ix(1), term: tm(1), offset: i * 8, totalBytes: 800, last: false, data });
  t.is(r.chunksDropped, 5, 'one chunk is being written, four wait');
  await r.idle();
});
