// Tests of ReplyWriter and writeReply: exact RESP3 (and RESP2) bytes per frame type,
// random reply trees encoded as RESP2 and decoded by redis-parser, and ownership
// of the buffers returned by take().

import test from 'ava';
import { createRequire } from 'node:module';
import { formatDouble, ReplyWriter, writeReply } from '../../protocol/index.ts';
import type { Reply, RespVersion } from '../../protocol/index.ts';

interface ParserOptions {
  returnReply(reply: unknown): void;
  returnError(error: Error): void;
  returnBuffers?: boolean;
  stringNumbers?: boolean;
}
type ParserConstructor = new (options: ParserOptions) => { execute(chunk: Buffer): void };
// redis-parser is CommonJS without type declarations.
const Parser = createRequire(import.meta.url)('redis-parser') as ParserConstructor;

function encode(protocol: RespVersion, write: (writer: ReplyWriter) => void): string {
  const writer = new ReplyWriter({ protocol });
  write(writer);
  return writer.take().toString('latin1');
}

const frames: readonly (readonly [string, (w: ReplyWriter) => void, string, string])[] = [
  ['simple', (w) => w.simple('OK'), '+OK\r\n', '+OK\r\n'],
  ['simple with CRLF', (w) => w.simple('a\r\nb'), '+a  b\r\n', '+a  b\r\n'],
  ['error', (w) => w.error('ERR unknown command'), '-ERR unknown command\r\n', '-ERR unknown command\r\n'],
  ['error with LF', (w) => w.error('ERR x\ny'), '-ERR x y\r\n', '-ERR x y\r\n'],
  // Status and error texts are byte strings: chars below 256 go out as one byte each (an
  // echoed argument comes back as sent, even when it is not UTF-8); other text as UTF-8.
  ['error echoing bytes', (w) => w.error("ERR unknown command '\xff\x41'"), "-ERR unknown command '\xff\x41'\r\n", "-ERR unknown command '\xff\x41'\r\n"],
  ['simple with a byte above 127', (w) => w.simple('caf\xe9'), '+caf\xe9\r\n', '+caf\xe9\r\n'],
  ['error with text beyond latin1', (w) => w.error('ERR \u2192 x'), '-ERR \xe2\x86\x92 x\r\n', '-ERR \xe2\x86\x92 x\r\n'],
  ['integer 0', (w) => w.integer(0), ':0\r\n', ':0\r\n'],
  ['integer negative', (w) => w.integer(-1234567890123), ':-1234567890123\r\n', ':-1234567890123\r\n'],
  ['integer max safe', (w) => w.integer(Number.MAX_SAFE_INTEGER), ':9007199254740991\r\n', ':9007199254740991\r\n'],
  ['integer int64 min', (w) => w.integer(-(2n ** 63n)), ':-9223372036854775808\r\n', ':-9223372036854775808\r\n'],
  ['bulk string utf8', (w) => w.bulk('héllo'), '$6\r\nh\xc3\xa9llo\r\n', '$6\r\nh\xc3\xa9llo\r\n'],
  ['bulk buffer binary', (w) => w.bulk(Buffer.from([0, 13, 10, 255])), '$4\r\n\x00\r\n\xff\r\n', '$4\r\n\x00\r\n\xff\r\n'],
  ['bulk empty', (w) => w.bulk(''), '$0\r\n\r\n', '$0\r\n\r\n'],
  ['null', (w) => w.null(), '$-1\r\n', '_\r\n'],
  ['null array', (w) => w.nullArray(), '*-1\r\n', '_\r\n'],
  ['array', (w) => (w.array(2), w.integer(1), w.bulk('a')), '*2\r\n:1\r\n$1\r\na\r\n', '*2\r\n:1\r\n$1\r\na\r\n'],
  ['empty array', (w) => w.array(0), '*0\r\n', '*0\r\n'],
  ['map', (w) => (w.map(1), w.bulk('k'), w.integer(7)), '*2\r\n$1\r\nk\r\n:7\r\n', '%1\r\n$1\r\nk\r\n:7\r\n'],
  ['set', (w) => (w.set(1), w.bulk('m')), '*1\r\n$1\r\nm\r\n', '~1\r\n$1\r\nm\r\n'],
  ['push', (w) => (w.push(2), w.bulk('message'), w.bulk('x')), '*2\r\n$7\r\nmessage\r\n$1\r\nx\r\n', '>2\r\n$7\r\nmessage\r\n$1\r\nx\r\n'],
  ['double', (w) => w.double(1.5), '$3\r\n1.5\r\n', ',1.5\r\n'],
  ['double inf', (w) => w.double(Infinity), '$3\r\ninf\r\n', ',inf\r\n'],
  ['double -inf', (w) => w.double(-Infinity), '$4\r\n-inf\r\n', ',-inf\r\n'],
  ['double nan', (w) => w.double(NaN), '$3\r\nnan\r\n', ',nan\r\n'],
  ['double integral', (w) => w.double(3), '$1\r\n3\r\n', ',3\r\n'],
  ['boolean true', (w) => w.boolean(true), ':1\r\n', '#t\r\n'],
  ['boolean false', (w) => w.boolean(false), ':0\r\n', '#f\r\n'],
  ['verbatim', (w) => w.verbatim('hi\r\n'), '$4\r\nhi\r\n\r\n', '=8\r\ntxt:hi\r\n\r\n'],
  ['verbatim markdown', (w) => w.verbatim(Buffer.from('# t'), 'mkd'), '$3\r\n# t\r\n', '=7\r\nmkd:# t\r\n'],
  ['verbatim short format', (w) => w.verbatim('x', 'ab'), '$1\r\nx\r\n', '=5\r\nab :x\r\n'],
  ['big number', (w) => w.bigNumber(12345678901234567890123n), '$23\r\n12345678901234567890123\r\n', '(12345678901234567890123\r\n'],
  ['big number negative string', (w) => w.bigNumber('-1'), '$2\r\n-1\r\n', '(-1\r\n'],
  ['raw', (w) => w.raw(Buffer.from('+PONG\r\n')), '+PONG\r\n', '+PONG\r\n'],
];

