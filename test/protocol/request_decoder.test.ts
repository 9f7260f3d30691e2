// Unit tests of RequestDecoder: frames, Redis's protocol error texts, limits,
// chunking, ownership of returned arguments, and linear cost on large requests.

import test from 'ava';
import { ProtocolError, QueryBufferLimitError, RequestDecoder } from '../../protocol/index.ts';
import type { DecodeError, DecoderOptions } from '../../protocol/index.ts';

type Outcome = string[][] | { error: string; kind: DecodeError['kind'] };

/** Feeds `chunks`, pulling after each; returns decoded commands (latin1) or the error. */
function decode(chunks: readonly (string | Buffer)[], options?: DecoderOptions): Outcome {
  const decoder = new RequestDecoder(options);
  const commands: string[][] = [];
  for (const chunk of chunks) {
    const pushed = decoder.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
    if (pushed !== undefined) return { error: pushed.message, kind: pushed.kind };
    for (let r = decoder.next(); r !== undefined; r = decoder.next()) {
      if (!Array.isArray(r)) return { error: r.message, kind: r.kind };
      commands.push(r.map((arg) => arg.toString('latin1')));
    }
  }
  return commands;
}

function protocolError(message: string): Outcome {
  return { error: `Protocol error: ${message}`, kind: 'protocol' };
}

test('multibulk command in one chunk', (t) => {
  t.deepEqual(decode(['*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n']), [['SET', 'k', 'hello']]);
});

test('pipelined commands and waiting for more bytes', (t) => {
  const decoder = new RequestDecoder();
  decoder.push(Buffer.from('*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nh'));
  t.deepEqual(decoder.next(), [Buffer.from('PING')]);
  t.is(decoder.next(), undefined);
  decoder.push(Buffer.from('i\r\n'));
  t.deepEqual(decoder.next(), [Buffer.from('ECHO'), Buffer.from('hi')]);
  t.is(decoder.next(), undefined);
  t.is(decoder.bufferedBytes, 0);
});

test('empty and binary arguments', (t) => {
  t.deepEqual(decode(['*3\r\n$0\r\n\r\n$4\r\n\r\n\r\n\r\n$3\r\n\x00\xff\x01\r\n']), [['', '\r\n\r\n', '\x00\xff\x01']]);
});

test('*0, *-1 and other non-positive counts are skipped like Redis', (t) => {
  t.deepEqual(decode(['*0\r\n*-1\r\n*-7\r\n*1\r\n$1\r\na\r\n']), [['a']]);
});

test('the two bytes after a bulk and the byte after a header CR are not checked (as Redis)', (t) => {
  t.deepEqual(decode(['*2\rX$3\r\nfooXY$1\r?bZZ']), [['foo', 'b']]);
});

test('invalid multibulk length', (t) => {
  for (const count of ['abc', '', '+1', '01', '-0', '1 ', '2147483648', '99999999999999999999', '1x']) {
    t.deepEqual(decode([`*${count}\r\n`]), protocolError('invalid multibulk length'), count);
  }
});

test('largest multibulk count is accepted without preallocating', (t) => {
  const decoder = new RequestDecoder();
  decoder.push(Buffer.from('*2147483647\r\n$1\r\na\r\n'));
  t.is(decoder.next(), undefined);
  t.true(decoder.bufferedBytes < 1024);
});

test('invalid bulk length', (t) => {
  for (const length of ['abc', '', '-1', '-0', '+3', '03', '536870913', '9223372036854775808']) {
    t.deepEqual(decode([`*1\r\n$${length}\r\n`]), protocolError('invalid bulk length'), length);
  }
  const small = { limits: { bulkBytesMax: 10 } };
  t.deepEqual(decode(['*1\r\n$11\r\n'], small), protocolError('invalid bulk length'));
  t.deepEqual(decode(['*1\r\n$10\r\n0123456789\r\n'], small), [['0123456789']]);
});

