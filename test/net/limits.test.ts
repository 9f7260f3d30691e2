// Limits: protocol errors, the query buffer limit, maxclients, pre-AUTH limits,
// backpressure on output bytes and on outstanding replies, and the idle timeout.

import test from 'ava';
import { command, onlySession, RawClient, startServer, ToyExecutor, waitFor } from './support.ts';

test('a protocol error is answered after the replies due, then the connection closes', async (t) => {
  const executor = new ToyExecutor();
  const { server, port } = await startServer({}, executor);
  t.teardown(() => server.close({ graceMs: 0 }));
  const other = await RawClient.connect(port);
  const client = await RawClient.connect(port);
  client.write(Buffer.concat([command('PING'), command('DELAY', 'a'), Buffer.from('*abc\r\n'), command('PING')]));
  await waitFor(() => executor.delayed.length === 1, 'DELAY executed');
  executor.release('a');
  await client.waitClosed();
  t.is(client.text(), '+PONG\r\n$1\r\na\r\n-ERR Protocol error: invalid multibulk length\r\n');
  t.deepEqual(executor.calls, ['ping', 'delay a'], 'nothing after the error is executed');
  other.write(command('PING'));
  t.is(await other.expect('+PONG\r\n'), '+PONG\r\n');
  t.false(other.isClosed);
});

test('the query buffer limit closes the client without a reply and logs a warning', async (t) => {
  const executor = new ToyExecutor();
  const { server, port, logger } = await startServer({ queryBufferBytesMax: 4096 }, executor);
  t.teardown(() => server.close({ graceMs: 0 }));
  const other = await RawClient.connect(port);
  const client = await RawClient.connect(port);
  client.write(Buffer.concat([Buffer.from('*2\r\n$4\r\nECHO\r\n$100000\r\n'), Buffer.alloc(8192, 0x61)]));
  await client.waitClosed();
  t.is(client.receivedBytes, 0);
  t.true(logger.lines.some((line) => line.level === 'warn' && /query buffer/.test(line.message)));
  other.write(command('PING'));
  t.is(await other.expect('+PONG\r\n'), '+PONG\r\n');
});

test('a client beyond maxclients gets the Redis error and is closed', async (t) => {
  const { server, port } = await startServer({ maxClients: 2 });
  t.teardown(() => server.close({ graceMs: 0 }));
  const first = await RawClient.connect(port);
  await RawClient.connect(port);
  await waitFor(() => server.stats.connectedClients === 2, 'two clients');
  const refused = await RawClient.connect(port);
  await refused.waitClosed();
  t.is(refused.text(), '-ERR max number of clients reached\r\n');
  t.is(server.stats.rejectedConnections, 1);
  t.is(server.stats.totalConnectionsReceived, 2);
  first.destroy();
  await waitFor(() => server.stats.connectedClients === 1, 'first client gone');
  const third = await RawClient.connect(port);
  third.write(command('PING'));
  t.is(await third.expect('+PONG\r\n'), '+PONG\r\n');
  const ids = [...server.sessions()].map((session) => session.id);
  t.deepEqual(ids, [2, 3], 'the refused connection consumed no id');
});

test('with requirepass, Redis pre-AUTH limits apply until the session authenticates', async (t) => {
  const executor = new ToyExecutor();
  const { server, port } = await startServer({ requirePassSet: true }, executor);
  t.teardown(() => server.close({ graceMs: 0 }));
  const eleven = command('ARGS', ...Array.from({ length: 10 }, (_, i) => String(i)));
  const anonymous = await RawClient.connect(port);
  anonymous.write(eleven);
  await anonymous.waitClosed();
  t.is(anonymous.text(), '-ERR Protocol error: unauthenticated multibulk length\r\n');
  const client = await RawClient.connect(port);
  const session = [...server.sessions()].find((s) => s.addr.endsWith(`:${client.socket.localPort}`))!;
  t.false(session.authenticated);
  // Pipelined right behind AUTH: the limit is lifted before the next command is decoded.
  client.write(Buffer.concat([command('AUTH', 'secret'), eleven]));
  const expected = '+OK\r\n*10\r\n' + Array.from({ length: 10 }, (_, i) => `$1\r\n${i}\r\n`).join('');
  t.is(await client.expect(expected), expected);
});

