// A 20 MiB snapshot between two NatsTransports through a real nats-server arrives
// byte-identical, also when fault injection drops 10% of the chunks (retransmission).
// Bounded in time; the chunks stay under the server's payload limit.

import test, { type ExecutionContext } from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogIndex, NodeId, Term } from '../../consensus/types.ts';
import { FRAME_TYPE, NatsTransport, SNAPSHOT_CHUNK_OVERHEAD_BYTES_MAX, SnapshotReceiver, SnapshotSender } from '../../src/replication/transport/index.ts';
import { Prng } from '../support/prng.ts';
import { within } from '../support/wait.ts';
import { memoryLog, startNats } from './nats_server.ts';
import { route, sha256File, writeRandomFile } from './snapshot_kit.ts';

const SNAPSHOT_BYTES = 20 * 1024 * 1024;
const CHUNK_BYTES = 256 * 1024;
const TRANSFER_TIMEOUT_MS = 60_000;

async function transfer(t: ExecutionContext, lossRate: number, ackTimeoutMs: number): Promise<{ chunksSent: number; chunksDropped: number }> {
  const nats = await startNats(t);
  const dir = await mkdtemp(join(tmpdir(), 'raftis-snap-nats-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const transports = ['leader', 'follower'].map((name) => {
    const tr = new NatsTransport({ servers: [`127.0.0.1:${nats.port}`], clusterId: 'snap', nodeId: name as NodeId, logger: memoryLog(name), faultInjection: true });
    t.teardown(() => tr.close());
    return tr;
  });
  const [leader, follower] = transports as [NatsTransport, NatsTransport];
  await Promise.all(transports.map((tr) => tr.start()));
  t.true(CHUNK_BYTES + SNAPSHOT_CHUNK_OVERHEAD_BYTES_MAX <= leader.maxFrameBytes());

  let chunksSent = 0;
  let chunksDropped = 0;
  const p = new Prng(0x1055);
  leader.dropIf((direction, _peer, frame) => {
    if (direction !== 'out' || frame[1] !== FRAME_TYPE.snapshotChunk) return false;
    chunksSent++;
    const drop = p.chance(lossRate);
    if (drop) chunksDropped++;
    return drop;
  });

  const sender = new SnapshotSender({ send: (to, f) => leader.send(to, f), logger: memoryLog('sender'), chunkBytes: CHUNK_BYTES, windowChunks: 8, ackTimeoutMs, retriesMax: 10 });
  const receiver = new SnapshotReceiver({ dir: join(dir), send: (to, f) => follower.send(to, f), logger: memoryLog('receiver') });
  t.teardown(async () => {
    sender.close();
    await receiver.close();
  });
  leader.onFrame((from, frame) => route(from, frame, { sender }));
  follower.onFrame((from, frame) => route(from, frame, { receiver }));

  const src = join(dir, 'snapshot.db');
  await writeRandomFile(src, SNAPSHOT_BYTES, new Prng(2026));
  const result = await within(
    sender.send('follower' as NodeId, { path: src, index: 1234 as LogIndex, term: 5 as Term }),
    `a ${SNAPSHOT_BYTES}-byte transfer with ${lossRate * 100}% chunk loss`,
    TRANSFER_TIMEOUT_MS,
  );
  t.deepEqual(result, { ok: true, bytes: SNAPSHOT_BYTES });
  const got = receiver.latest();
  t.like(got, { from: 'leader', index: 1234, term: 5, bytes: SNAPSHOT_BYTES });
  t.is(await sha256File(got!.path), await sha256File(src), 'byte-identical');
  return { chunksSent, chunksDropped };
}

test('a 20 MiB snapshot streams over NATS byte-identical', async (t) => {
  const { chunksSent, chunksDropped } = await transfer(t, 0, 10_000); // a long timeout: no retransmission even on a loaded machine
  t.is(chunksDropped, 0);
  t.is(chunksSent, SNAPSHOT_BYTES / CHUNK_BYTES, 'no retransmission on a clean link');
});

test('a 20 MiB snapshot streams over NATS with 10% of chunks lost (retransmission)', async (t) => {
  const { chunksSent, chunksDropped } = await transfer(t, 0.1, 500);
  t.true(chunksDropped > 0);
  t.true(chunksSent > SNAPSHOT_BYTES / CHUNK_BYTES, `${chunksSent} chunks sent, ${chunksDropped} dropped`);
  t.log(`${chunksSent} chunks sent for ${SNAPSHOT_BYTES / CHUNK_BYTES}, ${chunksDropped} dropped`);
});
