// /health's verdict: the pure rule for every reason, then real nodes that cannot serve
// (NATS unreachable; NATS up but no quorum), and the password on key/value routes.

import test from 'ava';
import { healthOf, type NodeStats } from '../../src/admin/index.ts';
import { startNats } from '../transport/nats_server.ts';
import { freePort } from '../support/processes.ts';
import { waitUntil } from '../support/wait.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';
import { http, postJson, quiet, startHttpNode, waitLeader } from './support.ts';

const stats = (over: Partial<NodeStats>): NodeStats => ({
  node_id: 'n1', state: 'follower', raft_role: 'follower', leader: 'n2', term: 3, commit_index: 500, applied_index: 500,
  last_log_index: 500, first_log_index: 1, log_entries: 500, apply_lag: 0, nodes: [], nats: 'connected', uptime_seconds: 1,
  connected_clients: 0, blocked_clients: 0, last_snapshot_index: 0, last_snapshot_age_seconds: 1, ops_per_sec: 0, latency_avg_us: 0, time_ms: 0,
  ...over,
});

test('healthOf: ok, and each reason in its order', (t) => {
  t.is(healthOf(stats({}), 100).status, 'ok');
  t.is(healthOf(stats({ nats: 'none' }), 100).status, 'ok', 'a single node needs no NATS');
  t.is(healthOf(stats({ apply_lag: 100 }), 100).status, 'ok', 'a small apply lag is fine');
  const reason = (s: NodeStats): string | undefined => {
    const h = healthOf(s, 100);
    return h.status === 'unavailable' ? h.reason : undefined;
  };
  t.is(reason(stats({ apply_lag: 101 })), 'catching up');
  t.is(reason(stats({ leader: null })), 'no leader known');
  t.is(reason(stats({ nats: 'reconnecting' })), 'nats disconnected');
  t.is(reason(stats({ nats: 'disconnected', leader: null, apply_lag: 1000 })), 'nats disconnected', 'the transport first');
  t.is(reason(stats({ leader: null, apply_lag: 1000 })), 'no leader known');
});

test('a cluster node whose NATS is unreachable is 503 "nats disconnected"', async (t) => {
  const deadPort = await freePort();
  const n = await startHttpNode(t, ['--nats', `nats://127.0.0.1:${deadPort}`, '--bootstrap', 'n1,n2,n3']);
  const r = await http(n.base, 'GET', '/health');
  t.is(r.status, 503);
  t.is(r.json.status, 'unavailable');
  t.is(r.json.reason, 'nats disconnected');
  t.not((await http(n.base, 'GET', '/api/stats')).json.nats, 'connected');
});

test('a cluster node with NATS but no quorum is 503 "no leader known"; its writes are 503 CLUSTERDOWN', async (t) => {
  const nats = await startNats(t);
  const n = await startHttpNode(t, ['--nats', `nats://127.0.0.1:${nats.port}`, '--bootstrap', 'n1,n2,n3']);
  await waitUntil(async () => (await http(n.base, 'GET', '/api/stats')).json.nats === 'connected', 'NATS to connect', 10_000);
  const r = await http(n.base, 'GET', '/health');
  t.is(r.status, 503);
  t.is(r.json.reason, 'no leader known');
  const w = await postJson(n.base, '/api/set', { key: 'k', value: 'v' });
  t.is(w.status, 503);
  t.regex(w.json.error, /^CLUSTERDOWN/);
  const g = await http(n.base, 'GET', '/api/get?key=k');
  t.is(g.status, 503, 'a linearizable read without a leader');
});

test('with requirepass, key/value routes need the password (Bearer or Basic); stats and health do not', async (t) => {
  const n = await startHttpNode(t, ['--requirepass', 's3cret']);
  await waitLeader(n);
  const denied = await postJson(n.base, '/api/set', { key: 'k', value: 'v' });
  t.is(denied.status, 401);
  t.regex(denied.json.error, /^NOAUTH/);
  t.is((await postJson(n.base, '/api/set', { key: 'k', value: 'v' }, { Authorization: 'Bearer wrong' })).status, 401);
  t.deepEqual((await postJson(n.base, '/api/set', { key: 'k', value: 'v' }, { Authorization: 'Bearer s3cret' })).json, { success: true });
  const basic = `Basic ${Buffer.from('any:s3cret').toString('base64')}`;
  t.deepEqual((await http(n.base, 'GET', '/api/get?key=k', { headers: { Authorization: basic } })).json, { value: 'v', found: true });
  t.is((await http(n.base, 'GET', '/api/list')).status, 401);
  t.is((await http(n.base, 'GET', '/health')).status, 200);
  t.is((await http(n.base, 'GET', '/api/stats')).status, 200);
});

test('an HTTP port already in use fails the start (the node it began is closed again)', async (t) => {
  const a = await startHttpNode(t);
  const dir = await mkdtemp(join(tmpdir(), 'raftis-admin-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const err = await t.throwsAsync(startServer(parseConfig(['--port', '0', '--http-port', String(a.server.httpPort), '--dir', dir], {}), quiet));
  t.regex(String((err as NodeJS.ErrnoException).code), /EADDRINUSE/);
  // The same data dir starts cleanly afterwards: nothing was left open on it.
  const again = await startServer(parseConfig(['--port', '0', '--http-port', '0', '--dir', dir], {}), quiet);
  await again.stop();
  t.pass();
});
