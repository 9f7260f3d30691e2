// How the client reports a command's fate, against a scripted RESP server (this file's
// fake node): a SET whose connection drops after it was sent is OutcomeUnknownError (not
// retried), unless declared idempotent; CLUSTERDOWN is retried until the deadline, then
// RetryDeadlineError; a node that cannot be reached at all is retried, never "unknown".

import test from 'ava';
import { createServer, type Server, type Socket } from 'node:net';
import { RequestDecoder } from '../../protocol/index.ts';
import { createClient, NoConnectionError, OutcomeUnknownError, RetryDeadlineError } from '../../src/client/index.ts';
import { freePort } from '../support/processes.ts';
import { within } from '../support/wait.ts';

const bulk = (s: string): string => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;

/** A one-node "cluster": answers the handshake and RAFT NODES; `script` answers the rest (null = drop the connection). */
async function fakeNode(t: import('ava').ExecutionContext, script: (cmd: string[], calls: number) => string | null): Promise<{ port: number; calls: Map<string, number> }> {
  const port = await freePort();
  const calls = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    const dec = new RequestDecoder();
    s.on('data', (chunk) => {
      dec.push(Buffer.from(chunk));
      for (let c = dec.next(); Array.isArray(c); c = dec.next()) {
        const cmd = c.map((b) => b.toString());
        const name = cmd[0]!.toLowerCase();
        calls.set(name, (calls.get(name) ?? 0) + 1);
        let out: string | null;
        if (name === 'hello') out = "-ERR unknown command 'HELLO'\r\n"; // ioredis falls back to RESP2
        else if (name === 'client' || name === 'select') out = '+OK\r\n';
        else if (name === 'raft') out = `*1\r\n*8\r\n${['id', 'n1', 'role', 'voter', 'addr', `127.0.0.1:${port}`].map(bulk).join('')}${bulk('leader')}:1\r\n`;
        else out = script(cmd, calls.get(name)!);
        if (out === null) return void s.destroy();
        s.write(out);
      }
    });
  });
  await new Promise<void>((res) => server.listen(port, '127.0.0.1', res));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((res) => server.close(() => res()));
  });
  return { port, calls };
}

test('a write whose connection drops after it was sent: OutcomeUnknownError, sent once', async (t) => {
  const node = await fakeNode(t, (cmd) => (cmd[0] === 'set' ? null : '$-1\r\n'));
  const client = createClient({ nodes: [`127.0.0.1:${node.port}`], retryDeadlineMs: 2000 });
  t.teardown(() => client.close());
  const e = await t.throwsAsync(client.set('k', 'v'), { instanceOf: OutcomeUnknownError });
  t.is(e.command, 'set');
  t.regex(e.message, /connection was lost after the command was sent/);
  t.is(node.calls.get('set'), 1, 'never sent twice');
  t.is(client.stats().outcomeUnknown, 1);
});

test('the same write declared idempotent is re-sent until it succeeds', async (t) => {
  const node = await fakeNode(t, (cmd, n) => (cmd[0] === 'set' ? (n < 3 ? null : '+OK\r\n') : '$-1\r\n'));
  const client = createClient({ nodes: [`127.0.0.1:${node.port}`], retryDeadlineMs: 5000, nodeFailureMemoryMs: 0 });
  t.teardown(() => client.close());
  t.true(await client.set('k', 'v', { idempotent: true }));
  t.is(node.calls.get('set'), 3);
});

test('a read whose connection drops is retried (read-only)', async (t) => {
  const node = await fakeNode(t, (cmd, n) => (cmd[0] === 'get' ? (n < 2 ? null : bulk('v')) : '$-1\r\n'));
  const client = createClient({ nodes: [`127.0.0.1:${node.port}`], retryDeadlineMs: 5000, nodeFailureMemoryMs: 0 });
  t.teardown(() => client.close());
  t.is(await client.get('k'), 'v');
  t.is(node.calls.get('get'), 2);
});

test('CLUSTERDOWN is retried with backoff, then succeeds; forever CLUSTERDOWN ends in RetryDeadlineError within the deadline', async (t) => {
  const node = await fakeNode(t, (cmd, n) => {
    if (cmd[0] === 'incr') return n < 4 ? '-CLUSTERDOWN no leader elected yet; retry\r\n' : ':1\r\n';
    if (cmd[0] === 'set') return '-TRYAGAIN the write was not applied: leadership changed before it committed; retry\r\n';
    return '$-1\r\n';
  });
  const client = createClient({ nodes: [`127.0.0.1:${node.port}`], retryDeadlineMs: 800, backoff: { baseMs: 10, capMs: 100 } });
  t.teardown(() => client.close());
  t.is(await client.call('incr', ['n']), 1);
  t.is(node.calls.get('incr'), 4);
  const t0 = performance.now();
  const e = await t.throwsAsync(client.set('k', 'v'), { instanceOf: RetryDeadlineError });
  const ms = performance.now() - t0;
  t.true(ms <= 1000, `${ms} ms`);
  t.regex(e.message, /TRYAGAIN/);
  t.true(e.attempts >= 5, `${e.attempts} attempts`);
});

test('an UNKNOWN reply is OutcomeUnknownError; other error replies are returned as they are', async (t) => {
  const node = await fakeNode(t, (cmd) => (cmd[0] === 'set' ? '-UNKNOWN the write was proposed but its outcome is unknown\r\n' : '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'));
  const client = createClient({ nodes: [`127.0.0.1:${node.port}`] });
  t.teardown(() => client.close());
  await t.throwsAsync(client.set('k', 'v'), { instanceOf: OutcomeUnknownError, message: /answered UNKNOWN/ });
  await t.throwsAsync(client.get('k'), { message: /^WRONGTYPE/ });
  t.is(node.calls.get('get'), 1);
});

test('no node reachable: retried, then RetryDeadlineError caused by NoConnectionError (never "unknown")', async (t) => {
  const port = await freePort();
  const client = createClient({ nodes: [`127.0.0.1:${port}`], retryDeadlineMs: 1500, leaderWaitMs: 200 });
  t.teardown(() => client.close());
  const e = await within(t.throwsAsync(client.set('k', 'v'), { instanceOf: RetryDeadlineError }), 'the deadline', 5000);
  t.true(e.cause instanceof NoConnectionError, String(e.cause));
});
