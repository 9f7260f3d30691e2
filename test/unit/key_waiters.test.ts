// Blocked clients wake in the order they blocked, on their own keys only, on timeout,
// on FLUSHDB/FLUSHALL, and when their session closes.

import test from 'ava';
import { Session } from '../../src/net/session.ts';
import { KeyWaiters } from '../../src/replication/key_waiters.ts';

const k = (s: string): Buffer => Buffer.from(s);

test('waiters on a touched key wake oldest first; others keep waiting', async (t) => {
  const w = new KeyWaiters();
  const order: string[] = [];
  const a = w.wait([{ db: 0, key: k('s') }], null, null).then((o) => order.push(`a:${o}`));
  const b = w.wait([{ db: 0, key: k('x') }, { db: 0, key: k('s') }], null, null).then((o) => order.push(`b:${o}`));
  const c = w.wait([{ db: 1, key: k('s') }], null, null).then((o) => order.push(`c:${o}`));
  w.notify([{ db: 0, key: k('s') }]);
  await Promise.all([a, b]);
  t.deepEqual(order, ['a:changed', 'b:changed']);
  t.is(w.size, 1, 'the waiter on db 1 still waits');
  w.notify([{ db: -1, key: null }]);
  await c;
  t.is(w.size, 0);
});

test('timeout and session close resolve with their outcome', async (t) => {
  const w = new KeyWaiters();
  t.is(await w.wait([{ db: 0, key: k('a') }], 5, null), 'timeout');
  const s = new Session({ id: 1 });
  const p = w.wait([{ db: 0, key: k('a') }], null, s);
  w.sessionClosed(s);
  t.is(await p, 'closed');
  t.is(w.size, 0);
});

test('FLUSHDB wakes the waiters of that db only', async (t) => {
  const w = new KeyWaiters();
  const p0 = w.wait([{ db: 0, key: k('a') }], null, null);
  void w.wait([{ db: 2, key: k('a') }], null, null);
  w.notify([{ db: 0, key: null }]);
  t.is(await p0, 'changed');
  t.is(w.size, 1);
  w.closeAll();
});

test('a proposed write wakes only the waiters that asked for it, oldest first', async (t) => {
  const w = new KeyWaiters();
  const order: string[] = [];
  const a = w.wait([{ db: 0, key: k('s') }], null, null, true).then((o) => order.push(`a:${o}`));
  const plain = w.wait([{ db: 0, key: k('s') }], null, null).then((o) => order.push(`plain:${o}`));
  const b = w.wait([{ db: 0, key: k('s') }], null, null, true).then((o) => order.push(`b:${o}`));
  void w.wait([{ db: 0, key: k('other') }], null, null, true);
  t.is(w.onProposal, 3);
  w.proposed([{ db: 0, key: k('s') }]);
  await Promise.all([a, b]);
  t.deepEqual(order, ['a:changed', 'b:changed']);
  t.is(w.size, 2, 'the plain waiter and the one on another key still wait');
  t.is(w.onProposal, 1);
  w.notify([{ db: 0, key: k('s') }]);
  await plain;
  t.deepEqual(order, ['a:changed', 'b:changed', 'plain:changed']);
  t.is(await w.wait([{ db: 0, key: k('s') }], 1, null, true), 'timeout');
  t.is(w.onProposal, 1, 'a timed-out waiter is no longer counted');
  w.closeAll();
  t.is(w.onProposal, 0);
});
