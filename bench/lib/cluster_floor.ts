// The least a replicated Node store must do per write, over NATS, run as one process per
// node by bench/compare.ts (startFloorCluster in processes.ts): the floor under the raftis
// cluster, as floor_server.ts is under one raftis node. Not Raft and not a store for
// anything else: no terms, no elections, no retransmission, no SQLite, no command table.
//
// The leader answers SET (and what ioredis asks at connect) with raftis's RESP decoder and
// a Map. The SETs of one event-loop turn form a batch: encoded once (key and value with
// their lengths), published to every follower as one core NATS message (subject
// `floor.<node id>`), appended to the leader's file and fdatasynced in the thread pool,
// as the raftis leader does. A follower appends each turn's batches to its file,
// fdatasyncs once, applies them to its Map and publishes one acknowledgement (the highest
// batch it holds) to `floor.<leader id>`. A batch's replies are written once the leader's
// fsync and a majority's (the leader counts) cover it, one write per client read.
// NATS messages are not retransmitted: a lost one would only stall the bench, never
// corrupt it (an acknowledgement covers every batch up to its number).
//
// usage: node bench/lib/cluster_floor.ts --id ID --dir DIR --nats URL
//          (--peers ID,... on the leader | --leader ID on a follower)
// prints "listening on 127.0.0.1:PORT" (leader) or "following ID" (follower) when ready.

