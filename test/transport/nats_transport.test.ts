// NatsTransport against a real nats-server started by each test: frames between two
// and three nodes, reconnection through a server restart, fault injection, the payload
// limit, authentication. Every wait is bounded; order per sender (which core NATS keeps
// on one connection) is what proves a dropped frame never arrives.

import test, { type ExecutionContext } from 'ava';
import type { NodeId } from '../../consensus/types.ts';
import { FrameTooLargeError, NatsTransport, TransportClosedError, type NatsTransportOptions, type TransportState } from '../../src/replication/transport/index.ts';
import { Prng } from '../support/prng.ts';
import { waitUntil } from '../support/wait.ts';
import { memoryLog, startNats } from './nats_server.ts';

const WAIT_MS = 10_000;
const id = (s: string): NodeId => s as NodeId;

interface Node {
  readonly t: NatsTransport;
  readonly inbox: Array<{ readonly from: NodeId; readonly frame: Buffer }>;
  readonly states: TransportState[];
}

async function node(t: ExecutionContext, port: number, name: string, extra: Partial<NatsTransportOptions> = {}): Promise<Node> {
  const log = memoryLog(name);
  const transport = new NatsTransport({
    servers: [`127.0.0.1:${port}`],
    clusterId: 'c1',
    nodeId: id(name),
    logger: log,
    faultInjection: true,
    reconnectWaitMinMs: 50,
    reconnectWaitMaxMs: 400,
    reconnectJitterMs: 20,
    random: ((p) => () => p.float())(new Prng(port)),
    ...extra,
  });
  const n: Node = { t: transport, inbox: [], states: [] };
  transport.onFrame((from, frame) => n.inbox.push({ from, frame: Buffer.from(frame) }));
  transport.onStateChange((s) => n.states.push(s));
  t.teardown(() => transport.close());
  t.teardown(() => {
    if (!t.passed) t.log(`${name} log:\n${log.lines.slice(-50).join('')}`);
  });
  await transport.start();
  return n;
}

const got = (n: Node, from: string, payload: string): boolean => n.inbox.some((m) => m.from === from && m.frame.toString() === payload);
const payloads = (n: Node, from: string): string[] => n.inbox.filter((m) => m.from === from).map((m) => m.frame.toString());

test('two transports exchange frames both ways, in order per sender', async (t) => {
  const nats = await startNats(t);
  const a = await node(t, nats.port, 'a');
  const b = await node(t, nats.port, 'b');
  t.is(a.t.state(), 'connected');
  t.is(a.t.subjectOf(id('b')), 'raftis.c1.b');
  const sent: string[] = [];
  for (let i = 0; i < 500; i++) {
    sent.push(`a${i}`);
    t.true(a.t.send(id('b'), Buffer.from(`a${i}`)));
  }
  t.true(b.t.send(id('a'), Buffer.from('hello a')));
  const binary = new Prng(7).bytes(70_000);
  t.true(a.t.send(id('b'), binary));
  await waitUntil(() => got(a, 'b', 'hello a') && b.inbox.length === 501, 'frames to arrive', WAIT_MS);
  t.deepEqual(payloads(b, 'a').slice(0, 500), sent);
  t.deepEqual(b.inbox[500]!.frame, binary);
  t.is(a.t.stats().framesSent, 501);
  t.is(b.t.stats().framesReceived, 501);
});

test('three transports: each frame reaches exactly its addressee', async (t) => {
  const nats = await startNats(t);
  const nodes = { a: await node(t, nats.port, 'a'), b: await node(t, nats.port, 'b'), c: await node(t, nats.port, 'c') };
  for (const [from, n] of Object.entries(nodes)) {
    for (const to of Object.keys(nodes)) if (to !== from) n.t.send(id(to), Buffer.from(`${from}->${to}`));
  }
  await waitUntil(() => Object.values(nodes).every((n) => n.inbox.length >= 2), 'two frames at every node', WAIT_MS);
  for (const [name, n] of Object.entries(nodes)) {
    const others = Object.keys(nodes).filter((x) => x !== name);
    t.deepEqual(n.inbox.map((m) => `${m.from}:${m.frame.toString()}`).sort(), others.map((o) => `${o}:${o}->${name}`).sort());
  }
});