test("expected '$', got X — reported once the header line is complete", (t) => {
  t.deepEqual(decode(['*1\r\nfoo']), []);
  t.deepEqual(decode(['*1\r\nfoo\r\n']), protocolError("expected '$', got 'f'"));
  t.deepEqual(decode(['*2\r\n$1\r\na\r\n:1\r\n']), protocolError("expected '$', got ':'"));
  t.deepEqual(decode(['*1\r\n\r\n']), protocolError("expected '$', got ' '"));
  t.deepEqual(decode(['*1\r\n\n\r\n']), protocolError("expected '$', got ' '"));
});

test('too big mbulk count string: more than 64 KiB buffered without CR', (t) => {
  const digits = '1'.repeat(64 * 1024 - 1); // "*" + digits = 65536 bytes: still waiting
  t.deepEqual(decode([`*${digits}`]), []);
  t.deepEqual(decode([`*${digits}1`]), protocolError('too big mbulk count string'));
  // A CR within the first 65537 bytes makes it a (bad) number instead.
  t.deepEqual(decode([`*${digits}\r\n`]), protocolError('invalid multibulk length'));
});

test('too big bulk count string', (t) => {
  const digits = '1'.repeat(64 * 1024);
  t.deepEqual(decode([`*1\r\n$${digits}`]), protocolError('too big bulk count string'));
  t.deepEqual(decode([`*1\r\n$${digits.slice(1)}`]), []);
});

test('too big inline request: more than 64 KiB buffered without LF', (t) => {
  const line = 'a'.repeat(64 * 1024);
  t.deepEqual(decode([line]), []);
  t.deepEqual(decode([line + 'a']), protocolError('too big inline request'));
  t.deepEqual(decode([line.slice(1) + '\n']), [[line.slice(1)]]);
  t.deepEqual(decode([line.slice(2) + '\r\n']), [[line.slice(2)]]);
  const custom = { limits: { inlineBytesMax: 8 } };
  t.deepEqual(decode(['12345678'], custom), []);
  t.deepEqual(decode(['123456789'], custom), protocolError('too big inline request'));
  t.deepEqual(decode(['*12345678'], custom), protocolError('too big mbulk count string'));
});

test('unbalanced quotes in request', (t) => {
  for (const line of ['get "a', "get 'a", 'get "a"b', "get 'a'b", 'get "a\\"', 'get "\\']) {
    t.deepEqual(decode([`${line}\r\n`]), protocolError('unbalanced quotes in request'), line);
  }
});

test('unauthenticated limits apply only while authRequired', (t) => {
  const locked = { authRequired: true };
  t.deepEqual(decode(['*11\r\n'], locked), protocolError('unauthenticated multibulk length'));
  t.deepEqual(decode(['*1\r\n$16385\r\n'], locked), protocolError('unauthenticated bulk length'));
  t.deepEqual(decode(['*10\r\n'], locked), []);
  t.deepEqual(decode(['*1\r\n$16384\r\n'], locked), []);
  const decoder = new RequestDecoder(locked);
  decoder.authRequired = false;
  decoder.push(Buffer.from('*11\r\n'));
  t.is(decoder.next(), undefined);
});

test('inline commands, blank lines skipped', (t) => {
  t.deepEqual(decode(['PING\r\n\r\n\n   \t \r\nset "a b" \'c\\\'d\' "\\x41"\r\nGET  k\n']), [
    ['PING'],
    ['set', 'a b', "c'd", 'A'],
    ['GET', 'k'],
  ]);
});

test('inline and multibulk interleave', (t) => {
  t.deepEqual(decode(['PING\r\n*1\r\n$4\r\nPING\r\nECHO x\n']), [['PING'], ['PING'], ['ECHO', 'x']]);
});

test('inline line split into 1-byte chunks', (t) => {
  const chunks = [...'SET key "va lue"\r\nGET key\r\n'];
  t.deepEqual(decode(chunks), [['SET', 'key', 'va lue'], ['GET', 'key']]);
});

