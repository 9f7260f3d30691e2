// Hostile and broken input against raftis, with the real redis-server as the oracle:
// each input goes to both on a fresh connection that is then half-closed, and the bytes
// received until the server closes must be equal (protocol errors included). After every
// case a healthy client, connected all along, still works and finds all acknowledged data.

import test from 'ava';
import { transcript } from '../support/differential.ts';
import { Cleanups, startRaftis, startRedis, type ServerProcess } from '../support/processes.ts';
import { Prng } from '../support/prng.ts';
import { RespConn } from '../support/resp_conn.ts';
import { encodeCommand, render, type Arg } from '../support/resp_reply.ts';

const RANDOM_SEEDS = Number(process.env.RAFTIS_BAD_INPUT_SEEDS ?? 40);
const cleanups = new Cleanups();
let redis: ServerProcess;
let raftis: ServerProcess;
let healthy: RespConn;
/** Keys raftis acknowledged, with their values. */
const acknowledged = new Map<string, string>();

test.before(async () => {
  [redis, raftis] = await Promise.all([startRedis(cleanups), startRaftis(cleanups)]);
  healthy = await RespConn.open(raftis.port);
  cleanups.teardown(() => healthy.close());
  // Both servers hold the same base data, so random frames that read it agree.
  const oracle = await RespConn.open(redis.port);
  cleanups.teardown(() => oracle.close());
  for (let i = 0; i < 50; i++) {
    await write(`base:${i}`, `value ${i}`);
    await oracle.call('SET', `base:${i}`, `value ${i}`);
  }
});
test.after.always(() => cleanups.run());

async function write(key: string, value: string): Promise<void> {
  const r = await healthy.call('SET', key, value);
  if (r.t !== 'simple' || r.v !== 'OK') throw new Error(`SET ${key} → ${render(r)}`);
  acknowledged.set(key, value);
}

/** The healthy connection still answers, every acknowledged key is intact, and a new write is acknowledged. */
async function checkHealthy(t: import('ava').ExecutionContext, after: string): Promise<void> {
  t.true(raftis.running, `raftis exited after ${after}\n${raftis.describe()}`);
  t.deepEqual(await healthy.call('PING'), { t: 'simple', v: 'PONG' }, `PING after ${after}`);
  const keys = [...acknowledged.keys()];
  const r = await healthy.call('MGET', ...keys);
  const want = keys.map((k) => `"${acknowledged.get(k)}"`).join(', ');
  t.is(render(r), `[${want}]`, `acknowledged data after ${after}`);
  await write(`after:${acknowledged.size}`, after.slice(0, 100));
  // A fresh connection works too.
  const fresh = await RespConn.open(raftis.port);
  try {
    t.deepEqual(await fresh.call('ECHO', 'fresh'), { t: 'bulk', v: Buffer.from('fresh') });
  } finally {
    fresh.close();
  }
}

const show = (b: Buffer): string => JSON.stringify(b.toString('latin1').slice(0, 300));

/** Sends `input` to both servers, half-closes, and compares everything received until each closes. */
async function compare(t: import('ava').ExecutionContext, label: string, input: Buffer): Promise<Buffer> {
  const [a, b] = await Promise.all([
    transcript(redis.port, input, 'close', 10_000, true),
    transcript(raftis.port, input, 'close', 10_000, true),
  ]);
  t.is(b.toString('latin1'), a.toString('latin1'), `${label}: input ${show(input)}\n  redis-server: ${show(a)}\n  raftis:       ${show(b)}`);
  await checkHealthy(t, label);
  return a;
}

const cmd = (...args: Arg[]): Buffer => encodeCommand(args);
const s = (text: string): Buffer => Buffer.from(text, 'latin1');
const PING = cmd('PING');

