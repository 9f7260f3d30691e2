// Lifecycle: QUIT, kill, client half-close, graceful close() with its grace bound,
// sessionClosed exactly once per session, several bind addresses, and the stats.

import test from 'ava';
import { connect } from 'node:net';
import { RespServer } from '../../src/net/index.ts';
import { captureLogger, command, onlySession, RawClient, startServer, ToyExecutor, waitFor, within } from './support.ts';

test('QUIT replies, executes nothing after it, and closes', async (t) => {
  const executor = new ToyExecutor();
  const { server, port } = await startServer({}, executor);
  t.teardown(() => server.close({ graceMs: 0 }));
  const client = await RawClient.connect(port);
  client.write(Buffer.concat([command('DELAY', 'a'), command('QUIT'), command('PING')]));
  await waitFor(() => executor.calls.length === 2, 'DELAY and QUIT executed');
  const session = await onlySession(server);
  t.is(session.renderFlags(), 'c');
  executor.release('a');
  await client.waitClosed();
  t.is(client.text(), '$1\r\na\r\n+OK\r\n');
  t.deepEqual(executor.calls, ['delay a', 'quit']);
});

test('kill closes at once and drops replies not yet sent', async (t) => {
  const executor = new ToyExecutor();
  const { server, port } = await startServer({}, executor);
  t.teardown(() => server.close({ graceMs: 0 }));
  const client = await RawClient.connect(port);
  client.write(command('DELAY', 'a'));
  await waitFor(() => executor.delayed.length === 1, 'DELAY executed');
  const session = await onlySession(server);
  session.kill();
  t.is(session.renderFlags(), 'A');
  t.false(session.deliver({ type: 'simple', value: 'late' }));
  await client.waitClosed();
  executor.release('a');
  t.is(client.receivedBytes, 0);
  await waitFor(() => executor.closedSessions.length === 1, 'sessionClosed');
});

test('a client that half-closes still gets the replies due', async (t) => {
  const executor = new ToyExecutor();
  const { server, port } = await startServer({}, executor);
  t.teardown(() => server.close({ graceMs: 0 }));
  const client = await RawClient.connect(port);
  client.socket.end(Buffer.concat([command('PING'), command('DELAY', 'a')]));
  await waitFor(() => executor.delayed.length === 1, 'DELAY executed');
  executor.release('a');
  await client.waitClosed();
  t.is(client.text(), '+PONG\r\n$1\r\na\r\n');
});

test('close() stops accepting, waits for an in-flight command, flushes its reply, then closes', async (t) => {
  const executor = new ToyExecutor();
  const { server, port } = await startServer({}, executor);
  const client = await RawClient.connect(port);
  client.write(command('DELAY', 'a'));
  await waitFor(() => executor.delayed.length === 1, 'DELAY executed');
  let closed = false;
  const closing = server.close({ graceMs: 10_000 }).then(() => {
    closed = true;
  });
  t.is(server.close(), server.close(), 'idempotent');
  // Not accepting any more: a new connection is refused.
  const refused = await new Promise<string>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    socket.on('connect', () => {
      socket.destroy();
      resolve('connected');
    });
  });
  t.is(refused, 'ECONNREFUSED');
  t.false(closed, 'close() waits for the in-flight command');
  t.false(client.isClosed);
  executor.release('a');
  await within(closing, 'close() to finish');
  await client.waitClosed();
  t.is(client.text(), '$1\r\na\r\n');
  t.deepEqual(executor.closedSessions, [1]);
});

test('close() gives up on in-flight commands after graceMs', async (t) => {
  const executor = new ToyExecutor();
  const { server, port } = await startServer({}, executor);
  const client = await RawClient.connect(port);
  client.write(Buffer.concat([command('PING'), command('DELAY', 'never')]));
  await waitFor(() => executor.delayed.length === 1, 'DELAY executed');
  await client.expect('+PONG\r\n');
  await within(server.close({ graceMs: 50 }), 'close() within its grace');
  await client.waitClosed();
  t.is(client.text(), '+PONG\r\n');
  t.deepEqual(executor.closedSessions, [1]);
  t.is(server.stats.connectedClients, 0);
});

