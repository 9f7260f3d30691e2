// Fire-and-forget mode against a real 3-node cluster: 10,000 operations with callbacks,
// batched into pipelines per event-loop turn, the leader SIGKILLed after 3,000
// callbacks. Every callback is called exactly once; idempotent operations all succeed;
// flush() resolves when the last callback ran; every key reads back.

import test from 'ava';
import { createClient } from '../../src/client/index.ts';
import { within } from '../support/wait.ts';
import { key, readyCluster, value } from './support.ts';

const OPS = 10_000;
const KILL_AFTER_CALLBACKS = 3000;
/** Queued per event-loop turn, so batches really form. */
const PER_TURN = 250;

test.serial('fire(): 10,000 operations, leader SIGKILLed mid-way: each callback exactly once, all succeed, all read back', async (t) => {
  const rc = await readyCluster(t);
  // All 10,000 are queued at once and an operation's deadline counts from fire(): it must cover
  // draining the queue behind the failover too, on a loaded 2-CPU test machine.
  const client = createClient({ nodes: rc.addrs, retryDeadlineMs: 30_000 });
  t.teardown(() => client.close());
  const calls = new Uint8Array(OPS);
  const errors: string[] = [];
  let done = 0;
  let kill: Promise<void> | null = null;
  for (let i = 0; i < OPS; i++) {
    client.fire('set', [key('fire', i), value(i)], (err) => {
      calls[i]!++;
      done++;
      if (err) errors.push(`${i}: ${err.name}: ${err.message}`);
      if (done === KILL_AFTER_CALLBACKS) kill = rc.cluster.kill(rc.leader);
    }, { idempotent: true });
    if (i % PER_TURN === PER_TURN - 1) await new Promise((res) => setImmediate(res));
  }
  const t0 = performance.now();
  await within(client.flush(), 'flush()', 60_000);
  t.log(`flush() after the last fire: ${(performance.now() - t0).toFixed(0)} ms; stats ${JSON.stringify(client.stats())}`);
  t.not(kill, null, 'the leader was killed mid-way');
  await within(kill!, 'the kill', 10_000);
  t.is(done, OPS);
  t.deepEqual([...calls.entries()].filter(([, n]) => n !== 1), [], 'every callback exactly once');
  t.deepEqual(errors, []);
  const got = new Map(await client.list('fire:', { limit: 100_000 }));
  const wrong = Array.from({ length: OPS }, (_, i) => i).filter((i) => got.get(key('fire', i)) !== value(i));
  t.deepEqual(wrong, []);
  t.is(done, OPS, 'no late second call while reading back');
});
