// Property tests of RequestDecoder: seeded random request streams, split at every
// boundary (small streams) or random boundaries (big ones), must decode to the
// generated commands; multibulk streams must also agree with redis-parser, which
// parses the same bytes as RESP replies (arrays of bulk strings).

import test from 'ava';
import { createRequire } from 'node:module';
import { RequestDecoder } from '../../protocol/index.ts';

interface ParserOptions {
  returnReply(reply: unknown): void;
  returnError(error: Error): void;
  returnFatalError?(error: Error): void;
  returnBuffers?: boolean;
}
type ParserConstructor = new (options: ParserOptions) => { execute(chunk: Buffer): void };
// redis-parser is CommonJS without type declarations.
const Parser = createRequire(import.meta.url)('redis-parser') as ParserConstructor;

/** mulberry32: small, seedable, good enough to drive test cases. */
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

type Random = () => number;
const int = (random: Random, min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
/** Bytes that stress framing: CR, LF, type bytes, digits, NUL, 0xff. */
const NASTY = Buffer.from('\r\n\r\n$*:-+"\'\\ 0123456789\x00\xff', 'latin1');

function randomArg(random: Random, big: boolean): Buffer {
  const roll = random();
  const length = roll < 0.1 ? 0 : roll < 0.6 ? int(random, 1, 8) : roll < 0.9 ? int(random, 9, 64) : int(random, 65, big ? 200_000 : 300);
  const arg = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) arg[i] = random() < 0.5 ? NASTY[int(random, 0, NASTY.length - 1)]! : int(random, 0, 255);
  return arg;
}

function encodeMultibulk(args: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) parts.push(Buffer.from(`$${arg.length}\r\n`), arg, Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

/** Quotes an argument so sdssplitargs gives back exactly its bytes. */
function quoteInline(arg: Buffer): string {
  let out = '"';
  for (const byte of arg) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x21 && byte <= 0x7e) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}

function encodeInline(random: Random, args: readonly Buffer[]): Buffer {
  const blanks = [' ', '  ', '\t', ' \t '];
  const words = args.map((arg) => (arg.length > 0 && /^[a-zA-Z0-9]+$/.test(arg.toString('latin1')) && random() < 0.5 ? arg.toString('latin1') : quoteInline(arg)));
  const line = words.map((word) => word + blanks[int(random, 0, blanks.length - 1)]!).join('');
  return Buffer.from(line + (random() < 0.5 ? '\r\n' : '\n'), 'latin1');
}

interface Stream {
  readonly bytes: Buffer;
  readonly commands: readonly (readonly Buffer[])[];
}

function randomStream(random: Random, options: { commands: number; inline: boolean; big: boolean }): Stream {
  const parts: Buffer[] = [];
  const commands: Buffer[][] = [];
  for (let c = 0; c < options.commands; c++) {
    const roll = random();
    if (roll < 0.05) {
      parts.push(Buffer.from(random() < 0.5 ? '*0\r\n' : '*-1\r\n'));
      continue;
    }
    const args = Array.from({ length: random() < 0.9 ? int(random, 1, 6) : int(random, 7, 40) }, () => randomArg(random, options.big));
    commands.push(args);
    const inline = options.inline && random() < 0.3 ? encodeInline(random, args) : undefined;
    // Inline requests longer than 64 KiB are a protocol error; send those as multibulk.
    parts.push(inline !== undefined && inline.length <= 64 * 1024 ? inline : encodeMultibulk(args));
  }
  return { bytes: Buffer.concat(parts), commands };
}

/** One comparable string per command: hex args joined by ",". */
function fingerprint(commands: readonly (readonly Uint8Array[])[]): string[] {
  return commands.map((args) => args.map((arg) => Buffer.from(arg.buffer, arg.byteOffset, arg.length).toString('hex')).join(','));
}

function decodeOurs(chunks: readonly Buffer[]): string[] {
  const decoder = new RequestDecoder();
  const out: Buffer[][] = [];
  for (const chunk of chunks) {
    const pushed = decoder.push(chunk);
    if (pushed !== undefined) throw pushed;
    for (let r = decoder.next(); r !== undefined; r = decoder.next()) {
      if (!Array.isArray(r)) throw r;
      out.push(r);
    }
  }
  return fingerprint(out);
}

