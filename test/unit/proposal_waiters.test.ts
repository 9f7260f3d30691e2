// Proposal waiters: every payload of an entry (a batch's parts) gets its own reply, in
// order; a slot taken by another term's entry, a refused batch, lost leadership and
// shutdown each tell the truth about the writes' fate.

import test from 'ava';
import { logIndex, term } from '../../consensus/index.ts';
import { ProposalWaiters, type ProposalOutcome } from '../../src/replication/waiters.ts';
import type { Reply } from '../../protocol/index.ts';

const int = (value: number): Reply => ({ type: 'integer', value });

test('the payloads of one entry get their replies in order', async (t) => {
  const w = new ProposalWaiters();
  const a = w.add(logIndex(5), term(2));
  const b = w.add(logIndex(5), term(2));
  const c = w.addOutcome(logIndex(6), term(2));
  w.applied(logIndex(5), term(2), [int(1), null]);
  w.applied(logIndex(6), term(2), [int(3)]);
  t.deepEqual(await a, int(1));
  t.deepEqual(await b, { type: 'null' }, 'a payload without a reply answers nil');
  t.deepEqual(await c, { kind: 'applied', index: 6, reply: int(3) });
  t.is(w.size, 0);
});

test('an entry of another term took the slot: every payload was lost', async (t) => {
  const w = new ProposalWaiters();
  const outcomes = [w.addOutcome(logIndex(5), term(2)), w.addOutcome(logIndex(5), term(2))];
  w.applied(logIndex(5), term(3), [int(9)]);
  for (const o of await Promise.all(outcomes)) {
    t.is(o.kind, 'lost');
    t.regex((o.reply as { message: string }).message, /^TRYAGAIN/);
  }
});

test('a refused batch answers each of its writes with the given error', async (t) => {
  const w = new ProposalWaiters();
  const outcomes = [w.addOutcome(logIndex(5), term(2)), w.addOutcome(logIndex(5), term(2))];
  w.refused(logIndex(5), { type: 'error', message: 'TRYAGAIN refused' });
  t.deepEqual(await Promise.all(outcomes), [0, 1].map((): ProposalOutcome => ({ kind: 'lost', reply: { type: 'error', message: 'TRYAGAIN refused' } })));
  t.is(w.size, 0);
});

test('a reply count that does not match the waiters is a bug', (t) => {
  const w = new ProposalWaiters();
  void w.add(logIndex(5), term(2));
  t.throws(() => w.applied(logIndex(5), term(2), [int(1), int(2)]), { message: /2 payloads for 1 waiters/ });
});

test('after leadership is lost, waiters past the grace are told the outcome is unknown; shutdown tells the rest', async (t) => {
  const w = new ProposalWaiters();
  const early = w.addOutcome(logIndex(5), term(2));
  w.leadershipLost(1000, 500);
  const late = w.addOutcome(logIndex(6), term(2));
  w.expire(1499);
  t.is(w.size, 2);
  w.expire(1500);
  t.is((await early).kind, 'unknown');
  w.failAll();
  t.is((await late).kind, 'unknown');
});
