// ioredis 6 against the toy executor: its HELLO 3 handshake (accepted, or refused with
// NOPROTO so it falls back to RESP2), its ready check, and a pipeline.

import test from 'ava';
import { Redis } from 'ioredis';
import { startServer, ToyExecutor, waitFor, within } from './support.ts';

for (const noHello of [false, true]) {
  const mode = noHello ? 'falls back to RESP2 after NOPROTO' : 'negotiates RESP3';
  test(`ioredis connects (${mode}) and runs a pipeline`, async (t) => {
    const executor = new ToyExecutor({ noHello });
    const { server, port } = await startServer({}, executor);
    t.teardown(() => server.close({ graceMs: 0 }));
    const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    t.teardown(() => redis.disconnect());
    await within(redis.connect(), 'ioredis to connect');
    t.is(await redis.ping(), 'PONG');
    const pipeline = redis.pipeline();
    for (let i = 0; i < 100; i++) pipeline.echo(`m${i}`);
    pipeline.call('ARGS', 'x', 'y');
    pipeline.call('NULL');
    const results = await within(pipeline.exec(), 'pipeline');
    t.is(results?.length, 102);
    for (let i = 0; i < 100; i++) t.deepEqual(results?.[i], [null, `m${i}`]);
    t.deepEqual(results?.[100], [null, ['x', 'y']]);
    t.deepEqual(results?.[101], [null, null]);
    const sessions = [...server.sessions()];
    t.is(sessions.length, 1);
    t.is(sessions[0]!.protocol, noHello ? 2 : 3);
    t.true(executor.calls.some((call) => call.startsWith('hello 3')));
    await redis.quit();
    await waitFor(() => executor.closedSessions.length === 1, 'session closed after QUIT');
  });
}