const cases: ReadonlyArray<readonly [string, Buffer, RegExp | null]> = [
  ['multibulk count too large', s('*99999999999\r\n'), /^-ERR Protocol error: invalid multibulk length\r\n$/],
  ['multibulk count over 1M then a command', Buffer.concat([s('*1048577\r\n'), PING]), /Protocol error/],
  ['negative bulk length', s('*1\r\n$-5\r\n'), /^-ERR Protocol error: invalid bulk length\r\n$/],
  ['bulk length over 512 MiB', s('*1\r\n$600000000\r\n'), /^-ERR Protocol error: invalid bulk length\r\n$/],
  ['non-numeric multibulk count', s('*abc\r\n'), /Protocol error/],
  ['non-numeric bulk length', s('*1\r\n$x\r\n'), /Protocol error/],
  ["expected '$'", s('*2\r\n$3\r\nGET\r\nx\r\n'), /Protocol error: expected '\$', got 'x'/],
  ['null and empty multibulk are ignored', Buffer.concat([s('*-1\r\n*0\r\n*-5\r\n'), PING]), null],
  ['bulk not followed by CRLF', Buffer.concat([s('*1\r\n$4\r\nPINGxx'), PING]), null],
  ['truncated frame', s('*2\r\n$3\r\nGET\r\n$10\r\nabc'), null],
  ['truncated after count', s('*3\r\n'), null],
  ['commands then a truncated frame', Buffer.concat([cmd('SET', 'tr', 'x'), cmd('GET', 'tr'), s('*2\r\n$3\r\nGET')]), null],
  ['inline unbalanced double quote', s('SET a "b\r\n'), /Protocol error: unbalanced quotes/],
  ['inline unbalanced single quote', s("ECHO 'abc\r\n"), /Protocol error: unbalanced quotes/],
  ['inline quote not followed by space', s('ECHO "a"b\r\n'), /unbalanced quotes/],
  ['inline escapes', s('ECHO "\\x41\\x4g\\t\\\\"\r\nECHO \'it\\\'s\'\r\n'), null],
  ['inline empty lines and spaces', s('\r\n\n   \r\nPING\n  ECHO   x  \r\n'), null],
  ['inline too big', Buffer.concat([s('a'.repeat(70_000))]), /too big inline request/],
  ['multibulk count line too big', s(`*${'1'.repeat(70_000)}`), /too big mbulk count string/],
  ['bulk length line too big', s(`*1\r\n$${'1'.repeat(70_000)}`), /too big bulk count string/],
  ['unknown command with a NUL and UTF-8 in its name', Buffer.concat([cmd(Buffer.from('é\u0000A', 'utf8'), 'a\r\nb', Buffer.from('ü\u0000x')), PING]), null],
  ['unknown command with long args', Buffer.concat([cmd('NOPE', 'x'.repeat(300), 'y'.repeat(300)), PING]), null],
  ['a valid command split oddly is still fine', Buffer.concat([cmd('SET', 'ok', 'v'), cmd('GET', 'ok')]), null],
];

for (const [label, input, expected] of cases) {
  test.serial(`bad input answered as redis-server answers it: ${label}`, async (t) => {
    const got = await compare(t, label, input);
    if (expected) t.regex(got.toString('latin1'), expected, 'the oracle itself');
  });
}

/** A random input: valid frames, random bytes, frames with one byte changed, cut frames, inline lines. */
function randomInput(r: Prng): Buffer {
  const parts: Buffer[] = [];
  const frames = (): Buffer => cmd(...r.pick<Arg[]>([['PING'], ['ECHO', 'hi'], ['GET', 'base:1'], ['SET', `rnd:${r.int(5)}`, 'v'], ['EXISTS', 'base:2']]));
  for (let n = r.range(1, 5); n > 0; n--) {
    switch (r.int(6)) {
      case 0: parts.push(frames()); break;
      // Any bytes: NULs (Redis's strchr stops at them) and bytes >= 0x80 (echoed in errors) too.
      case 1: parts.push(Buffer.from(r.bytes(r.range(1, 40)))); break;
      case 2: {
        const f = Buffer.from(frames());
        f[r.int(f.length)] = r.pick([0x2a, 0x24, 0x2d, 0x30, 0x39, 0x0d, 0x0a, 0x22, 0x00, r.next() & 0xff]);
        parts.push(f);
        break;
      }
      case 3: {
        const f = frames();
        parts.push(f.subarray(0, r.int(f.length)));
        break;
      }
      case 4: parts.push(s(`${r.pick(['ECHO', 'PING', 'SET q', 'GET', 'x'])} ${r.pick(['"a b"', "'c'", '"\\x4', '"unterminated', 'plain', '""', "'\\''"])}\r\n`)); break;
      default: parts.push(s(r.pick(['*', '$', '*1\r\n', '$3\r\n', '*-1\r\n', '*2\r\n$', '\r\n', '\n', '*1\r\n$0\r\n\r\n']))); break;
    }
  }
  return Buffer.concat(parts);
}