import { closeSync, fdatasync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { RequestDecoder } from '../../protocol/index.ts';

const { values } = parseArgs({
  options: {
    id: { type: 'string' },
    dir: { type: 'string' },
    nats: { type: 'string' },
    peers: { type: 'string' },
    leader: { type: 'string' },
  },
});
const { id, dir, nats: natsUrl } = values;
if (id === undefined || dir === undefined || natsUrl === undefined || (values.peers === undefined) === (values.leader === undefined)) {
  process.stderr.write('usage: node bench/lib/cluster_floor.ts --id ID --dir DIR --nats URL (--peers ID,... | --leader ID)\n');
  process.exit(2);
}
const SUBJECT = 'floor.';
const log = openSync(join(dir, 'floor.log'), 'a');
const data = new Map<string, Buffer>();
const nc = await connect({ servers: natsUrl, name: `floor-${id}` });

/** Appends one SET's key and value to `parts` as [u32 key length][key][u32 value length][value]. */
function encodeSet(parts: Buffer[], key: Buffer, value: Buffer): number {
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32LE(key.length, 0);
  const mid = Buffer.allocUnsafe(4);
  mid.writeUInt32LE(value.length, 0);
  parts.push(head, key, mid, value);
  return 8 + key.length + value.length;
}

/** Applies a batch's SETs (the bytes after its 8-byte number) to the Map. */
function applyBatch(batch: Buffer): void {
  for (let at = 8; at < batch.length; ) {
    const keyLen = batch.readUInt32LE(at);
    const key = batch.toString('latin1', at + 4, at + 4 + keyLen);
    at += 4 + keyLen;
    const valueLen = batch.readUInt32LE(at);
    data.set(key, batch.subarray(at + 4, at + 4 + valueLen));
    at += 4 + valueLen;
  }
}

if (values.leader !== undefined) follow(nc, values.leader);
else lead(nc, values.peers!.split(','));

function follow(conn: NatsConnection, leader: string): void {
  let received: Buffer[] = [];
  let highest = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    const batches = received;
    received = [];
    writeSync(log, batches.length === 1 ? batches[0]! : Buffer.concat(batches));
    fdatasyncSync(log);
    for (const b of batches) applyBatch(b);
    const ack = Buffer.allocUnsafe(8 + Buffer.byteLength(id!));
    ack.writeDoubleLE(highest, 0);
    ack.write(id!, 8, 'latin1');
    conn.publish(SUBJECT + leader, ack);
  };
  conn.subscribe(SUBJECT + id, {
    callback: (err, msg) => {
      if (err !== null) return;
      const batch = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
      highest = Math.max(highest, batch.readDoubleLE(0));
      received.push(batch);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
  });
  void conn.flush().then(() => process.stdout.write(`following ${leader}\n`));
}

function lead(conn: NatsConnection, peers: readonly string[]): void {
  const OK = Buffer.from('+OK\r\n');
  /** Followers' acknowledgements must reach this many for a majority (the leader counts). */
  const followersNeeded = Math.floor((peers.length + 1) / 2);
  const acked = new Map<string, number>(peers.map((p) => [p, 0]));
  let batchNo = 0;
  let durable = 0;
  let parts: Buffer[] = [];
  let partsBytes = 0;
  /** Replies waiting for their batch, in batch order; `queued` holds sockets with one waiting. */
  let waiting: Array<{ readonly socket: Socket; readonly reply: Buffer; readonly batch: number }> = [];
  const queued = new Map<Socket, number>();
  let scheduled = false;

  const release = (): void => {
    const agreed = [...acked.values()].sort((a, b) => b - a)[followersNeeded - 1] ?? 0;
    const upTo = Math.min(durable, agreed);
    let n = 0;
    while (n < waiting.length && waiting[n]!.batch <= upTo) {
      const w = waiting[n++]!;
      if (!w.socket.destroyed) w.socket.write(w.reply);
      if (queued.get(w.socket) === w.batch) queued.delete(w.socket);
    }
    if (n > 0) waiting = waiting.slice(n);
  };

  const commit = (): void => {
    scheduled = false;
    const head = Buffer.allocUnsafe(8);
    head.writeDoubleLE(batchNo, 0);
    const batch = Buffer.concat([head, ...parts], 8 + partsBytes);
    parts = [];
    partsBytes = 0;
    for (const p of peers) conn.publish(SUBJECT + p, batch);
    writeSync(log, batch);
    const mine = batchNo;
    fdatasync(log, (err) => {
      if (err) throw err;
      durable = Math.max(durable, mine);
      release();
    });
  };

  conn.subscribe(SUBJECT + id, {
    callback: (err, msg) => {
      if (err !== null) return;
      const ack = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
      const from = ack.toString('latin1', 8);
      acked.set(from, Math.max(acked.get(from) ?? 0, ack.readDoubleLE(0)));
      release();
    },
  });

  /** One command's reply, or null for a SET (answered when its batch is agreed). */
  const execute = (args: Buffer[]): Buffer | null => {
    const name = args[0]!.toString('latin1').toLowerCase();
    if (name === 'set' && args.length >= 3) {
      data.set(args[1]!.toString('latin1'), args[2]!);
      partsBytes += encodeSet(parts, args[1]!, args[2]!);
      return null;
    }
    if (name === 'ping') return Buffer.from('+PONG\r\n');
    if (name === 'info') return Buffer.from('$0\r\n\r\n'); // ioredis's ready check: nothing loading
    if (name === 'client' || name === 'select') return OK;
    // As Redis 5 answers HELLO: ioredis then speaks RESP2.
    return Buffer.from(`-ERR unknown command '${name}'\r\n`);
  };

  const server = createServer((socket) => {
    socket.setNoDelay(true);
    const decoder = new RequestDecoder();
    socket.on('data', (chunk: Buffer) => {
      if (decoder.push(chunk) !== undefined) return socket.destroy();
      const replies: Buffer[] = [];
      let wrote = false;
      for (let args = decoder.next(); args !== undefined; args = decoder.next()) {
        if (!Array.isArray(args)) return socket.destroy();
        const r = execute(args);
        if (r === null) {
          wrote = true;
          replies.push(OK);
        } else replies.push(r);
      }
      if (replies.length === 0) return;
      const reply = replies.length === 1 ? replies[0]! : Buffer.concat(replies);
      if (!wrote && !queued.has(socket)) {
        socket.write(reply);
        return;
      }
      // This turn's batch; a reply that only reads waits for its socket's last SETs.
      if (wrote && !scheduled) {
        batchNo++;
        scheduled = true;
        setImmediate(commit);
      }
      const batch = wrote ? batchNo : queued.get(socket)!;
      waiting.push({ socket, reply, batch });
      queued.set(socket, batch);
    });
    socket.on('error', () => socket.destroy());
  });

  void conn.flush().then(() =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      process.stdout.write(`listening on 127.0.0.1:${port}\n`);
    }),
  );
}

process.on('SIGTERM', () => {
  process.stdout.write(`stopping: ${data.size} keys\n`); // test/bench/cluster_floor.test.ts checks every node holds them all
  void nc.close().finally(() => {
    closeSync(log);
    process.exit(0);
  });
});