function decodeOracle(chunks: readonly Buffer[]): string[] {
  const out: string[] = [];
  const parser = new Parser({
    returnBuffers: true,
    // Fingerprint at once: redis-parser may reuse its pool for later replies.
    returnReply(reply) {
      if (Array.isArray(reply) && reply.length > 0) out.push(...fingerprint([reply as Buffer[]]));
    },
    returnError(error) {
      throw error;
    },
  });
  withUnrefTimers(() => {
    for (const chunk of chunks) parser.execute(chunk);
  });
  return out;
}

/**
 * redis-parser shrinks its module-level buffer pool from a setInterval that holds the
 * process open for seconds after big inputs; unref it so the test worker exits at once.
 */
function withUnrefTimers(run: () => void): void {
  const original = globalThis.setInterval;
  globalThis.setInterval = ((...args: Parameters<typeof original>) => original(...args).unref()) as typeof original;
  try {
    run();
  } finally {
    globalThis.setInterval = original;
  }
}

function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    chunks.push(bytes.subarray(from, cut));
    from = cut;
  }
  return chunks;
}

/** Compares lists and names the first difference (full dumps would be unreadable). */
function firstDifference(actual: readonly string[], expected: readonly string[]): string | undefined {
  for (let i = 0; i < Math.max(actual.length, expected.length); i++) {
    if (actual[i] !== expected[i]) return `command ${i}: got ${actual[i]?.slice(0, 80)} want ${expected[i]?.slice(0, 80)}`;
  }
  return undefined;
}

test('small multibulk streams split at every boundary match the commands and redis-parser', (t) => {
  for (let seed = 1; seed <= 150; seed++) {
    const random = prng(seed);
    const stream = randomStream(random, { commands: int(random, 1, 4), inline: false, big: false });
    const expected = fingerprint(stream.commands);
    for (let cut = 0; cut <= stream.bytes.length; cut++) {
      const chunks = splitAt(stream.bytes, [cut]);
      const ours = firstDifference(decodeOurs(chunks), expected);
      const oracle = firstDifference(decodeOracle(chunks), expected);
      if (ours !== undefined || oracle !== undefined) {
        return t.fail(`seed ${seed} cut ${cut}: ours ${ours ?? 'ok'}; redis-parser ${oracle ?? 'ok'}`);
      }
    }
    const bytewise = splitAt(stream.bytes, Array.from({ length: stream.bytes.length - 1 }, (_, i) => i + 1));
    const difference = firstDifference(decodeOurs(bytewise), expected);
    if (difference !== undefined) return t.fail(`seed ${seed} byte by byte: ${difference}`);
  }
  t.pass();
});

test('small mixed inline/multibulk streams split at every boundary match the commands', (t) => {
  for (let seed = 1001; seed <= 1150; seed++) {
    const random = prng(seed);
    const stream = randomStream(random, { commands: int(random, 1, 4), inline: true, big: false });
    const expected = fingerprint(stream.commands);
    for (let cut = 0; cut <= stream.bytes.length; cut++) {
      const difference = firstDifference(decodeOurs(splitAt(stream.bytes, [cut])), expected);
      if (difference !== undefined) return t.fail(`seed ${seed} cut ${cut}: ${difference}`);
    }
  }
  t.pass();
});

test('big streams split at random boundaries match the commands and redis-parser', (t) => {
  for (let seed = 2001; seed <= 2012; seed++) {
    const random = prng(seed);
    const inline = seed % 2 === 0;
    const stream = randomStream(random, { commands: int(random, 50, 300), inline, big: true });
    const expected = fingerprint(stream.commands);
    const cuts: number[] = [];
    for (let at = 0; ; ) {
      at += random() < 0.2 ? int(random, 1, 16) : int(random, 1, 70_000);
      if (at >= stream.bytes.length) break;
      cuts.push(at);
    }
    const chunks = splitAt(stream.bytes, cuts);
    const ours = firstDifference(decodeOurs(chunks), expected);
    if (ours !== undefined) return t.fail(`seed ${seed}: ${ours}`);
    if (!inline) {
      const oracle = firstDifference(decodeOracle(chunks), expected);
      if (oracle !== undefined) return t.fail(`seed ${seed} redis-parser: ${oracle}`);
    }
  }
  t.pass();
});
