// Tests of the linearizability checker (test/support/linearizability.ts): hand-written
// histories that must be accepted or rejected, the tie rule, unknown outcomes, bounds,
// and seeded random histories taken from a real in-memory KV and stretched in time.

import test from 'ava';
import {
  checkKv,
  MalformedHistoryError,
  type CheckResult,
  type KvInput,
  type KvOutput,
  type Operation,
} from './support/linearizability.ts';

// ---- history builders: `ret` null = outcome unknown --------------------------------

function op(clientId: number, input: KvInput, call: number, ret: number | null, output: KvOutput): Operation {
  return { clientId, input, call, return: ret, output: ret === null ? null : output };
}
const put = (c: number, key: string, value: string, call: number, ret: number | null): Operation =>
  op(c, { kind: 'put', key, value }, call, ret, { ok: true });
const append = (c: number, key: string, value: string, call: number, ret: number | null): Operation =>
  op(c, { kind: 'append', key, value }, call, ret, { ok: true });
const del = (c: number, key: string, call: number, ret: number | null): Operation =>
  op(c, { kind: 'delete', key }, call, ret, { ok: true });
const get = (c: number, key: string, value: string | null, call: number, ret: number | null): Operation =>
  op(c, { kind: 'get', key }, call, ret, { value });

const verdict = (history: readonly Operation[]): CheckResult['kind'] => checkKv(history).kind;

// ---- hand-written histories ---------------------------------------------------------

test('accepts a sequential history', (t) => {
  const history = [
    put(1, 'a', '1', 0, 1),
    get(1, 'a', '1', 2, 3),
    append(1, 'a', 'x', 4, 5),
    get(2, 'a', '1x', 6, 7),
    del(2, 'a', 8, 9),
    get(1, 'a', null, 10, 11),
  ];
  t.is(verdict(history), 'ok');
});

test('accepts overlapping puts read as either value, but not both in turn', (t) => {
  const puts = [put(1, 'a', '1', 0, 10), put(2, 'a', '2', 0, 10)];
  t.is(verdict([...puts, get(3, 'a', '1', 11, 12)]), 'ok');
  t.is(verdict([...puts, get(3, 'a', '2', 11, 12)]), 'ok');
  t.is(verdict([...puts, get(3, 'a', '1', 11, 12), get(3, 'a', '2', 13, 14)]), 'illegal');
});

test('accepts a read that sees a write whose call overlaps it', (t) => {
  const writes = [put(1, 'a', '1', 0, 1), put(1, 'a', '2', 2, 10)];
  t.is(verdict([...writes, get(2, 'a', '2', 3, 4)]), 'ok');
  t.is(verdict([...writes, get(2, 'a', '1', 3, 4)]), 'ok');
  // Seen, then unseen while the write is still in flight: no order explains it.
  t.is(verdict([...writes, get(2, 'a', '2', 3, 4), get(2, 'a', '1', 5, 6)]), 'illegal');
  // A read cannot see a write invoked after it returned.
  t.is(verdict([get(2, 'a', '1', 0, 1), put(1, 'a', '1', 2, 3)]), 'illegal');
});

test('tie rule: a return and a call at the same time are concurrent', (t) => {
  t.is(verdict([put(1, 'a', '1', 0, 5), get(2, 'a', null, 5, 6)]), 'ok');
  t.is(verdict([put(1, 'a', '1', 0, 5), get(2, 'a', null, 6, 7)]), 'illegal');
  t.is(verdict([put(1, 'a', '1', 3, 3), get(2, 'a', '1', 3, 3)]), 'ok', 'zero-length ops');
});

test('rejects a stale read', (t) => {
  const history = [put(1, 'a', '1', 0, 1), put(1, 'a', '2', 2, 3), get(2, 'a', '1', 4, 5)];
  const result = checkKv(history);
  if (result.kind !== 'illegal') return t.fail(`expected illegal, got ${result.kind}`);
  t.is(result.key, 'a');
  t.deepEqual(result.longestPrefix, history.slice(0, 2), 'both puts linearize; the read cannot follow');
  t.is(result.operations.length, 3);
  t.regex(result.explanation, /key "a"/);
  t.regex(result.explanation, /get\("a"\) \[4, 5\] → "1"/);
});

test('rejects a lost write', (t) => {
  t.is(verdict([put(1, 'a', '1', 0, 1), get(2, 'a', null, 2, 3)]), 'illegal');
  t.is(verdict([put(1, 'a', '1', 0, 1), get(2, 'a', '1', 2, 3), get(2, 'a', null, 4, 5)]), 'illegal');
});

test('rejects a read of a value never written', (t) => {
  t.is(verdict([get(1, 'a', 'ghost', 0, 1)]), 'illegal');
  t.is(verdict([put(1, 'a', '1', 0, 10), get(2, 'a', 'ghost', 1, 2)]), 'illegal');
});