test.serial(`random bytes and broken frames (${RANDOM_SEEDS} seeds) are answered as redis-server answers them`, async (t) => {
  for (let seed = 1; seed <= RANDOM_SEEDS; seed++) {
    const r = new Prng(seed);
    await compare(t, `random input, seed ${seed}`, randomInput(r));
  }
  // The writes some random inputs made must agree too (rnd:* keys were only ever set to 'v').
  const keys = ['rnd:0', 'rnd:1', 'rnd:2', 'rnd:3', 'rnd:4'];
  const [a, b] = await Promise.all([redis.port, raftis.port].map(async (port) => {
    const c = await RespConn.open(port);
    try {
      return render(await c.call('MGET', ...keys));
    } finally {
      c.close();
    }
  }));
  t.is(b, a);
});

// Error texts are byte strings (errors.ts cText), so bytes that are not valid UTF-8 come
// back in "unknown command '…'" exactly as sent, as Redis echoes them.
test.serial('same as redis-server: non-UTF-8 bytes echoed in an error', async (t) => {
  await compare(t, 'non-UTF-8 command name', Buffer.concat([cmd(Buffer.from([0xff, 0x41])), PING]));
});

// Redis finds a line's end with strchr, which stops at a NUL byte: a NUL before the
// newline (or before the "\r" of a header line) leaves it waiting for more input, until
// its 64 kB limit for such a line.
test.serial('same as redis-server: a NUL byte inside an inline command', async (t) => {
  await compare(t, 'NUL in an inline line', s('ECHO a\u0000b\r\nPING\r\n'));
});

test.serial('same as redis-server: a NUL byte in header lines, then the line limit', async (t) => {
  for (const [label, input] of [
    ['NUL in a multibulk count', s('*1\u0000\r\n$4\r\nPING\r\n')],
    ['NUL in a bulk length', s('*1\r\n$4\u0000\r\nPING\r\n')],
    ['NUL where $ belongs', s('*1\r\n\u0000x\r\nPING\r\n')],
    ['NUL in an inline line, then 70 kB', Buffer.concat([s('PING\u0000\r\n'), Buffer.alloc(70_000, 0x61)])],
    ['NUL in a bulk length, then 70 kB', Buffer.concat([s('*1\r\n$4\u0000\r\n'), Buffer.alloc(70_000, 0x61)])],
  ] as const) {
    await compare(t, label, input);
  }
});

test.serial('same as redis-server: bytes of every value echoed in errors', async (t) => {
  const all = Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1));
  await compare(t, 'unknown command named with bytes 1-255', Buffer.concat([cmd(all.subarray(128), all.subarray(0, 64), all.subarray(64, 128)), PING]));
  await compare(t, 'NOGROUP echoing a binary key and group', Buffer.concat([
    cmd('XREADGROUP', 'GROUP', Buffer.from([0xc3, 0x28, 0xff]), 'c', 'STREAMS', Buffer.from([0x80, 0xfe, 0x41]), '>'),
    cmd('XGROUP', Buffer.from([0xe9, 0x78])),
    PING,
  ]));
});

test.serial('a client that sends garbage forever is cut off, and the healthy client is unaffected', async (t) => {
  // 70 kB without a newline: Redis closes at its 64 kB inline limit; so must raftis.
  const conn = await RespConn.open(raftis.port);
  t.teardown(() => conn.close());
  conn.sendRaw(Buffer.alloc(70_000, 0x61));
  await conn.waitClosed(10_000);
  t.regex(conn.received.toString('latin1'), /^-ERR Protocol error: too big inline request\r\n$/);
  await checkHealthy(t, 'inline flood');
});