test('query buffer limit is a distinct error, and the decoder stays dead', (t) => {
  const decoder = new RequestDecoder({ limits: { queryBufferBytesMax: 100 } });
  t.is(decoder.push(Buffer.alloc(60, 0x61)), undefined);
  const error = decoder.push(Buffer.alloc(41, 0x61));
  t.true(error instanceof QueryBufferLimitError);
  t.is(error?.kind, 'query-buffer-limit');
  t.is(decoder.next(), error);
  t.is(decoder.push(Buffer.from('x')), error);
  t.is(decoder.error, error);
});

test('protocol errors are values with a reply text, and the decoder stays dead', (t) => {
  const decoder = new RequestDecoder();
  decoder.push(Buffer.from('*1\r\n$1\r\na\r\n*x\r\n*1\r\n$1\r\nb\r\n'));
  t.deepEqual(decoder.next(), [Buffer.from('a')]);
  const error = decoder.next();
  t.true(error instanceof ProtocolError);
  if (!(error instanceof ProtocolError)) return;
  t.is(error.reason, 'invalid-multibulk-length');
  t.is(error.replyText, 'ERR Protocol error: invalid multibulk length');
  t.is(decoder.next(), error);
});

test('invalid limits are rejected', (t) => {
  t.throws(() => new RequestDecoder({ limits: { bulkBytesMax: 0 } }), { instanceOf: RangeError });
  t.throws(() => new RequestDecoder({ limits: { inlineBytesMax: 1.5 } }), { instanceOf: RangeError });
});

test('arguments inside one chunk are views; spanning ones are copies; chunks are never written', (t) => {
  const decoder = new RequestDecoder();
  const first = Buffer.from('*2\r\n$5\r\nhello\r\n$5\r\nwo');
  const second = Buffer.from('rld\r\n');
  const before = Buffer.concat([first, second]);
  decoder.push(first);
  decoder.push(second);
  const command = decoder.next();
  if (!Array.isArray(command)) return t.fail('expected a command');
  const [hello, world] = command;
  t.is(hello?.toString(), 'hello');
  t.is(world?.toString(), 'world');
  t.deepEqual(Buffer.concat([first, second]), before);
  // Mutating the chunks (which callers must not do) shows which args are views.
  first.fill(0x2e);
  second.fill(0x2e);
  t.is(hello?.toString(), '.....');
  t.is(world?.toString(), 'world');
});

test('a 5 MiB bulk in 1 KiB chunks decodes in bounded time', (t) => {
  const value = Buffer.alloc(5 * 1024 * 1024);
  for (let i = 0; i < value.length; i++) value[i] = (i * 31) & 0xff;
  const stream = Buffer.concat([Buffer.from(`*2\r\n$3\r\nSET\r\n$${value.length}\r\n`), value, Buffer.from('\r\n')]);
  const decoder = new RequestDecoder();
  let command: Buffer[] | undefined;
  for (let at = 0; at < stream.length; at += 1024) {
    t.is(decoder.push(stream.subarray(at, at + 1024)), undefined);
    const result = decoder.next();
    if (result instanceof Error) return t.fail(result.message);
    if (result !== undefined) command = result;
  }
  t.truthy(command);
  t.true(command?.[1]?.equals(value));
});

test('a 64 KiB inline line and a 1 MiB bulk in 1-byte chunks stay linear', (t) => {
  const line = Buffer.from('x'.repeat(64 * 1024 - 1) + '\n');
  const bulk = Buffer.concat([Buffer.from('*1\r\n$1048576\r\n'), Buffer.alloc(1024 * 1024, 0x62), Buffer.from('\r\n')]);
  const decoder = new RequestDecoder();
  const lengths: number[] = [];
  for (const stream of [line, bulk]) {
    for (let at = 0; at < stream.length; at++) {
      decoder.push(stream.subarray(at, at + 1));
      const result = decoder.next();
      if (result instanceof Error) return t.fail(result.message);
      if (result !== undefined) lengths.push(result[0]!.length);
    }
  }
  t.deepEqual(lengths, [64 * 1024 - 1, 1024 * 1024]);
});
