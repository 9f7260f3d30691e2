// /metrics: the exposition parses, the key series exist with the right types, and they
// move after writes (indexes, command counters, stream-group pending and lag).

import test from 'ava';
import { Redis } from 'ioredis';
import { waitUntil } from '../support/wait.ts';
import { http, parseMetrics, postJson, scrape, startHttpNode, valueOf, waitLeader } from './support.ts';

test('the exposition parses and holds the key series with their types', async (t) => {
  const n = await startHttpNode(t);
  await waitLeader(n);
  const r = await http(n.base, 'GET', '/metrics');
  t.is(r.status, 200);
  t.regex(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const { series, types } = parseMetrics(r.text);
  const expected: Record<string, string> = {
    raftis_raft_role: 'gauge', raftis_raft_term: 'gauge', raftis_raft_commit_index: 'gauge', raftis_raft_applied_index: 'gauge',
    raftis_raft_last_log_index: 'gauge', raftis_raft_log_entries: 'gauge', raftis_snapshot_age_seconds: 'gauge',
    raftis_raft_log_appended_entries_total: 'counter', raftis_connected_clients: 'gauge', raftis_blocked_clients: 'gauge',
    raftis_nats_connected: 'gauge', raftis_commands_total: 'counter', raftis_commands_duration_seconds_total: 'counter',
    raftis_stream_group_pending: 'gauge', raftis_stream_group_lag: 'gauge', raftis_http_request_duration_seconds: 'histogram',
    process_cpu_user_seconds_total: 'counter', raftis_wal_fsync_seconds: 'histogram', raftis_raft_proposals_total: 'counter',
    raftis_forwarded_writes_total: 'counter', raftis_command_duration_seconds: 'histogram',
  };
  for (const [name, type] of Object.entries(expected)) t.is(types.get(name), type, name);
  t.is(valueOf(series, 'raftis_raft_role', { role: 'leader' }), 1);
  t.is(valueOf(series, 'raftis_raft_role', { role: 'follower' }), 0);
  t.is(valueOf(series, 'raftis_raft_is_leader'), 1);
  t.true(valueOf(series, 'raftis_raft_term')! >= 1);
  t.is(valueOf(series, 'raftis_nats_connected'), 1, 'a single node needs no NATS');
  t.is(valueOf(series, 'raftis_nats_state', { state: 'connected' }), undefined, 'no NATS state series without NATS');
});

test('indexes, log size and command counters move after writes', async (t) => {
  const n = await startHttpNode(t);
  await waitLeader(n);
  const before = await scrape(n.base);
  for (let i = 0; i < 5; i++) t.is((await postJson(n.base, '/api/set', { key: `k${i}`, value: 'v' })).status, 200);
  await http(n.base, 'GET', '/api/get?key=k1');
  await http(n.base, 'GET', '/api/get?key=WRONG');
  const after = await scrape(n.base);
  for (const name of ['raftis_raft_commit_index', 'raftis_raft_applied_index', 'raftis_raft_last_log_index', 'raftis_raft_log_entries']) {
    t.true(valueOf(after, name)! >= valueOf(before, name)! + 5, name);
  }
  t.true(valueOf(after, 'raftis_raft_log_appended_entries_total')! >= 5);
  t.is(valueOf(after, 'raftis_commands_total', { cmd: 'set' }), 5);
  t.is(valueOf(after, 'raftis_commands_total', { cmd: 'get' }), 2);
  t.is(valueOf(after, 'raftis_commands_failed_total', { cmd: 'set' }), 0);
  t.true(valueOf(after, 'raftis_commands_duration_seconds_total', { cmd: 'set' })! > 0);
  t.is(valueOf(after, 'raftis_http_requests_total', { route: '/api/set', method: 'POST', status: '200' }), 5);
  t.is(valueOf(after, 'raftis_http_request_duration_seconds_count', { route: '/api/set' }), 5);
  t.is(valueOf(after, 'raftis_command_duration_seconds_count', { command: 'set' }), 5);
  t.true(valueOf(after, 'raftis_raft_proposals_total')! - (valueOf(before, 'raftis_raft_proposals_total') ?? 0) >= 5);
  t.true(valueOf(after, 'raftis_wal_fsync_seconds_count')! > (valueOf(before, 'raftis_wal_fsync_seconds_count') ?? 0), 'each write batch was fsync\'d');
});

test('clients, blocked clients, and stream-group pending and lag follow the state', async (t) => {
  const n = await startHttpNode(t);
  await waitLeader(n);
  const r = new Redis({ port: n.server.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  const blocker = new Redis({ port: n.server.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  t.teardown(() => {
    r.disconnect();
    blocker.disconnect();
  });
  for (let i = 0; i < 10; i++) await r.xadd('jobs', '*', 'n', String(i));
  await r.xgroup('CREATE', 'jobs', 'workers', '0');
  await r.xgroup('CREATE', 'jobs', 'audit', '$');
  await r.xreadgroup('GROUP', 'workers', 'w1', 'COUNT', '4', 'STREAMS', 'jobs', '>');
  const group = { stream: 'jobs', group: 'workers', db: '0' };
  // Stream figures are refreshed once a second, and a new stream is found once the state
  // committed it (every 5 s): wait for them (bounded).
  let s = await scrape(n.base);
  await waitUntil(async () => valueOf((s = await scrape(n.base)), 'raftis_stream_group_pending', group) === 4, 'pending 4 in /metrics', 12_000, 100);
  t.is(valueOf(s, 'raftis_stream_group_lag', group), 6);
  t.is(valueOf(s, 'raftis_stream_group_pending', { stream: 'jobs', group: 'audit' }), 0);
  t.is(valueOf(s, 'raftis_stream_group_lag', { stream: 'jobs', group: 'audit' }), 0);
  t.is(valueOf(s, 'raftis_stream_group_consumers', group), 1);
  t.true(valueOf(s, 'raftis_connected_clients')! >= 2);
  const ids = (await r.xreadgroup('GROUP', 'workers', 'w1', 'STREAMS', 'jobs', '0')) as Array<[string, Array<[string, string[]]>]>;
  await r.xack('jobs', 'workers', ids[0]![1][0]![0]);
  await waitUntil(async () => valueOf((s = await scrape(n.base)), 'raftis_stream_group_pending', group) === 3, 'pending 3 after XACK', 5000, 100);
  // A blocked reader shows in raftis_blocked_clients.
  const blocked = blocker.xread('BLOCK', 10_000, 'STREAMS', 'jobs', '$');
  await waitUntil(async () => valueOf(await scrape(n.base), 'raftis_blocked_clients') === 1, 'one blocked client', 5000, 50);
  await r.xadd('jobs', '*', 'n', 'wake');
  await blocked;
  const sse = await http(n.base, 'GET', '/api/stats');
  t.is(sse.json.blocked_clients, 0);
});