test('delete: later reads see absence, not the old value', (t) => {
  const writes = [put(1, 'a', '1', 0, 1), del(1, 'a', 2, 3)];
  t.is(verdict([...writes, get(2, 'a', null, 4, 5)]), 'ok');
  t.is(verdict([...writes, get(2, 'a', '1', 4, 5)]), 'illegal');
  t.is(verdict([put(1, 'a', '1', 0, 1), del(1, 'a', 2, 10), get(2, 'a', '1', 4, 5)]), 'ok', 'overlapping delete');
});

test('append: reads must see the appends in one consistent order', (t) => {
  const appends = [append(1, 'a', 'x', 0, 10), append(2, 'a', 'y', 0, 10)];
  t.is(verdict([...appends, get(3, 'a', 'xy', 11, 12)]), 'ok');
  t.is(verdict([...appends, get(3, 'a', 'yx', 11, 12)]), 'ok');
  t.is(verdict([...appends, get(3, 'a', 'x', 11, 12)]), 'illegal', 'a completed append is missing');
  t.is(verdict([...appends, get(3, 'a', 'x', 1, 2), get(3, 'a', 'xy', 3, 4)]), 'ok');
  t.is(verdict([...appends, get(3, 'a', 'y', 1, 2), get(3, 'a', 'xy', 3, 4)]), 'illegal', 'y then x, then x before y');
  t.is(verdict([put(1, 'a', 'p', 0, 1), append(1, 'a', 'q', 2, 3), get(2, 'a', 'pq', 4, 5)]), 'ok');
  t.is(verdict([append(1, 'a', 'q', 0, 1), get(2, 'a', 'q', 2, 3)]), 'ok', 'absent appends as empty');
});

test('unknown outcome: a write may or may not have happened, but not both', (t) => {
  const writes = [put(1, 'a', '1', 0, 1), put(1, 'a', '2', 2, null)];
  t.is(verdict([...writes, get(2, 'a', '2', 5, 6)]), 'ok', 'it took effect');
  t.is(verdict([...writes, get(2, 'a', '1', 5, 6)]), 'ok', 'it did not (yet)');
  t.is(verdict([...writes, get(2, 'a', '1', 5, 6), get(2, 'a', '2', 100, 101)]), 'ok', 'it took effect late');
  t.is(verdict([...writes, get(2, 'a', '2', 5, 6), get(2, 'a', '1', 7, 8)]), 'illegal', 'read, then unread');
  t.is(verdict([get(2, 'a', '2', 0, 1), put(1, 'a', '2', 2, null)]), 'illegal', 'seen before its call');
  t.is(verdict([...writes, get(3, 'a', null, 3, null)]), 'ok', 'an unknown get is ignored');
  t.is(verdict([append(1, 'a', 'x', 0, null), append(1, 'a', 'y', 1, 2), get(2, 'a', 'y', 3, 4)]), 'ok');
  t.is(verdict([append(1, 'a', 'x', 0, null), append(1, 'a', 'y', 1, 2), get(2, 'a', 'xy', 3, 4)]), 'ok');
  t.is(verdict([append(1, 'a', 'x', 0, null), append(1, 'a', 'y', 1, 2), get(2, 'a', 'x', 3, 4)]), 'illegal');
});

test('keys are checked independently and an illegal key is named', (t) => {
  const history = [
    put(1, 'a', '1', 0, 1),
    put(2, 'b', '1', 0, 1),
    put(2, 'b', '2', 2, 3),
    get(1, 'a', '1', 4, 5),
    get(2, 'b', '1', 4, 5),
  ];
  const result = checkKv(history);
  t.is(result.kind, 'illegal');
  if (result.kind === 'illegal') t.is(result.key, 'b');
  // Cross-key real-time order is irrelevant to a per-key model: both of these pass.
  t.is(verdict([put(1, 'a', '1', 0, 1), get(2, 'b', null, 2, 3), get(2, 'a', '1', 4, 5)]), 'ok');
});

test('the smallest failing key is the one reported', (t) => {
  const history = [
    put(1, 'big', '1', 0, 1),
    put(1, 'big', '2', 2, 3),
    put(1, 'big', '3', 4, 5),
    get(1, 'big', 'nope', 6, 7),
    get(2, 'small', 'nope', 0, 1),
  ];
  const result = checkKv(history);
  t.is(result.kind === 'illegal' ? result.key : result.kind, 'small');
});

