// Pipelining: executor called at decode time, replies in request order, protocol
// captured per command, NoReply, inline commands, and executor bugs closing only
// their own connection.

import test from 'ava';
import { NoReply } from '../../src/net/index.ts';
import { command, onlySession, RawClient, startServer, ToyExecutor, waitFor } from './support.ts';

test('replies leave in request order when later promises resolve first', async (t) => {
  const executor = new ToyExecutor();
  const { server, port } = await startServer({}, executor);
  t.teardown(() => server.close({ graceMs: 0 }));
  const client = await RawClient.connect(port);
  client.write(Buffer.concat([command('DELAY', 'a'), command('DELAY', 'b'), command('PING'), command('DELAY', 'c')]));
  // The executor sees every command before any earlier promise settles.
  await waitFor(() => executor.calls.length === 4, 'four commands executed');
  t.deepEqual(executor.delayed, ['a', 'b', 'c']);
  executor.release('c');
  executor.release('b');
  const session = await onlySession(server);
  await waitFor(() => session.pendingReplies === 4 && executor.delayed.length === 1, 'b and c settled');
  t.is(client.receivedBytes, 0, 'nothing may be written while the first reply is pending');
  executor.release('a');
  const expected = '$1\r\na\r\n$1\r\nb\r\n+PONG\r\n$1\r\nc\r\n';
  t.is(await client.expect(expected), expected);
  t.is(session.pendingReplies, 0);
});

test('a pipeline of 10 000 commands sent in one write gets all replies in order', async (t) => {
  const { server, port } = await startServer();
  t.teardown(() => server.close({ graceMs: 0 }));
  const client = await RawClient.connect(port);
  const requests: Buffer[] = [];
  let expected = '';
  for (let i = 0; i < 10_000; i++) {
    if (i % 3 === 0) {
      requests.push(command('PING'));
      expected += '+PONG\r\n';
    } else {
      requests.push(command('ECHO', `v${i}`));
      expected += `$${`v${i}`.length}\r\nv${i}\r\n`;
    }
  }
  client.write(Buffer.concat(requests));
  t.is(await client.expect(expected), expected);
  t.is(server.stats.totalCommandsProcessed, 10_000);
  const session = await onlySession(server);
  t.is(session.totalCommands, 10_000);
  t.is(session.lastCommand, 'ping');
  t.is(session.netOutputBytes, expected.length);
});

test('inline commands are split like redis-cli input', async (t) => {
  const executor = new ToyExecutor();
  const { server, port } = await startServer({}, executor);
  t.teardown(() => server.close({ graceMs: 0 }));
  const client = await RawClient.connect(port);
  client.write('PING\r\nARGS a "b c" \'d\'\r\n\r\nECHO x\n');
  const expected = '+PONG\r\n*3\r\n$1\r\na\r\n$3\r\nb c\r\n$1\r\nd\r\n$1\r\nx\r\n';
  t.is(await client.expect(expected), expected);
  t.deepEqual(executor.calls, ['ping', 'args a b c d', 'echo x']);
});

test('each reply is encoded in the protocol the session had when its command ran', async (t) => {
  const executor = new ToyExecutor();
  const { server, port } = await startServer({}, executor);
  t.teardown(() => server.close({ graceMs: 0 }));
  const client = await RawClient.connect(port);
  client.write(
    Buffer.concat([command('NULL'), command('HELLO', '3'), command('NULL'), command('DELAY', 'a'), command('HELLO', '2'), command('NULL')]),
  );
  await waitFor(() => executor.calls.length === 6, 'six commands executed');
  // Settled after HELLO 2 ran, but its command ran under RESP3.
  executor.release('a', { type: 'null' });
  const expected =
    '$-1\r\n' +
    '%2\r\n$6\r\nserver\r\n$3\r\ntoy\r\n$5\r\nproto\r\n:3\r\n' +
    '_\r\n' +
    '_\r\n' +
    '*4\r\n$6\r\nserver\r\n$3\r\ntoy\r\n$5\r\nproto\r\n:2\r\n' +
    '$-1\r\n';
  t.is(await client.expect(expected), expected);
});

test('NoReply sends nothing, synchronously or from a promise', async (t) => {
  const executor = new ToyExecutor();
  const { server, port } = await startServer({}, executor);
  t.teardown(() => server.close({ graceMs: 0 }));
  const client = await RawClient.connect(port);
  client.write(Buffer.concat([command('SILENT'), command('DELAY', 'a'), command('PING')]));
  await waitFor(() => executor.calls.length === 3, 'three commands executed');
  executor.release('a', NoReply);
  t.is(await client.expect('+PONG\r\n'), '+PONG\r\n');
});

for (const bug of ['THROW', 'REJECT']) {
  test(`an executor that fails (${bug}) closes only its connection, without an -ERR`, async (t) => {
    const executor = new ToyExecutor();
    const { server, port, logger } = await startServer({}, executor);
    t.teardown(() => server.close({ graceMs: 0 }));
    const other = await RawClient.connect(port);
    const victim = await RawClient.connect(port);
    victim.write(Buffer.concat([command('PING'), command(bug), command('PING')]));
    await victim.waitClosed();
    t.is(victim.text(), '+PONG\r\n', 'the reply due before the bug is sent; nothing after');
    const errors = logger.lines.filter((line) => line.level === 'error');
    t.is(errors.length, 1);
    t.is(errors[0]!.fields?.['command'], bug.toLowerCase());
    other.write(command('PING'));
    t.is(await other.expect('+PONG\r\n'), '+PONG\r\n');
    t.false(other.isClosed);
  });
}

test('a reply the writer cannot encode is a bug too', async (t) => {
  const executor = {
    execute: () => ({ type: 'integer' as const, value: 0.5 }),
  };
  const { server, port, logger } = await startServer({}, executor);
  t.teardown(() => server.close({ graceMs: 0 }));
  const client = await RawClient.connect(port);
  client.write(command('BAD'));
  await client.waitClosed();
  t.is(client.receivedBytes, 0);
  t.is(logger.lines.filter((line) => line.level === 'error').length, 1);
});

test('deliver queues an unrequested reply after the replies already due', async (t) => {
  const executor = new ToyExecutor();
  const { server, port } = await startServer({}, executor);
  t.teardown(() => server.close({ graceMs: 0 }));
  const client = await RawClient.connect(port);
  client.write(command('DELAY', 'a'));
  await waitFor(() => executor.delayed.length === 1, 'DELAY executed');
  const session = await onlySession(server);
  t.true(session.deliver({ type: 'push', items: [{ type: 'bulk', value: 'message' }] }));
  executor.release('a');
  const expected = '$1\r\na\r\n*1\r\n$7\r\nmessage\r\n';
  t.is(await client.expect(expected), expected);
});

test('a reply larger than the write batch arrives whole, and later replies follow it', async (t) => {
  const { server, port } = await startServer();
  t.teardown(() => server.close({ graceMs: 0 }));
  const client = await RawClient.connect(port);
  const bytes = 3 * 1024 * 1024;
  client.write(Buffer.concat([command('PING'), command('BIG', 'x', String(bytes)), command('ECHO', 'after')]));
  const header = `+PONG\r\n$${bytes}\r\nx:`;
  const trailer = '\r\n$5\r\nafter\r\n';
  await client.waitForBytes(header.length - 2 + bytes + trailer.length);
  const text = client.text();
  t.is(text.length, header.length - 2 + bytes + trailer.length);
  t.true(text.startsWith(header));
  t.true(text.endsWith(`..${trailer}`));
});
