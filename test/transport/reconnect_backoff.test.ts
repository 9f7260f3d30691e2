// The reconnect backoff doubles the spacing of attempts within one outage, stays in
// [min, max] plus its jitter, and starts over after a connection.

import test from 'ava';
import { ReconnectBackoff } from '../../src/replication/transport/reconnect_backoff.ts';

/** Simulates the NATS client's dial loop: it asks for the wait on every turn and dials once lastAttempt + wait <= now. */
function attemptTimes(b: ReconnectBackoff, untilMs: number, stepMs = 1): number[] {
  const attempts = [0];
  for (let now = 0; now <= untilMs; now += stepMs) {
    if (attempts.at(-1)! + b.delayMs(now) <= now) attempts.push(now);
  }
  return attempts;
}

test('attempts double from min to max within one outage', (t) => {
  const b = new ReconnectBackoff({ minMs: 100, maxMs: 1000, jitterMs: 0, random: () => 0 });
  t.deepEqual(attemptTimes(b, 5000), [0, 100, 200, 400, 800, 1600, 2600, 3600, 4600]);
});

test('jitter is drawn once per outage and added to every wait', (t) => {
  const draws = [0.5, 0.25];
  const b = new ReconnectBackoff({ minMs: 100, maxMs: 1000, jitterMs: 40, random: () => draws.shift()! });
  t.is(b.delayMs(0), 120);
  t.is(b.delayMs(1000), 520);
  b.connected();
  t.is(b.delayMs(5000), 110, 'a new outage: back to min, new jitter');
  t.deepEqual(draws, []);
});

test('invalid bounds are refused', (t) => {
  t.throws(() => new ReconnectBackoff({ minMs: 10, maxMs: 5, jitterMs: 0, random: () => 0 }), { instanceOf: RangeError });
});
