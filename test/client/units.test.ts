// The client's pure parts without a server: backoff bounds and jitter, error
// classification by fate, the retry decision, addresses, options, RAFT NODES parsing and
// the topology's choice of target (fake probe and clock).

import test from 'ava';
import { backoffDelayMs, DEFAULT_BACKOFF } from '../../src/client/backoff.ts';
import { classify, ClientClosedError, NoConnectionError, OutcomeUnknownError, RetryDeadlineError } from '../../src/client/errors.ts';
import { formatAddress, parseAddress, resolveOptions, type Address } from '../../src/client/options.ts';
import { isReadOnly } from '../../src/client/read_only.ts';
import { afterFailure, startAttempts } from '../../src/client/retry_policy.ts';
import { parseRaftNodes, Topology } from '../../src/client/topology.ts';

/** An error shaped like ioredis's ReplyError (name "ReplyError", the server's text). */
const reply = (message: string): Error => Object.assign(new Error(message), { name: 'ReplyError' });

test('backoff: within [ceiling/2, ceiling], ceiling = min(cap, base·2^(n-1)), for random 0 and ~1', (t) => {
  const o = { baseMs: 20, capMs: 1000 };
  for (let n = 1; n <= 40; n++) {
    const ceiling = Math.min(o.capMs, o.baseMs * 2 ** (n - 1));
    t.is(backoffDelayMs(n, o, () => 0), ceiling / 2);
    t.is(backoffDelayMs(n, o, () => 0.999999), ceiling / 2 + 0.999999 * (ceiling / 2));
    t.true(backoffDelayMs(n, o, () => 0.999999) <= ceiling);
  }
  t.is(backoffDelayMs(2000, o, () => 1), 1000, 'huge attempt numbers stay at the cap');
  t.throws(() => backoffDelayMs(0), { instanceOf: RangeError });
});

test('backoff: jitter spreads retries (Math.random), mean near 3/4 of the ceiling', (t) => {
  const xs = Array.from({ length: 2000 }, () => backoffDelayMs(6, DEFAULT_BACKOFF));
  const ceiling = Math.min(DEFAULT_BACKOFF.capMs, DEFAULT_BACKOFF.baseMs * 32);
  t.true(xs.every((x) => x >= ceiling / 2 && x <= ceiling));
  t.true(new Set(xs.map((x) => Math.round(x))).size > 50, 'not all the same');
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  t.true(Math.abs(mean - 0.75 * ceiling) < 0.05 * ceiling, `mean ${mean}`);
});

test('classify: CLUSTERDOWN/TRYAGAIN/LOADING and never-sent are not applied; UNKNOWN and lost connections unknown; others final', (t) => {
  t.is(classify(reply('CLUSTERDOWN no leader elected yet; retry')), 'not-applied');
  t.is(classify(reply('TRYAGAIN the write was not applied: leadership changed before it committed; retry')), 'not-applied');
  t.is(classify(reply('LOADING Redis is loading the dataset in memory')), 'not-applied');
  t.is(classify(new Error("Stream isn't writeable and enableOfflineQueue options is false")), 'not-applied');
  t.is(classify(new NoConnectionError('no reachable leader known yet')), 'not-applied');
  t.is(classify(new ClientClosedError()), 'not-applied');
  t.is(classify(reply('UNKNOWN the write was proposed but its outcome is unknown (leadership changed); check before retrying')), 'unknown');
  t.is(classify(new Error('Connection is closed.')), 'unknown');
  t.is(classify(new Error('Command timed out')), 'unknown');
  t.is(classify(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })), 'unknown');
  t.is(classify('weird'), 'unknown');
  t.is(classify(reply('WRONGTYPE Operation against a key holding the wrong kind of value')), 'final');
  t.is(classify(reply('ERR syntax error')), 'final');
  t.is(classify(reply('CLUSTERDOWNX not a code')), 'final');
});

const policy = { retryDeadlineMs: 1000, backoff: { baseMs: 100, capMs: 400 }, random: () => 0.5 };

test('retry policy: not-applied errors retry with growing waits until the deadline, then RetryDeadlineError', (t) => {
  const a = startAttempts('set', false, 0, policy);
  const err = reply('CLUSTERDOWN no leader elected yet; retry');
  const waits: number[] = [];
  let now = 0;
  for (;;) {
    const s = afterFailure(a, err, now, policy);
    if (s.kind === 'fail') {
      t.true(s.error instanceof RetryDeadlineError);
      t.is((s.error as RetryDeadlineError).attempts, waits.length + 1);
      t.is(s.error.cause, err);
      break;
    }
    waits.push(s.delayMs);
    now += s.delayMs;
  }
  t.deepEqual(waits, [75, 150, 300, 300]);
  t.true(now <= 1000);
});

test('retry policy: an unknown outcome fails a write at once, but is retried for read-only or idempotent commands', (t) => {
  const lost = new Error('Connection is closed.');
  const w = afterFailure(startAttempts('set', false, 0, policy), lost, 0, policy);
  t.is(w.kind, 'fail');
  t.true(w.kind === 'fail' && w.error instanceof OutcomeUnknownError && w.error.command === 'set' && w.error.cause === lost);
  t.is(afterFailure(startAttempts('get', isReadOnly('get'), 0, policy), lost, 0, policy).kind, 'retry');
  const idem = startAttempts('set', true, 0, policy);
  t.is(afterFailure(idem, lost, 0, policy).kind, 'retry');
  // An idempotent write that may have been applied is never reported as "not applied".
  const last = afterFailure(idem, reply('CLUSTERDOWN no leader'), 2000, policy);
  t.true(last.kind === 'fail' && last.error instanceof OutcomeUnknownError);
  const final = afterFailure(startAttempts('incr', false, 0, policy), reply('ERR value is not an integer or out of range'), 0, policy);
  t.true(final.kind === 'fail' && final.error.message === 'ERR value is not an integer or out of range');
});

