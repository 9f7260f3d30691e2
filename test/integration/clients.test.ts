// Real clients against a real raftis process: ioredis 6 (HELLO 3 + INFO handshake,
// pipelines, binary values, a large value, scanStream, expiry, MULTI/EXEC) and redis-cli
// (one-shot commands, --no-raw, --pipe). One raftis process for the file.

import { execFile, spawn } from 'node:child_process';
import test from 'ava';
import { Redis } from 'ioredis';
import { Cleanups, startRaftis, type ServerProcess } from '../support/processes.ts';
import { waitUntil, within } from '../support/wait.ts';

const cleanups = new Cleanups();
let raftis: ServerProcess;

test.before(async () => {
  raftis = await startRaftis(cleanups);
});
test.after.always(() => cleanups.run());

async function client(t: import('ava').ExecutionContext, db = 0): Promise<Redis> {
  const redis = new Redis({ host: '127.0.0.1', port: raftis.port, db, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  t.teardown(() => redis.disconnect());
  await within(redis.connect(), 'ioredis to connect (HELLO 3, INFO ready check)', 10_000);
  return redis;
}

test('ioredis connects, negotiates RESP3 and passes its INFO ready check', async (t) => {
  const redis = await client(t);
  t.is(redis.status, 'ready');
  t.is(await redis.ping(), 'PONG');
  const info = await redis.info('server');
  t.regex(info, /redis_version:7\.0\.15/);
  const me = await redis.client('INFO');
  t.regex(String(me), /resp=3/);
});

test('ioredis pipeline of 1000 commands answers in order', async (t) => {
  const redis = await client(t, 1);
  const p = redis.pipeline();
  for (let i = 0; i < 500; i++) p.set(`pipe:${i}`, `v${i}`);
  for (let i = 0; i < 499; i++) p.get(`pipe:${i}`);
  p.incr('pipe:counter');
  const results = await within(p.exec(), 'pipeline of 1000', 30_000);
  t.is(results?.length, 1000);
  for (let i = 0; i < 500; i++) t.deepEqual(results![i], [null, 'OK']);
  for (let i = 0; i < 499; i++) t.deepEqual(results![500 + i], [null, `v${i}`]);
  t.deepEqual(results![999], [null, 1]);
});

test('ioredis round-trips binary values with all 256 byte values, and an empty value', async (t) => {
  const redis = await client(t, 2);
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const key = Buffer.from([0, 13, 10, 255, 36, 42]);
  t.is(await redis.set(key, all), 'OK');
  t.true((await redis.getBuffer(key))!.equals(all));
  t.is(await redis.strlen(key), 256);
  for (let i = 0; i < 256; i++) await redis.setrange(key, i, Buffer.from([255 - i]));
  t.true((await redis.getBuffer(key))!.equals(Buffer.from(all.map((b) => 255 - b))));
  await redis.set('empty', '');
  t.is(await redis.get('empty'), '');
  t.is(await redis.exists('empty'), 1);
});

test('ioredis round-trips a 5 MiB value', async (t) => {
  const redis = await client(t, 3);
  const big = Buffer.alloc(5 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
  t.is(await within(redis.set('big', big), 'SET 5 MiB', 30_000), 'OK');
  const back = await within(redis.getBuffer('big'), 'GET 5 MiB', 30_000);
  t.is(back?.length, big.length);
  t.true(back!.equals(big));
  t.is(await redis.append('big', 'tail'), big.length + 4);
  t.is(await redis.strlen('big'), big.length + 4);
});

test('ioredis scanStream returns each of 2000 keys (set semantics), with MATCH', async (t) => {
  const redis = await client(t, 4);
  const p = redis.pipeline();
  for (let i = 0; i < 2000; i++) p.set(`scan:${i}`, '1');
  p.set('other:1', '1');
  await within(p.exec(), 'creating 2000 keys', 30_000);
  const collect = async (match: string): Promise<string[]> => {
    const seen: string[] = [];
    const stream = redis.scanStream({ match, count: 100 });
    await within(
      new Promise<void>((res, rej) => {
        stream.on('data', (keys: string[]) => void seen.push(...keys));
        stream.on('end', res);
        stream.on('error', rej);
      }),
      'scanStream to end',
      30_000,
    );
    return seen;
  };
  const seen = await collect('scan:*');
  const unique = new Set(seen);
  t.is(unique.size, 2000);
  for (let i = 0; i < 2000; i++) t.true(unique.has(`scan:${i}`));
  t.true(seen.length <= 4000, `SCAN returned ${seen.length} keys for 2000`);
  t.deepEqual(await collect('other:*'), ['other:1']);
  t.is(await redis.dbsize(), 2001);
});

test('ioredis: SET EX 1 is gone after it expires (polled with a deadline)', async (t) => {
  const redis = await client(t, 5);
  t.is(await redis.set('soon', 'v', 'EX', 1), 'OK');
  const ttl = await redis.pttl('soon');
  t.true(ttl > 0 && ttl <= 1000, `pttl ${ttl}`);
  await waitUntil(async () => (await redis.get('soon')) === null, 'the key to expire', 10_000, 50);
  t.is(await redis.exists('soon'), 0);
  t.is(await redis.ttl('soon'), -2);
});

test('ioredis multi().exec() runs atomically; a WATCHed key changed elsewhere aborts it', async (t) => {
  const redis = await client(t, 6);
  const results = await redis.multi().set('tx', '1').incr('tx').get('tx').exec();
  t.deepEqual(results, [[null, 'OK'], [null, 2], [null, '2']]);
  const bad = await redis.multi().set('tx', 'x').incr('tx').exec();
  t.is(bad?.[0]?.[1], 'OK');
  t.true(bad?.[1]?.[0] instanceof Error);
  const other = await client(t, 6);
  await redis.watch('tx');
  await other.set('tx', 'changed');
  t.is(await redis.multi().set('tx', 'mine').exec(), null);
  t.is(await redis.get('tx'), 'changed');
});

// ---- redis-cli ----

function cli(args: readonly string[], input?: string): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return within(
    new Promise((res, rej) => {
      const child = spawn('redis-cli', ['-p', String(raftis.port), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      child.once('error', rej);
      child.once('close', (code) => res({ stdout, stderr, code }));
      // A redis-cli that runs a command from its arguments may exit before it reads stdin:
      // writing then fails with EPIPE, which is not the test's concern (its exit code is).
      child.stdin.once('error', (e: NodeJS.ErrnoException) => {
        if (e.code !== 'EPIPE') rej(e);
      });
      child.stdin.end(input ?? '');
    }),
    `redis-cli ${args.join(' ')}`,
    30_000,
  );
}

test('redis-cli one-shot commands, raw and --no-raw output', async (t) => {
  t.is((await cli(['-n', '7', 'set', 'a', 'b'])).stdout, 'OK\n');
  t.is((await cli(['-n', '7', 'get', 'a'])).stdout, 'b\n');
  t.is((await cli(['-n', '7', '--no-raw', 'get', 'a'])).stdout, '"b"\n');
  t.is((await cli(['-n', '7', '--no-raw', 'get', 'missing'])).stdout, '(nil)\n');
  t.is((await cli(['-n', '7', '--no-raw', 'incr', 'n'])).stdout, '(integer) 1\n');
  t.is((await cli(['-n', '7', '--no-raw', 'mget', 'a', 'missing'])).stdout, '1) "b"\n2) (nil)\n');
  t.is((await cli(['-n', '7', '--no-raw', 'incr', 'a'])).stdout, '(error) ERR value is not an integer or out of range\n');
  t.is((await cli(['-n', '7', 'dbsize'])).stdout, '2\n');
  // Commands from stdin, no interactive session needed.
  t.is((await cli(['-n', '7'], 'set c d\nget c\n')).stdout, 'OK\nd\n');
});

test('redis-cli --pipe loads 10k commands', async (t) => {
  const lines: string[] = [];
  for (let i = 0; i < 10_000; i++) lines.push(`*3\r\n$3\r\nSET\r\n$${`pk:${i}`.length}\r\npk:${i}\r\n$${String(i).length}\r\n${i}\r\n`);
  const out = await cli(['-n', '8', '--pipe'], lines.join(''));
  t.is(out.code, 0, out.stderr + out.stdout);
  t.regex(out.stdout, /errors: 0, replies: 10000/);
  const redis = await client(t, 8);
  t.is(await redis.dbsize(), 10_000);
  t.is(await redis.get('pk:9999'), '9999');
});

test('redis-cli reports a refused connection without hanging', async (t) => {
  const out = await within(
    new Promise<{ stdout: string; stderr: string }>((res) => {
      // A port nothing listens on: the one of a raftis that has stopped is not known, so use port 1.
      execFile('redis-cli', ['-p', '1', 'ping'], (_e, stdout, stderr) => res({ stdout, stderr }));
    }),
    'redis-cli against a closed port',
    10_000,
  );
  t.regex(out.stdout + out.stderr, /Connection refused|Could not connect/);
});
