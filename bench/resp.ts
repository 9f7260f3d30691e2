// Decode throughput of protocol/RequestDecoder against redis-parser (the parser inside
// ioredis) on a pipeline of SET commands fed in 64 KiB chunks, as from a socket.
// Usage: node bench/resp.ts [commands=200000] [valueBytes=32] [rounds=10]

import { createRequire } from 'node:module';
import { RequestDecoder } from '../protocol/index.ts';

type ParserConstructor = new (options: {
  returnReply(reply: unknown): void;
  returnError(error: Error): void;
  returnBuffers?: boolean;
}) => { execute(chunk: Buffer): void };
const Parser = createRequire(import.meta.url)('redis-parser') as ParserConstructor;

const commandCount = Number(process.argv[2] ?? 200_000);
const valueBytes = Number(process.argv[3] ?? 32);
const rounds = Number(process.argv[4] ?? 10);
const CHUNK_BYTES = 64 * 1024;

function pipeline(): Buffer[] {
  const value = 'v'.repeat(valueBytes);
  const parts: string[] = [];
  for (let i = 0; i < commandCount; i++) {
    const key = `key:${i}`;
    parts.push(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`);
  }
  const bytes = Buffer.from(parts.join(''));
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += CHUNK_BYTES) chunks.push(Buffer.from(bytes.subarray(at, at + CHUNK_BYTES)));
  return chunks;
}

function runOurs(chunks: readonly Buffer[]): number {
  const decoder = new RequestDecoder();
  let decoded = 0;
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (let r = decoder.next(); r !== undefined; r = decoder.next()) {
      if (!Array.isArray(r)) throw r;
      decoded++;
    }
  }
  return decoded;
}

function runRedisParser(chunks: readonly Buffer[]): number {
  let decoded = 0;
  const parser = new Parser({
    returnBuffers: true,
    returnReply: () => decoded++,
    returnError: (error) => {
      throw error;
    },
  });
  for (const chunk of chunks) parser.execute(chunk);
  return decoded;
}

/** Alternates the two decoders round by round so JIT and GC state favour neither. */
function measure(runs: readonly (readonly [string, (chunks: readonly Buffer[]) => number])[], chunks: readonly Buffer[]): number[] {
  const bestOpsPerSec = runs.map(() => 0);
  for (let round = 0; round < rounds; round++) {
    runs.forEach(([name, run], index) => {
      const started = process.hrtime.bigint();
      const decoded = run(chunks);
      const elapsedSec = Number(process.hrtime.bigint() - started) / 1e9;
      if (decoded !== commandCount) throw new Error(`${name} decoded ${decoded} of ${commandCount}`);
      bestOpsPerSec[index] = Math.max(bestOpsPerSec[index]!, decoded / elapsedSec);
    });
  }
  runs.forEach(([name], index) => {
    console.log(`${name.padEnd(14)} ${Math.round(bestOpsPerSec[index]!).toLocaleString('en-US').padStart(12)} commands/s`);
  });
  return bestOpsPerSec;
}

const chunks = pipeline();
console.log(`${commandCount} SET commands, ${valueBytes}-byte values, ${chunks.length} chunks of ${CHUNK_BYTES} bytes, best of ${rounds}`);
const [ours = 0, theirs = 1] = measure([['raftis', runOurs], ['redis-parser', runRedisParser]], chunks);
console.log(`ratio raftis/redis-parser: ${(ours / theirs).toFixed(2)}`);