test('read-only table: reads retry, writes and unknown commands do not', (t) => {
  for (const c of ['get', 'MGET', 'scan', 'xrange', 'ping']) t.true(isReadOnly(c), c);
  for (const c of ['set', 'del', 'incr', 'xadd', 'xreadgroup', 'raft', 'frobnicate']) t.false(isReadOnly(c), c);
});

test('addresses and options', (t) => {
  t.deepEqual(parseAddress('10.0.0.1:6379'), { host: '10.0.0.1', port: 6379 });
  t.deepEqual(parseAddress('[::1]:7000'), { host: '::1', port: 7000 });
  t.is(formatAddress(parseAddress('[::1]:7000')), '[::1]:7000');
  for (const bad of ['host', 'host:0', 'host:65536', ':6379', 'a b:1']) t.throws(() => parseAddress(bad), { instanceOf: TypeError }, bad);
  const o = resolveOptions({ nodes: ['a:1'] });
  t.is(o.retryDeadlineMs, 10_000);
  t.is(o.poolSize, 4);
  t.throws(() => resolveOptions({ nodes: [] }), { message: /nodes/ });
  t.throws(() => resolveOptions({ nodes: ['a:1'], poolSize: 0 }), { message: /poolSize/ });
  t.throws(() => resolveOptions({ nodes: ['a:1'], backoff: { baseMs: 100, capMs: 50 } }), { message: /capMs/ });
});

/** RAFT NODES as ioredis hands it over (RESP3 maps flattened, booleans as 1/0). */
const row = (id: string, addr: string, leader: boolean, self = false): unknown[] =>
  ['id', id, 'role', 'voter', 'leader', leader ? 1 : 0, 'self', self ? 1 : 0, 'match_index', 5, 'replication', '', 'addr', addr, 'http', ''];

test('parseRaftNodes: flattened maps and objects; rows without id left out; no address = null', (t) => {
  const ms = parseRaftNodes([row('n1', 'h:1', true, true), row('n2', '', false), { id: 'n3', role: 'learner', leader: false, self: false, addr: 'h:3' }, ['bogus']]);
  t.deepEqual(ms, [
    { id: 'n1', addr: { host: 'h', port: 1 }, voter: true, leader: true, self: true },
    { id: 'n2', addr: null, voter: true, leader: false, self: false },
    { id: 'n3', addr: { host: 'h', port: 3 }, voter: false, leader: false, self: false },
  ]);
  t.deepEqual(parseRaftNodes('nope'), []);
});

test('topology: learns the leader from any node, waits leaderWaitMs after the leader fails, then another node; a new leader ends it', async (t) => {
  let now = 0;
  let leader = 'n1';
  const addrOf = (id: string): string => `h:${id.slice(1)}`;
  const down = new Set<string>();
  const probe = async (a: Address): Promise<unknown> => {
    if (down.has(formatAddress(a))) throw new Error('ECONNREFUSED');
    const self = `n${a.port}`;
    return ['n1', 'n2', 'n3'].map((id) => row(id, addrOf(id), id === leader, id === self));
  };
  const topo = new Topology({ seeds: [parseAddress('h:2')], probe, failureMemoryMs: 1000, leaderWaitMs: 500, now: () => now });
  t.is(topo.target(), null, 'nothing known yet: wait');
  await topo.refresh();
  t.deepEqual(topo.target(), parseAddress('h:1'));
  t.false(topo.degraded());
  // The leader dies: the others still name it until an election.
  down.add('h:1');
  topo.noteFailure(parseAddress('h:1'));
  await topo.refresh();
  t.true(topo.degraded());
  t.is(topo.target(), null);
  now = 600;
  t.deepEqual(topo.target(), parseAddress('h:2'), 'after leaderWaitMs: another node, which forwards');
  leader = 'n3';
  await topo.refresh();
  t.deepEqual(topo.target(), parseAddress('h:3'));
  t.false(topo.degraded());
  t.deepEqual(topo.members().map((m) => m.id), ['n1', 'n2', 'n3']);
});

test('topology: the leader most nodes name wins; a node naming itself breaks ties', async (t) => {
  const views: Record<number, [string, boolean][]> = {
    1: [['n1', true], ['n2', false], ['n3', false]],
    2: [['n1', false], ['n2', true], ['n3', false]],
    3: [['n1', false], ['n2', true], ['n3', false]],
  };
  const probe = async (a: Address): Promise<unknown> => views[a.port]!.map(([id, l]) => row(id, `h:${id.slice(1)}`, l, id === `n${a.port}`));
  const topo = new Topology({ seeds: [1, 2, 3].map((p) => ({ host: 'h', port: p })), probe, failureMemoryMs: 1000, leaderWaitMs: 0 });
  await topo.refresh();
  t.is(formatAddress(topo.leader()!), 'h:2');
});
