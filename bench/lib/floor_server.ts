// The least a Node server must do to answer redis-benchmark's SET and GET, run as its own
// process by bench/node_floor.ts: raftis's own RESP decoder (protocol/), a Map of the
// keys (latin1 strings) to their values, replies written once per client per read, and
// with `--fsync always` every read's commands appended to a file that is fdatasynced
// once per event-loop turn before any of that turn's replies go out (Redis's
// appendfsync always, group commit). XADD is answered with a new ID, its entry logged and
// dropped. No Raft, no SQLite, no command table, no limits:
// what raftis costs beyond it is raftis's own work. Not a server for anything else.
//
// usage: node bench/lib/floor_server.ts --dir DIR --fsync always|no   (prints "listening on 127.0.0.1:PORT")

import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RequestDecoder } from '../../protocol/index.ts';

const { values } = parseArgs({ options: { dir: { type: 'string' }, fsync: { type: 'string', default: 'always' } } });
if (values.dir === undefined || (values.fsync !== 'always' && values.fsync !== 'no')) {
  process.stderr.write('usage: node bench/lib/floor_server.ts --dir DIR --fsync always|no\n');
  process.exit(2);
}
const durable = values.fsync === 'always';
const aof = openSync(join(values.dir, 'floor.aof'), 'a');

const OK = Buffer.from('+OK\r\n');
const NIL = Buffer.from('$-1\r\n');
const CRLF = Buffer.from('\r\n');
const data = new Map<string, Buffer>();
let lastMs = 0;
let seq = 0;

/** This turn's log bytes and the replies that wait for their fsync. */
let logged: Buffer[] = [];
let waiting: Array<{ readonly socket: Socket; readonly reply: Buffer }> = [];
let scheduled = false;
/** Sockets with replies in `waiting`: their next replies queue behind them, in order. */
const queued = new Set<Socket>();

function commit(): void {
  scheduled = false;
  if (logged.length > 0) {
    writeSync(aof, logged.length === 1 ? logged[0]! : Buffer.concat(logged));
    fdatasyncSync(aof);
  }
  const ready = waiting;
  logged = [];
  waiting = [];
  queued.clear();
  for (const { socket, reply } of ready) if (!socket.destroyed) socket.write(reply);
}

/** Replies of one read, written into one buffer (grown when a read's replies need more). */
let out = Buffer.allocUnsafe(64 * 1024);
let outLen = 0;

function room(bytes: number): void {
  if (outLen + bytes <= out.length) return;
  const bigger = Buffer.allocUnsafe(Math.max(2 * out.length, outLen + bytes));
  out.copy(bigger, 0, 0, outLen);
  out = bigger;
}

function put(bytes: Buffer): void {
  room(bytes.length);
  outLen += bytes.copy(out, outLen);
}

/** Runs one command, its reply into `out`; true if it wrote. */
function execute(args: Buffer[]): boolean {
  const name = args[0]!.toString('latin1').toLowerCase();
  if (name === 'set' && args.length >= 3) {
    data.set(args[1]!.toString('latin1'), args[2]!);
    put(OK);
    return true;
  }
  if (name === 'get' && args.length === 2) {
    const v = data.get(args[1]!.toString('latin1'));
    if (v === undefined) put(NIL);
    else {
      room(v.length + 16);
      out[outLen++] = 0x24; // '$'
      outLen += out.write(String(v.length), outLen, 'latin1');
      put(CRLF);
      put(v);
      put(CRLF);
    }
    return false;
  }
  if (name === 'xadd' && args.length >= 5) {
    // The entry is logged (with fsync) and dropped: a lower bound for any stream.
    const ms = Math.max(Date.now(), lastMs);
    seq = ms === lastMs ? seq + 1 : 0;
    lastMs = ms;
    const id = `${ms}-${seq}`;
    room(id.length + 16);
    outLen += out.write(`$${id.length}\r\n${id}\r\n`, outLen, 'latin1');
    return true;
  }
  // redis-benchmark asks CONFIG GET save and appendonly at start: each gets an empty value.
  if (name === 'config' && args.length === 3) {
    put(Buffer.from(`*2\r\n$${args[2]!.length}\r\n`));
    put(args[2]!);
    put(Buffer.from('\r\n$0\r\n\r\n'));
  } else if (name === 'ping') put(Buffer.from('+PONG\r\n'));
  else if (name === 'info') put(Buffer.from('$0\r\n\r\n')); // ioredis's ready check: nothing loading
  else put(Buffer.from(`-ERR unknown command '${name}'\r\n`)); // as Redis 5 answers HELLO: ioredis then speaks RESP2
  return false;
}

const server = createServer((socket) => {
  socket.setNoDelay(true);
  const decoder = new RequestDecoder();
  socket.on('data', (chunk: Buffer) => {
    if (decoder.push(chunk) !== undefined) return socket.destroy();
    outLen = 0;
    let wrote = false;
    for (let args = decoder.next(); args !== undefined; args = decoder.next()) {
      if (!Array.isArray(args)) return socket.destroy();
      wrote = execute(args) || wrote;
    }
    if (outLen === 0) return;
    // A copy: `out` is reused by the next read while the socket may still hold this one.
    const reply = Buffer.from(out.subarray(0, outLen));
    if (!durable || (!wrote && !queued.has(socket))) {
      socket.write(reply);
      return;
    }
    if (wrote) logged.push(chunk);
    waiting.push({ socket, reply });
    queued.add(socket);
    if (!scheduled) {
      scheduled = true;
      setImmediate(commit);
    }
  });
  socket.on('error', () => socket.destroy());
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`listening on 127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  closeSync(aof);
  process.exit(0);
});