for (const [name, write, resp2, resp3] of frames) {
  test(`frame ${name}`, (t) => {
    t.is(encode(2, write), resp2, 'RESP2');
    t.is(encode(3, write), resp3, 'RESP3');
  });
}

test('protocol can be switched mid-connection (HELLO)', (t) => {
  const writer = new ReplyWriter();
  writer.null();
  writer.protocol = 3;
  writer.null();
  t.is(writer.take().toString(), '$-1\r\n_\r\n');
});

test('invalid values are bugs and throw', (t) => {
  const writer = new ReplyWriter();
  t.throws(() => writer.integer(1.5), { instanceOf: RangeError });
  t.throws(() => writer.integer(2n ** 63n), { instanceOf: RangeError });
  t.throws(() => writer.array(-1), { instanceOf: RangeError });
  t.throws(() => writer.bigNumber('12a'), { instanceOf: RangeError });
});

/** mulberry32 */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(random: () => number, max: number): Buffer {
  return Buffer.from(Array.from({ length: Math.floor(random() * max) }, () => (random() < 0.3 ? 13 : Math.floor(random() * 256))));
}

function randomReply(random: () => number, depth: number): Reply {
  const kinds = depth > 2 ? 11 : 15;
  const items = (): Reply[] => Array.from({ length: Math.floor(random() * 4) }, () => randomReply(random, depth + 1));
  switch (Math.floor(random() * kinds)) {
    case 0: return { type: 'simple', value: `ok ${Math.floor(random() * 1000)}` };
    case 1: return { type: 'error', message: `ERR e${Math.floor(random() * 1000)}` };
    case 2: return { type: 'integer', value: Math.floor((random() - 0.5) * 2 ** 53) };
    case 3: return { type: 'integer', value: BigInt.asIntN(64, BigInt(Math.floor(random() * 2 ** 32)) * 2n ** 32n + BigInt(Math.floor(random() * 2 ** 32))) };
    case 4: return { type: 'bulk', value: randomBytes(random, 40) };
    case 5: return { type: 'bulk', value: `é${Math.floor(random() * 1000)}` };
    case 6: return { type: 'null' };
    case 7: return { type: 'double', value: random() < 0.1 ? -Infinity : (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20) };
    case 8: return { type: 'boolean', value: random() < 0.5 };
    case 9: return { type: 'verbatim', value: randomBytes(random, 20), format: 'txt' };
    case 10: return { type: 'big-number', value: BigInt(Math.floor(random() * 2 ** 50)) ** 3n };
    case 11: return { type: 'array', items: items() };
    case 12: return { type: 'set', items: items() };
    case 13: return { type: 'null-array' };
    default: return { type: 'map', entries: items().map((item) => [{ type: 'bulk', value: 'k' }, item] as const) };
  }
}

