// The HTTP API on one in-process node: every route's shape, and every error case with
// its status and JSON body. Writes made over HTTP are visible to RESP clients and
// the other way round (same command path).

import test from 'ava';
import { Redis } from 'ioredis';
import { request } from 'node:http';
import { Cleanups } from '../support/processes.ts';
import { waitUntil } from '../support/wait.ts';
import { http, postJson, startHttpNode, waitLeader, type HttpNode } from './support.ts';

const cleanups = new Cleanups();
let node: HttpNode;
let redis: Redis;

test.before(async () => {
  node = await startHttpNode(cleanups);
  await waitLeader(node);
  redis = new Redis({ port: node.server.port, host: '127.0.0.1', maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  cleanups.teardown(() => redis.disconnect());
});
test.after.always(() => cleanups.run());

test('GET /health is 200 ok on a serving single node', async (t) => {
  const r = await http(node.base, 'GET', '/health');
  t.is(r.status, 200);
  t.is(r.json.status, 'ok');
  t.is(r.json.leader, 'n1');
  t.is(r.headers.get('access-control-allow-origin'), '*');
});

test('GET /api/stats reports the raft state and what operators want', async (t) => {
  const r = await http(node.base, 'GET', '/api/stats');
  t.is(r.status, 200);
  const s = r.json;
  t.is(s.state, 'leader');
  t.is(s.leader, 'n1');
  t.is(s.node_id, 'n1');
  for (const k of ['term', 'commit_index', 'applied_index', 'last_log_index', 'first_log_index', 'uptime_seconds', 'connected_clients', 'ops_per_sec']) t.is(typeof s[k], 'number', k);
  t.true(s.term >= 1);
  t.true(s.applied_index <= s.commit_index && s.commit_index <= s.last_log_index);
  t.is(s.nats, 'none');
  t.deepEqual(s.nodes.map((n: { id: string }) => n.id), ['n1']);
  t.true(s.nodes[0].self && s.nodes[0].leader && s.nodes[0].voter);
  let http0 = s.nodes[0].http;
  // The node announces its addresses through the log once it leads: wait for it (bounded).
  await waitUntil(async () => (http0 = (await http(node.base, 'GET', '/api/stats')).json.nodes[0].http) !== '', 'the HTTP address announcement', 5000);
  t.is(http0, `127.0.0.1:${node.server.httpPort}`, 'the node announces its real HTTP port');
  t.is(r.headers.get('access-control-allow-origin'), '*');
  t.true(s.connected_clients >= 1, 'the test client is connected');
});

test('POST /api/set, GET /api/get, DELETE /api/delete round trip, shared with RESP', async (t) => {
  const set = await postJson(node.base, '/api/set', { key: 'user:1001', value: 'John Doe' });
  t.is(set.status, 200);
  t.deepEqual(set.json, { success: true });
  t.is(await redis.get('user:1001'), 'John Doe', 'an HTTP write is seen by RESP');
  await redis.set('user:1002', 'Jane ✓');
  const got = await http(node.base, 'GET', `/api/get?key=${encodeURIComponent('user:1002')}`);
  t.deepEqual(got.json, { value: 'Jane ✓', found: true });
  t.deepEqual((await http(node.base, 'GET', '/api/get?key=absent')).json, { value: null, found: false });
  const del = await http(node.base, 'DELETE', '/api/delete?key=user:1001');
  t.deepEqual(del.json, { success: true, deleted: 1 });
  t.deepEqual((await http(node.base, 'DELETE', '/api/delete?key=user:1001')).json, { success: true, deleted: 0 });
  t.is(await redis.exists('user:1001'), 0);
  t.deepEqual((await postJson(node.base, '/api/set', { key: '', value: '' })).json, { success: true }, 'empty key and value are valid, as in Redis');
});

test('GET /api/list returns string keys with a prefix, sorted, bounded by limit', async (t) => {
  for (let i = 0; i < 25; i++) await redis.set(`list:${String(i).padStart(2, '0')}`, `v${i}`);
  await redis.set('listy', 'not the prefix');
  await redis.xadd('list:stream', '*', 'f', 'v');
  await redis.set('lis*t:glob', 'glob chars are literal');
  const all = await http(node.base, 'GET', '/api/list?prefix=list:');
  t.is(all.status, 200);
  t.is(all.json.pairs.length, 25, 'only string keys with the prefix');
  t.deepEqual(all.json.pairs[0], { key: 'list:00', value: 'v0' });
  t.is(all.json.truncated, false);
  const keys = all.json.pairs.map((p: { key: string }) => p.key);
  t.deepEqual(keys, [...keys].sort());
  const some = await http(node.base, 'GET', '/api/list?prefix=list:&limit=10');
  t.is(some.json.pairs.length, 10);
  t.is(some.json.truncated, true);
  t.deepEqual((await http(node.base, 'GET', '/api/list?prefix=lis*')).json.pairs, [{ key: 'lis*t:glob', value: 'glob chars are literal' }]);
});

test('JSON errors: bad JSON, missing fields, wrong types, wrong content type', async (t) => {
  const cases: Array<[unknown, number, RegExp]> = [
    ['{"key": "a", ', 400, /not valid JSON/],
    [[1, 2], 400, /JSON object/],
    ['null', 400, /JSON object/],
    [{ value: 'x' }, 400, /missing field 'key'/],
    [{ key: 'x' }, 400, /missing field 'value'/],
    [{ key: 1, value: 'x' }, 400, /'key' must be a string/],
    [{ key: 'x', value: { nested: true } }, 400, /'value' must be a string/],
  ];
  for (const [body, status, re] of cases) {
    const r = await postJson(node.base, '/api/set', body);
    t.is(r.status, status, JSON.stringify(body));
    t.regex(r.json.error, re);
  }
  const plain = await http(node.base, 'POST', '/api/set', { body: '{"key":"a","value":"b"}', headers: { 'Content-Type': 'text/plain' } });
  t.is(plain.status, 415);
  t.regex(plain.json.error, /application\/json/);
  t.is(await redis.exists('a'), 0, 'nothing refused was written');
});

test('missing and bad query parameters are 400', async (t) => {
  for (const [method, path, re] of [
    ['GET', '/api/get', /missing query parameter 'key'/],
    ['DELETE', '/api/delete', /missing query parameter 'key'/],
    ['GET', '/api/list?limit=0', /'limit'/],
    ['GET', '/api/list?limit=10001', /'limit'/],
    ['GET', '/api/list?limit=ten', /'limit'/],
  ] as const) {
    const r = await http(node.base, method, path);
    t.is(r.status, 400, path);
    t.regex(r.json.error, re);
  }
});

test('a body over 1 MiB is refused with 413, declared or streamed', async (t) => {
  const big = JSON.stringify({ key: 'big', value: 'x'.repeat(1024 * 1024 + 10) });
  const declared = await postJson(node.base, '/api/set', big);
  t.is(declared.status, 413);
  t.regex(declared.json.error, /larger than 1048576/);
  // Chunked: no Content-Length, so the cap is enforced while reading.
  const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(`${node.base}/api/set`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    for (let i = 0; i < 20; i++) req.write('x'.repeat(100_000));
    req.end();
  });
  t.is(streamed.status, 413);
  t.regex(JSON.parse(streamed.body).error, /larger than/);
  t.is(await redis.exists('big'), 0);
  t.is((await http(node.base, 'GET', '/health')).status, 200, 'the server still serves');
});

test('unknown routes are 404 and wrong methods 405 with Allow', async (t) => {
  const nf = await http(node.base, 'GET', '/api/nope');
  t.is(nf.status, 404);
  t.regex(nf.json.error, /no such route/);
  const wrong = await http(node.base, 'GET', '/api/set');
  t.is(wrong.status, 405);
  t.is(wrong.headers.get('allow'), 'POST');
  t.regex(wrong.json.error, /not allowed/);
  t.is((await http(node.base, 'POST', '/api/delete?key=a')).status, 405);
  t.is((await http(node.base, 'DELETE', '/metrics')).status, 405);
});

test('CORS: preflight on /api/stats is answered; write routes get no CORS headers', async (t) => {
  const pre = await http(node.base, 'OPTIONS', '/api/stats', { headers: { Origin: 'http://elsewhere', 'Access-Control-Request-Method': 'GET' } });
  t.is(pre.status, 204);
  t.is(pre.headers.get('access-control-allow-origin'), '*');
  t.is((await postJson(node.base, '/api/set', { key: 'c', value: 'd' })).headers.get('access-control-allow-origin'), null);
  t.is((await http(node.base, 'OPTIONS', '/api/set')).status, 405);
});

test('Redis error replies: WRONGTYPE is 409 with the error text', async (t) => {
  await redis.xadd('a-stream', '*', 'f', 'v');
  const r = await http(node.base, 'GET', '/api/get?key=a-stream');
  t.is(r.status, 409);
  t.regex(r.json.error, /^WRONGTYPE/);
});

test('GET / serves the self-contained dashboard', async (t) => {
  const r = await http(node.base, 'GET', '/');
  t.is(r.status, 200);
  t.regex(r.headers.get('content-type') ?? '', /text\/html/);
  t.regex(r.text, /<title>raftis dashboard<\/title>/);
  t.notRegex(r.text, /<script[^>]+src=|<link[^>]+href=/, 'no external scripts or styles');
});

test('GET /api/events streams a full snapshot, then one a second', async (t) => {
  const ctl = new AbortController();
  const res = await fetch(`${node.base}/api/events`, { signal: ctl.signal });
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const reader = res.body!.getReader();
  let buf = '';
  const events: any[] = [];
  const deadline = Date.now() + 5000;
  while (events.length < 2 && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += Buffer.from(value).toString('utf8');
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const chunk = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = chunk.split('\n').find((l) => l.startsWith('data: '));
      if (data) events.push(JSON.parse(data.slice(6)));
    }
  }
  ctl.abort();
  t.is(events.length, 2);
  t.true(events[0].full);
  t.is(events[0].stats.node_id, 'n1');
  t.true(Array.isArray(events[0].samples) && Array.isArray(events[0].streams));
  t.false(events[1].full);
  t.true(events[1].samples.length <= 1);
});

test('odd request targets: "*" is 400, "//host/path" is routed as a path, not another origin', async (t) => {
  const { connect } = await import('node:net');
  const raw = (target: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = connect(node.server.httpPort!, '127.0.0.1');
      let out = '';
      s.setTimeout(5000, () => reject(new Error('no answer')));
      s.on('data', (d) => (out += d.toString('latin1')));
      s.on('end', () => resolve(out));
      s.on('error', reject);
      s.write(`OPTIONS ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    });
  t.regex(await raw('*'), /^HTTP\/1\.1 400 /);
  t.regex(await raw('//evil.example/health'), /^HTTP\/1\.1 404 /);
});
