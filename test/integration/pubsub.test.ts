// Pub/Sub against real redis-server: the same bytes for subscribe/unsubscribe replies,
// subscribed-mode rules in RESP2, RESP3 pushes, and message delivery.

import test from 'ava';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { Cleanups, startRaftis, startRedis } from '../support/processes.ts';
import { waitUntil } from '../support/wait.ts';

const cleanups = new Cleanups();
test.after.always(() => cleanups.run());

/** Sends inline commands and returns every byte received until `quietMs` passes without more. */
function transcript(port: number, lines: readonly string[], quietMs = 300): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(lines.map((l) => `${l}\r\n`).join('')));
    let out = '';
    let timer = setTimeout(done, quietMs * 3);
    function done(): void {
      s.destroy();
      resolve(out);
    }
    s.on('data', (d) => {
      out += d.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(done, quietMs);
    });
    s.on('error', reject);
  });
}

test('subscribe, subscribed mode and unsubscribe answer byte for byte as redis-server', async (t) => {
  const [raftis, redis] = await Promise.all([startRaftis(cleanups), startRedis(cleanups)]);
  for (const lines of [
    ['SUBSCRIBE a b', 'GET x', 'PING', 'PING hi', 'PSUBSCRIBE p*', 'UNSUBSCRIBE a b', 'PUNSUBSCRIBE', 'GET x', 'UNSUBSCRIBE'],
    ['HELLO 3', 'SUBSCRIBE a', 'GET x', 'PING', 'UNSUBSCRIBE a'],
    ['SUBSCRIBE c', 'RESET', 'GET x'],
  ]) {
    const strip = (x: string): string => x.replace(/\$6\r\nserver[\s\S]*?\*0\r\n/, '').replace(/:\d+\r\n\$4\r\nmode/, 'mode');
    t.is(strip(await transcript(raftis.port, lines)), strip(await transcript(redis.port, lines)), lines.join(' | '));
  }
});

test('PUBLISH reaches channel and pattern subscribers of the node, with its receiver count', async (t) => {
  const raftis = await startRaftis(cleanups);
  const sub = new Redis({ port: raftis.port, lazyConnect: true });
  const pub = new Redis({ port: raftis.port, lazyConnect: true });
  t.teardown(() => {
    sub.disconnect();
    pub.disconnect();
  });
  await Promise.all([sub.connect(), pub.connect()]);
  const got: string[] = [];
  sub.on('message', (channel: string, message: string) => got.push(`${channel}:${message}`));
  sub.on('pmessage', (pattern: string, channel: string, message: string) => got.push(`${pattern}|${channel}:${message}`));
  await sub.subscribe('news');
  await sub.psubscribe('n*');
  t.is(await pub.publish('news', 'hello'), 2);
  t.is(await pub.publish('other', 'x'), 0);
  await waitUntil(() => got.length === 2, 'two deliveries', 5000);
  t.deepEqual(got.sort(), ['n*|news:hello', 'news:hello']);
});