test('output backpressure: the server stops reading from a client that does not read', async (t) => {
  const executor = new ToyExecutor();
  const outputPauseBytes = 64 * 1024;
  const { server, port } = await startServer({ outputPauseBytes }, executor);
  t.teardown(() => server.close({ graceMs: 0 }));
  const client = await RawClient.connect(port);
  client.socket.pause();
  const count = 1000;
  const replyBytes = 64 * 1024;
  client.write(Buffer.concat(Array.from({ length: count }, (_, i) => command('BIG', String(i), String(replyBytes)))));
  const session = await onlySession(server);
  // Blocked: more unsent output than the threshold, so nothing more is decoded.
  await waitFor(() => session.outputBufferBytes > outputPauseBytes && session.totalCommands > 0, 'output to pile up');
  t.true(session.totalCommands < count, `decoded ${session.totalCommands} of ${count}`);
  t.true(session.queryBufferBytes > 0 || session.netInputBytes < client.socket.bytesWritten, 'input left unread or undecoded');
  t.true(session.outputBufferBytes <= outputPauseBytes + 2 * replyBytes, `output bounded (${session.outputBufferBytes})`);
  // Now read everything: all replies arrive, in order.
  client.socket.resume();
  const header = `$${replyBytes}\r\n`;
  const frameBytes = header.length + replyBytes + 2;
  await client.waitForBytes(count * frameBytes, 20_000);
  const received = client.received();
  t.is(received.length, count * frameBytes);
  for (let i = 0; i < count; i++) {
    const at = i * frameBytes + header.length;
    const prefix = `${i}:`;
    if (received.toString('latin1', at, at + prefix.length) !== prefix) {
      t.fail(`reply ${i} out of order`);
      return;
    }
  }
  t.is(session.totalCommands, count);
});

test('outstanding-replies backpressure: at most pendingRepliesMax commands in flight', async (t) => {
  const executor = new ToyExecutor();
  const { server, port } = await startServer({ pendingRepliesMax: 5 }, executor);
  t.teardown(() => server.close({ graceMs: 0 }));
  const client = await RawClient.connect(port);
  const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
  client.write(Buffer.concat(keys.map((key) => command('DELAY', key))));
  const session = await onlySession(server);
  await waitFor(() => session.pendingReplies === 5 && session.queryBufferBytes > 0, 'five in flight, the rest buffered');
  t.is(executor.calls.length, 5);
  let released = 0;
  // Release in reverse within each window to exercise ordering too.
  while (released < keys.length) {
    await waitFor(() => executor.delayed.length === Math.min(5, keys.length - released), 'next window executed');
    t.true(session.pendingReplies <= 5);
    for (const key of [...executor.delayed].reverse()) executor.release(key);
    released += 5;
  }
  const expected = keys.map((key) => `$${key.length}\r\n${key}\r\n`).join('');
  t.is(await client.expect(expected), expected);
});

test('idle clients are closed after the timeout; clients with outstanding replies are not', async (t) => {
  let nowMs = 1_000_000;
  const executor = new ToyExecutor();
  const { server, port, logger } = await startServer(
    { idleTimeoutSeconds: 10, idleCheckIntervalMs: 5, clock: () => nowMs },
    executor,
  );
  t.teardown(() => server.close({ graceMs: 0 }));
  const idle = await RawClient.connect(port);
  const busy = await RawClient.connect(port);
  busy.write(command('DELAY', 'a'));
  await waitFor(() => executor.delayed.length === 1 && server.stats.connectedClients === 2, 'DELAY executed');
  nowMs += 9_000;
  idle.write(command('PING'));
  await idle.expect('+PONG\r\n');
  nowMs += 9_000; // idle last spoke 9 s ago, busy 18 s ago but is waiting for a reply
  nowMs += 2_000;
  await idle.waitClosed();
  t.false(busy.isClosed);
  t.true(logger.lines.some((line) => line.message === 'closing idle client'));
  executor.release('a');
  await busy.expect('$1\r\na\r\n');
  nowMs += 10_001;
  await busy.waitClosed();
  await waitFor(() => server.stats.connectedClients === 0, 'server to drop both sessions');
  t.deepEqual(executor.closedSessions, [1, 2]);
});