test('a nats-server restart: transports report the outage, reconnect and carry frames again', async (t) => {
  const first = await startNats(t);
  const a = await node(t, first.port, 'a');
  const b = await node(t, first.port, 'b');
  a.t.send(id('b'), Buffer.from('before'));
  await waitUntil(() => got(b, 'a', 'before'), 'a frame before the restart', WAIT_MS);

  await first.stop();
  await waitUntil(() => a.t.state() !== 'connected' && b.t.state() !== 'connected', 'both to notice the outage', WAIT_MS);
  t.false(a.t.send(id('b'), Buffer.from('during')), 'a frame sent during the outage is dropped, not queued');
  t.is(a.t.stats().framesDroppedDisconnected, 1);
  await waitUntil(() => a.states.includes('reconnecting'), 'a reconnect attempt', WAIT_MS);

  await startNats(t, { port: first.port });
  await waitUntil(() => a.t.state() === 'connected' && b.t.state() === 'connected', 'both to reconnect', WAIT_MS * 2);
  for (const n of [a, b]) {
    const tail = n.states.slice(n.states.lastIndexOf('reconnecting'));
    t.deepEqual(tail, ['reconnecting', 'connected'], `state history ${n.states.join(' → ')}`);
    t.is(n.states[0], 'reconnecting'); // the first connection attempt
  }
  // The subscription is restored: frames flow both ways again.
  await waitUntil(() => {
    a.t.send(id('b'), Buffer.from('after'));
    b.t.send(id('a'), Buffer.from('after'));
    return got(b, 'a', 'after') && got(a, 'b', 'after');
  }, 'frames after the restart', WAIT_MS, 50);
  t.false(got(b, 'a', 'during'));
});

test('start() keeps trying until a server appears', async (t) => {
  const nats = await startNats(t);
  const port = nats.port;
  await nats.stop();
  const log = memoryLog('late');
  const late = new NatsTransport({ servers: [`127.0.0.1:${port}`], clusterId: 'c1', nodeId: id('late'), logger: log, reconnectWaitMinMs: 50, reconnectWaitMaxMs: 200 });
  t.teardown(() => late.close());
  const started = late.start();
  await waitUntil(() => log.lines.some((l) => l.includes('NATS connect failed')), 'a failed first attempt', WAIT_MS);
  t.not(late.state(), 'connected');
  await startNats(t, { port });
  await started;
  t.is(late.state(), 'connected');
});

test('close() ends the first-connection attempts and start() rejects', async (t) => {
  const nats = await startNats(t);
  const port = nats.port;
  await nats.stop();
  const never = new NatsTransport({ servers: [`127.0.0.1:${port}`], clusterId: 'c1', nodeId: id('x'), logger: memoryLog('x'), reconnectWaitMinMs: 50 });
  const started = never.start();
  await never.close();
  await t.throwsAsync(started, { instanceOf: TransportClosedError });
  t.is(never.state(), 'closed');
  t.throws(() => never.send(id('y'), Buffer.from('z')), { instanceOf: TransportClosedError });
});