/** What redis-parser (returnBuffers, stringNumbers) yields for a RESP2 reply, normalised. */
function expectedResp2(reply: Reply): unknown {
  const bytes = (value: Uint8Array | string): string => `b:${Buffer.from(value).toString('hex')}`;
  switch (reply.type) {
    case 'simple': return bytes(reply.value);
    case 'error': return `e:${reply.message}`;
    case 'integer': return `i:${reply.value}`;
    case 'bulk': return bytes(reply.value);
    case 'null': case 'null-array': return null;
    case 'array': case 'set': case 'push': return reply.items.map(expectedResp2);
    case 'map': return reply.entries.flatMap(([key, value]) => [expectedResp2(key), expectedResp2(value)]);
    case 'double': return bytes(formatDouble(reply.value));
    case 'boolean': return `i:${reply.value ? 1 : 0}`;
    case 'verbatim': return bytes(reply.value);
    case 'big-number': return bytes(String(reply.value));
  }
}

function normaliseParsed(value: unknown): unknown {
  if (value === null) return null;
  if (Buffer.isBuffer(value)) return `b:${value.toString('hex')}`;
  if (value instanceof Error) return `e:${value.message}`;
  if (typeof value === 'string') return `i:${value}`;
  if (Array.isArray(value)) return value.map(normaliseParsed);
  throw new TypeError(`unexpected parsed value ${String(value)}`);
}

test('random reply trees in RESP2 decode with redis-parser to the same values', (t) => {
  const random = prng(42);
  const writer = new ReplyWriter({ protocol: 2, chunkBytes: 64 });
  const replies = Array.from({ length: 2000 }, () => randomReply(random, 0));
  const parsed: unknown[] = [];
  const parser = new Parser({
    returnBuffers: true,
    stringNumbers: true,
    returnReply: (reply) => parsed.push(normaliseParsed(reply)),
    returnError: (error) => parsed.push(normaliseParsed(error)),
  });
  for (const reply of replies) {
    writeReply(writer, reply);
    if (random() < 0.3) parser.execute(writer.take());
  }
  parser.execute(writer.take());
  t.deepEqual(parsed, replies.map(expectedResp2));
});

test('buffers returned by take() are never overwritten, across growth', (t) => {
  const random = prng(7);
  const writer = new ReplyWriter({ chunkBytes: 64 });
  const reference = new ReplyWriter({ chunkBytes: 1 << 20 });
  const taken: { view: Buffer; copy: Buffer }[] = [];
  for (let i = 0; i < 3000; i++) {
    const value = randomBytes(random, random() < 0.05 ? 5000 : 50);
    writer.bulk(value);
    reference.bulk(value);
    if (random() < 0.2) {
      const view = writer.take();
      taken.push({ view, copy: Buffer.from(view) });
    }
  }
  const last = writer.take();
  taken.push({ view: last, copy: Buffer.from(last) });
  for (const { view, copy } of taken) {
    if (!view.equals(copy)) return t.fail('a taken buffer changed');
  }
  t.true(Buffer.concat(taken.map(({ view }) => view)).equals(reference.take()));
  t.is(writer.take().length, 0);
});

test('a large bulk grows the buffer and pendingBytes tracks it', (t) => {
  const writer = new ReplyWriter({ chunkBytes: 1024 });
  const value = Buffer.alloc(3 * 1024 * 1024, 0x61);
  writer.simple('OK');
  writer.bulk(value);
  t.is(writer.pendingBytes, 5 + 10 + value.length + 2);
  const out = writer.take();
  t.is(out.subarray(0, 15).toString(), '+OK\r\n$3145728\r\n');
  t.true(out.subarray(15, 15 + value.length).equals(value));
});