test('malformed histories throw instead of being judged', (t) => {
  t.throws(() => checkKv([put(1, 'a', '1', 5, 4)]), { instanceOf: MalformedHistoryError });
  const noOutput: Operation = { ...put(1, 'a', '1', 0, 1), output: null };
  t.throws(() => checkKv([noOutput]), { instanceOf: MalformedHistoryError });
  const wrongShape: Operation = { ...get(1, 'a', null, 0, 1), output: { ok: true } };
  t.throws(() => checkKv([wrongShape]), { instanceOf: MalformedHistoryError });
  t.throws(() => checkKv([put(1, 'a', '1', Number.NaN, 1)]), { instanceOf: MalformedHistoryError });
});

// ---- seeded random histories --------------------------------------------------------

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const randomInt = (rng: () => number, n: number): number => Math.floor(rng() * n);

interface RandomHistoryOptions {
  readonly ops: number;
  readonly keys: readonly string[];
  /** Clients each run ops back to back, so at most this many are in flight at once. */
  readonly clients: number;
  /** Chance that an op's outcome is recorded as unknown (it still took effect). */
  readonly unknownRate: number;
}

/**
 * Runs ops one at a time against an in-memory KV, op i taking effect at time 10·i, then
 * stretches each into [10·i − r, 10·i + r'] with r, r' < 5·clients: intervals overlap,
 * but each still contains its effect point, so the sequential order is a witness
 * linearization; and op i of client i mod clients returns before its next op is called.
 * Values use only [v0-9.], so a value with any other character was never written.
 */
function randomHistory(rng: () => number, options: RandomHistoryOptions): Operation[] {
  const store = new Map<string, string>();
  const slack = 5 * options.clients;
  const history: Operation[] = [];
  for (let i = 0; i < options.ops; i++) {
    const key = options.keys[randomInt(rng, options.keys.length)]!;
    const r = rng();
    let input: KvInput;
    let output: KvOutput = { ok: true };
    if (r < 0.4) {
      input = { kind: 'get', key };
      output = { value: store.get(key) ?? null };
    } else if (r < 0.7) {
      input = { kind: 'put', key, value: `v${i}` };
      store.set(key, input.value);
    } else if (r < 0.9) {
      input = { kind: 'append', key, value: `.${i}` };
      store.set(key, (store.get(key) ?? '') + input.value);
    } else {
      input = { kind: 'delete', key };
      store.delete(key);
    }
    const call = 10 * i - randomInt(rng, slack);
    const ret = rng() < options.unknownRate ? null : 10 * i + randomInt(rng, slack);
    history.push(op(i % options.clients, input, call, ret, output));
  }
  // Shuffle (Fisher–Yates): the checker must not depend on the order it is given.
  for (let i = history.length - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1);
    [history[i], history[j]] = [history[j]!, history[i]!];
  }
  return history;
}

test('random histories from a real KV are accepted; a read of a never-written value is not', (t) => {
  for (let seed = 1; seed <= 60; seed++) {
    const rng = mulberry32(seed);
    const history = randomHistory(rng, { ops: 300, keys: ['a', 'b', 'c'], clients: 5, unknownRate: 0.03 });
    const ok = checkKv(history);
    if (ok.kind !== 'ok') return t.fail(`seed ${seed}: expected ok, got ${ok.kind}`);

    const reads = history.flatMap((o, i) => (o.input.kind === 'get' && o.return !== null ? [i] : []));
    const victim = reads[randomInt(rng, reads.length)]!;
    const mutated = history.with(victim, { ...history[victim]!, output: { value: 'v!never' } });
    const bad = checkKv(mutated);
    if (bad.kind !== 'illegal') return t.fail(`seed ${seed}: mutated op ${victim}, expected illegal, got ${bad.kind}`);
    t.is(bad.key, history[victim]!.input.key);
  }
  t.pass();
});

test('performance: 2000 ops on one key, 5 concurrent clients', (t) => {
  const history = randomHistory(mulberry32(2024), { ops: 2000, keys: ['k'], clients: 5, unknownRate: 0.01 });
  t.is(checkKv(history).kind, 'ok');
});

test('the search is bounded: explored states and time', (t) => {
  const history = randomHistory(mulberry32(7), { ops: 2000, keys: ['k'], clients: 5, unknownRate: 0 });
  t.like(checkKv(history, { maxStates: 100 }), { kind: 'unknown', reason: 'timeout', key: 'k', bound: 'states' });
  let clockMs = 0;
  const now = (): number => (clockMs += 1000); // every reading of this clock is a second later
  t.like(checkKv(history, { timeoutMs: 1500, now }), { kind: 'unknown', reason: 'timeout', bound: 'time' });
  // An illegal key elsewhere still wins over the unknown one.
  const withBad = [...history, get(9, 'z', 'ghost', 0, 1)];
  t.like(checkKv(withBad, { maxStates: 100 }), { kind: 'illegal', key: 'z' });
});