test('fault injection drops frames to and from chosen peers until heal()', async (t) => {
  const nats = await startNats(t);
  const a = await node(t, nats.port, 'a');
  const b = await node(t, nats.port, 'b');
  const c = await node(t, nats.port, 'c');

  a.t.dropTo([id('b')]);
  t.false(a.t.send(id('b'), Buffer.from('lost-out')));
  t.true(a.t.send(id('c'), Buffer.from('kept-out')));
  b.t.send(id('a'), Buffer.from('b-still-talks'));
  a.t.dropFrom([id('c')]);
  t.true(c.t.send(id('a'), Buffer.from('lost-in')), 'published: the receiver drops it');
  await waitUntil(() => got(c, 'a', 'kept-out') && got(a, 'b', 'b-still-talks'), 'the frames that are not dropped', WAIT_MS);
  // Once the inbound drop has surely happened (C's next frame arrives after it), heal.
  await waitUntil(() => a.t.stats().framesDroppedInjected === 2, 'the inbound drop', WAIT_MS);

  a.t.heal();
  a.t.send(id('b'), Buffer.from('healed-out'));
  c.t.send(id('a'), Buffer.from('healed-in'));
  await waitUntil(() => got(b, 'a', 'healed-out') && got(a, 'c', 'healed-in'), 'frames after heal', WAIT_MS);
  // Core NATS keeps order per connection: a dropped frame would have arrived first.
  t.deepEqual(payloads(b, 'a'), ['healed-out']);
  t.deepEqual(payloads(a, 'c'), ['healed-in']);

  const plain = new NatsTransport({ servers: [`127.0.0.1:${nats.port}`], clusterId: 'c1', nodeId: id('p'), logger: memoryLog('p') });
  t.throws(() => plain.dropTo([id('a')]), { message: /fault injection is off/ });
  await plain.close();
});

test('a frame over the payload limit goes in pieces and arrives whole, in order with the others; past 80 MiB it is refused', async (t) => {
  const nats = await startNats(t);
  const a = await node(t, nats.port, 'a');
  const b = await node(t, nats.port, 'b');
  const max = a.t.maxFrameBytes();
  t.is(max, 1024 * 1024 - 3, 'the server default of 1 MiB less the envelope of node "a"');
  const big = Buffer.alloc(3 * max + 12345);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
  t.true(a.t.send(id('b'), Buffer.alloc(max, 7)), 'the largest frame in one message');
  t.true(a.t.send(id('b'), big));
  t.true(a.t.send(id('b'), Buffer.from('after')));
  await waitUntil(() => b.inbox.length === 3, 'three frames', WAIT_MS);
  t.deepEqual(b.inbox.map((m) => m.frame.length), [max, big.length, 5]);
  t.true(b.inbox[1]!.frame.equals(big), 'the pieces are put back together byte for byte');
  t.is(a.t.stats().framesFragmented, 1);
  const err = t.throws(() => a.t.send(id('b'), Buffer.alloc(80 * 1024 * 1024 + 1)), { instanceOf: FrameTooLargeError });
  t.is(err.limitBytes, 80 * 1024 * 1024);

  const small = await node(t, nats.port, 'small', { maxPayloadBytes: 4096 });
  t.is(small.t.maxFrameBytes(), 4096 - 2 - 'small'.length);
  t.true(small.t.send(id('b'), big.subarray(0, 50_000)), 'our own cap splits too');
  await waitUntil(() => b.inbox.length === 4, 'the frame from the capped node', WAIT_MS);
  t.true(b.inbox[3]!.frame.equals(big.subarray(0, 50_000)));
});

test('the frames of one turn to a peer share one message, in order, also around a frame that goes in pieces', async (t) => {
  const nats = await startNats(t);
  const a = await node(t, nats.port, 'a');
  const b = await node(t, nats.port, 'b');
  const before = a.t.stats().messagesSent;
  for (let i = 0; i < 100; i++) a.t.send(id('b'), Buffer.from(`s${i}`));
  await waitUntil(() => b.inbox.length === 100, 'a turn of small frames', WAIT_MS);
  t.deepEqual(payloads(b, 'a'), Array.from({ length: 100 }, (_, i) => `s${i}`));
  t.is(a.t.stats().messagesSent - before, 1, 'one NATS message for the turn');
  const big = Buffer.alloc(2 * a.t.maxFrameBytes(), 'x');
  a.t.send(id('b'), Buffer.from('before'));
  a.t.send(id('b'), big);
  a.t.send(id('b'), Buffer.from('after'));
  await waitUntil(() => b.inbox.length === 103, 'small, big, small', WAIT_MS);
  t.deepEqual(b.inbox.slice(100).map((m) => (m.frame.length > 100 ? 'big' : m.frame.toString())), ['before', 'big', 'after']);
  t.is(a.t.stats().fragmentedFramesLost + b.t.stats().fragmentedFramesLost, 0);
});