test('sessionClosed is called exactly once for every session, however it ends', async (t) => {
  const executor = new ToyExecutor();
  const { server, port } = await startServer({ queryBufferBytesMax: 1024 }, executor);
  const clients = await Promise.all(Array.from({ length: 7 }, () => RawClient.connect(port)));
  await waitFor(() => server.stats.connectedClients === 7, 'seven sessions');
  const byPort = new Map([...server.sessions()].map((s) => [Number(s.addr.split(':').pop()), s]));
  const sessionOf = (client: RawClient) => byPort.get(client.socket.localPort!)!;
  const [quit, gone, killed, broken, bug, flooded, remaining] = clients as [RawClient, ...RawClient[]] & RawClient[];
  quit!.write(command('QUIT'));
  gone!.destroy();
  sessionOf(killed!).kill();
  sessionOf(killed!).kill();
  broken!.write('*x\r\n');
  bug!.write(command('THROW'));
  flooded!.write(Buffer.alloc(4096, 0x61));
  remaining!.write(command('DELAY', 'x'));
  await waitFor(() => executor.closedSessions.length === 6, 'six sessions closed');
  await server.close({ graceMs: 0 });
  const ids = [...executor.closedSessions].sort((a, b) => a - b);
  t.deepEqual(ids, [1, 2, 3, 4, 5, 6, 7]);
  for (const client of clients) await client.waitClosed();
});

test('several bind addresses share one port', async (t) => {
  const logger = captureLogger();
  const server = new RespServer({ host: ['127.0.0.1', '127.0.0.2'], port: 0 }, new ToyExecutor(), logger);
  let address: { host: string; port: number };
  try {
    address = await server.listen();
  } catch (error) {
    t.log(`127.0.0.2 not bindable here: ${String(error)}`);
    t.pass();
    return;
  }
  t.teardown(() => server.close({ graceMs: 0 }));
  t.deepEqual(server.addresses(), [address, { host: '127.0.0.2', port: address.port }]);
  const socket = connect({ host: '127.0.0.2', port: address.port });
  const reply = await within(
    new Promise<string>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('data', (chunk) => resolve(chunk.toString()));
      socket.write('PING\r\n');
    }),
    'PING over the second address',
  );
  socket.destroy();
  t.is(reply, '+PONG\r\n');
});

test('stats count connections, commands, bytes and an instantaneous ops rate', async (t) => {
  const { server, port } = await startServer();
  t.teardown(() => server.close({ graceMs: 0 }));
  const client = await RawClient.connect(port);
  const session = await onlySession(server);
  t.is(session.id, 1);
  t.true(session.addr.startsWith('127.0.0.1:'));
  t.is(session.laddr, `127.0.0.1:${port}`);
  t.is(session.renderFlags(), 'N');
  session.flags.add('x');
  session.flags.add('P');
  t.is(session.renderFlags(), 'Px');
  const request = Buffer.concat(Array.from({ length: 1000 }, () => command('PING')));
  client.write(request);
  await client.expect('+PONG\r\n'.repeat(1000));
  t.is(server.stats.totalConnectionsReceived, 1);
  t.is(server.stats.connectedClients, 1);
  t.is(server.stats.totalCommandsProcessed, 1000);
  t.is(server.stats.totalNetInputBytes, request.length);
  t.is(server.stats.totalNetOutputBytes, 7000);
  t.is(session.netInputBytes, request.length);
  // Sampled every 100 ms: the burst shows up in the next samples.
  await waitFor(() => server.stats.instantaneousOpsPerSec > 0, 'ops/sec to reflect the burst', 2000);
  t.true(server.stats.instantaneousInputKbps > 0);
});

test('an optional bind address ("-addr") the host lacks is skipped; a required one fails listen', async (t) => {
  const logger = captureLogger();
  const server = new RespServer({ host: ['127.0.0.1', '-192.0.2.1'], port: 0 }, new ToyExecutor(), logger);
  const address = await server.listen();
  t.teardown(() => server.close({ graceMs: 0 }));
  t.deepEqual(server.addresses(), [address]);
  t.true(logger.lines.some((line) => line.level === 'warn' && line.fields?.['host'] === '192.0.2.1'));
  const strict = new RespServer({ host: ['127.0.0.1', '192.0.2.1'], port: 0 }, new ToyExecutor(), captureLogger());
  await t.throwsAsync(strict.listen(), { code: 'EADDRNOTAVAIL' });
});
