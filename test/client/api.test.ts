// The client's API against one real raftis node: get/set/del/list, call and the typed
// `redis` proxy, fire() with its bounded queue, close(); and SENTINEL on a single node,
// with stock ioredis in Sentinel mode finding it.

import test from 'ava';
import { Redis } from 'ioredis';
import { ClientClosedError, createClient, QueueFullError, type RaftisClient } from '../../src/client/index.ts';
import { Cleanups, startRaftis, type ServerProcess } from '../support/processes.ts';
import { waitUntil } from '../support/wait.ts';

const cleanups = new Cleanups();
let server: ServerProcess;
test.before(async () => {
  server = await startRaftis(cleanups);
});
test.after.always(() => cleanups.run());

function client(t: import('ava').ExecutionContext, extra: Partial<Parameters<typeof createClient>[0]> = {}): RaftisClient {
  const c = createClient({ nodes: [`127.0.0.1:${server.port}`], ...extra });
  t.teardown(() => c.close());
  return c;
}

test('the package exports raftis/client', async (t) => {
  const m = await import('raftis/client');
  t.is(m.createClient, createClient);
});

test('get, set (ttl, onlyIf), del', async (t) => {
  const c = client(t);
  t.is(await c.get('api:a'), null);
  t.true(await c.set('api:a', '1'));
  t.false(await c.set('api:a', '2', { onlyIf: 'absent' }));
  t.true(await c.set('api:a', '3', { onlyIf: 'present' }));
  t.is(await c.get('api:a'), '3');
  t.true(await c.set('api:t', 'x', { ttlMs: 60_000 }));
  const pttl = Number(await c.call('pttl', ['api:t']));
  t.true(pttl > 0 && pttl <= 60_000);
  t.is(await c.del(['api:a', 'api:t', 'api:none']), 2);
  t.is(await c.del('api:a'), 0);
});

test('list(prefix): sorted pairs, glob characters in the prefix taken literally, bounded by limit', async (t) => {
  const c = client(t);
  for (let i = 0; i < 30; i++) await c.set(`ls:${String(i).padStart(2, '0')}`, `v${i}`);
  await c.set('ls*:x', 'star');
  await c.set('lsx', 'other');
  const all = await c.list('ls:');
  t.is(all.length, 30);
  t.deepEqual(all[0], ['ls:00', 'v0']);
  t.deepEqual(all.map(([k]) => k), [...all.map(([k]) => k)].sort());
  t.deepEqual(await c.list('ls*:'), [['ls*:x', 'star']]);
  t.is((await c.list('ls:', { limit: 7, scanCount: 3 })).length, 7);
  await t.throwsAsync(c.list('ls:', { limit: 0 }), { instanceOf: RangeError });
});

test('call() and the typed ioredis proxy `redis` go through the retry policy; connection-state commands are absent', async (t) => {
  const c = client(t);
  t.is(await c.redis.incr('api:n'), 1);
  t.is(await c.redis.incrby('api:n', 5), 6);
  t.is(await c.redis.strlen('api:n'), 1);
  t.deepEqual(await c.redis.mget('api:n', 'api:none'), ['6', null]);
  t.is(await c.redis.call('get', 'api:n'), '6');
  t.is(await c.call('GET', ['api:n']), '6');
  t.is((c.redis as unknown as Record<string, unknown>).multi, undefined);
  t.is((c.redis as unknown as Record<string, unknown>).subscribe, undefined);
  t.is((c.redis as unknown as Record<string, unknown>).then, undefined);
  t.throws(() => (c.redis.get as (...a: unknown[]) => unknown)('k', () => {}), { instanceOf: TypeError });
  await t.throwsAsync(c.redis.xadd('api:n', '*', 'f', 'v'), { message: /^WRONGTYPE/ });
});

test('leader() and members() from RAFT NODES', async (t) => {
  const c = client(t);
  await c.refresh();
  t.is(c.leader(), `127.0.0.1:${server.port}`);
  t.deepEqual(c.members().map((m) => [m.id, m.leader]), [['n1', true]]);
});

test('fire(): each callback once, results delivered; beyond fireQueueMax QueueFullError; flush waits', async (t) => {
  const c = client(t, { fireQueueMax: 100 });
  const results: Array<[string, unknown]> = [];
  for (let i = 0; i < 120; i++) c.fire('incr', ['api:fire'], (err, r) => void results.push([err ? err.name : 'ok', r]));
  await c.flush();
  t.is(results.length, 120);
  t.is(results.filter(([k]) => k === 'QueueFullError').length, 20);
  t.deepEqual(results.filter(([k]) => k === 'ok').map(([, r]) => r).sort((a, b) => Number(a) - Number(b)), Array.from({ length: 100 }, (_, i) => i + 1));
  t.true(new QueueFullError(1) instanceof Error);
  await c.flush(); // nothing outstanding: resolves at once
});

test('close(): waits for fire() operations, then refuses new commands', async (t) => {
  const c = createClient({ nodes: [`127.0.0.1:${server.port}`] });
  let called = 0;
  for (let i = 0; i < 50; i++) c.fire('set', [`api:close:${i}`, 'v'], (err) => void (err === null && called++));
  await c.close();
  t.is(called, 50);
  await t.throwsAsync(c.get('x'), { instanceOf: ClientClosedError });
  const err = await new Promise<Error | null>((res) => c.fire('get', ['x'], res));
  t.true(err instanceof ClientClosedError);
});

test('SENTINEL on a single node: it is the master; no replicas, no other sentinels; stock ioredis Sentinel mode works', async (t) => {
  const r = new Redis({ port: server.port, host: '127.0.0.1' });
  t.teardown(() => r.disconnect());
  t.deepEqual(await r.call('SENTINEL', 'get-master-addr-by-name', 'raftis'), ['127.0.0.1', String(server.port)]);
  t.deepEqual(await r.call('SENTINEL', 'sentinels', 'raftis'), []);
  t.deepEqual(await r.call('SENTINEL', 'replicas', 'raftis'), []);
  t.is(await r.call('SENTINEL', 'myid'), 'n1');
  await t.throwsAsync(r.call('SENTINEL', 'frob'), { message: /unknown subcommand 'frob'/ });
  await t.throwsAsync(r.call('SENTINEL', 'master'), { message: /wrong number of arguments/ });
  const s = new Redis({ sentinels: [{ host: '127.0.0.1', port: server.port }], name: 'raftis' });
  s.on('error', () => {});
  t.teardown(() => s.disconnect());
  await waitUntil(() => s.status === 'ready', 'sentinel-mode ioredis to connect', 5000);
  t.is(await s.set('api:sentinel', 'yes'), 'OK');
  t.is(await r.get('api:sentinel'), 'yes');
});