test("frames sent with 'turn' from separate callbacks of one loop turn share one message; 'now' flushes what is queued", async (t) => {
  const nats = await startNats(t);
  const a = await node(t, nats.port, 'a');
  const b = await node(t, nats.port, 'b');
  /** Runs `n` callbacks in one check phase of the event loop, each sending one frame. */
  const sendFromCallbacks = (n: number, prefix: string, when: 'now' | 'turn'): Promise<void> =>
    new Promise((resolve) => {
      for (let i = 0; i < n; i++) setImmediate(() => a.t.send(id('b'), Buffer.from(`${prefix}${i}`), when));
      setImmediate(resolve);
    });

  let before = a.t.stats().messagesSent;
  await sendFromCallbacks(10, 't', 'turn');
  await waitUntil(() => b.inbox.length === 10, 'the frames sent at the end of the turn', WAIT_MS);
  t.deepEqual(payloads(b, 'a'), Array.from({ length: 10 }, (_, i) => `t${i}`));
  t.is(a.t.stats().messagesSent - before, 1, 'one NATS message for ten callbacks');

  before = a.t.stats().messagesSent;
  await sendFromCallbacks(10, 'n', 'now');
  await waitUntil(() => b.inbox.length === 20, "the frames sent with 'now'", WAIT_MS);
  t.is(a.t.stats().messagesSent - before, 10, "'now': a message per callback");

  before = a.t.stats().messagesSent;
  a.t.send(id('b'), Buffer.from('waits'), 'turn');
  a.t.send(id('b'), Buffer.from('urgent'));
  await Promise.resolve(); // the microtask flush has run: both went, in order, in one message
  t.is(a.t.stats().messagesSent - before, 1);
  await waitUntil(() => b.inbox.length === 22, 'both frames', WAIT_MS);
  t.deepEqual(payloads(b, 'a').slice(20), ['waits', 'urgent']);
});

test('authentication with user and password', async (t) => {
  const nats = await startNats(t, { flags: ['--user', 'raft', '--pass', 's3cret'] });
  const a = await node(t, nats.port, 'a', { user: 'raft', pass: 's3cret' });
  const b = await node(t, nats.port, 'b', { user: 'raft', pass: 's3cret' });
  a.t.send(id('b'), Buffer.from('authed'));
  await waitUntil(() => got(b, 'a', 'authed'), 'a frame between authenticated nodes', WAIT_MS);
  t.deepEqual(payloads(b, 'a'), ['authed']);

  const log = memoryLog('intruder');
  const intruder = new NatsTransport({ servers: [`127.0.0.1:${nats.port}`], clusterId: 'c1', nodeId: id('i'), logger: log, user: 'raft', pass: 'wrong', reconnectWaitMinMs: 50 });
  const started = intruder.start();
  await waitUntil(() => log.lines.some((l) => /NATS connect failed.*[Aa]uthorization/.test(l)), 'the wrong password to be refused', WAIT_MS);
  t.not(intruder.state(), 'connected');
  await intruder.close();
  await t.throwsAsync(started, { instanceOf: TransportClosedError });
});

test('ids that cannot be subject tokens are refused', (t) => {
  const base = { servers: ['127.0.0.1:1'], clusterId: 'c1', nodeId: id('a'), logger: memoryLog('a') };
  for (const bad of ['', 'a.b', 'a*', '>', 'a b', 'x'.repeat(65)]) {
    t.throws(() => new NatsTransport({ ...base, nodeId: id(bad) }), { instanceOf: RangeError }, bad);
    t.throws(() => new NatsTransport({ ...base, clusterId: bad }), { instanceOf: RangeError }, bad);
  }
  const ok = new NatsTransport(base);
  t.throws(() => ok.send(id('b.c'), Buffer.alloc(1)), { instanceOf: RangeError });
});
