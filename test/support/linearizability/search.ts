// Just-in-time linearization search (Wing & Gong, Lowe; as in Porcupine) over one
// partition of a history, generic in the sequential model. Bounded by a deadline and
// a count of explored configurations. Invariants: the entry list only ever loses
// and regains entries in LIFO order (dancing links), and the search succeeds once
// every operation with a known return is linearized; unknown-outcome ones may stay out.

import { LinearizedSet, VisitedCache } from './visited.ts';

export const ILLEGAL: unique symbol = Symbol('illegal');

/** A sequential specification. States must be primitives: they are interned by value. */
export interface Model<S, I, O> {
  readonly init: S;
  /** The state after applying `input` answered by `output` (null = unknown), or ILLEGAL. */
  step(state: S, input: I, output: O | null): S | typeof ILLEGAL;
}

export interface SearchOp<I, O> {
  readonly input: I;
  readonly output: O | null;
  readonly call: number;
  readonly return: number | null;
}

export interface SearchBounds {
  readonly now: () => number;
  /** In the units of `now`. */
  readonly deadline: number;
  readonly maxStates: number;
}

/** `states`: configurations explored, for diagnostics. */
export type SearchResult =
  | { readonly kind: 'ok'; readonly states: number }
  /** Op indices, in linearization order, of the longest linearizable prefix found. */
  | { readonly kind: 'illegal'; readonly longestPrefix: readonly number[]; readonly states: number }
  | { readonly kind: 'unknown'; readonly bound: 'time' | 'states'; readonly states: number };

interface Entry {
  readonly isCall: boolean;
  /** Index into the ops of the partition; -1 for the list head. */
  readonly id: number;
  readonly time: number;
  /** On a call entry: its return entry, or null if the outcome is unknown. */
  match: Entry | null;
  prev: Entry | null;
  next: Entry | null;
}

const TIME_CHECK_EVERY = 1024;

/**
 * Builds the event list: sorted by time, and at equal times calls before returns, so
 * an op returning at t and one called at t count as concurrent (the safe choice: we
 * never assume a real-time order the clocks cannot prove). Unknown-outcome ops get a
 * call entry only, i.e. a return at +infinity.
 */
function buildList<I, O>(ops: readonly SearchOp<I, O>[]): Entry {
  const entries: Entry[] = [];
  ops.forEach((op, id) => {
    const call: Entry = { isCall: true, id, time: op.call, match: null, prev: null, next: null };
    entries.push(call);
    if (op.return !== null) {
      call.match = { isCall: false, id, time: op.return, match: null, prev: null, next: null };
      entries.push(call.match);
    }
  });
  entries.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.id - b.id);
  const head: Entry = { isCall: false, id: -1, time: -Infinity, match: null, prev: null, next: null };
  let last = head;
  for (const e of entries) {
    e.prev = last;
    last.next = e;
    last = e;
  }
  return head;
}

function unlink(e: Entry): void {
  e.prev!.next = e.next;
  if (e.next !== null) e.next.prev = e.prev;
}

function relink(e: Entry): void {
  e.prev!.next = e;
  if (e.next !== null) e.next.prev = e;
}

function lift(call: Entry): void {
  unlink(call);
  if (call.match !== null) unlink(call.match);
}

function unlift(call: Entry): void {
  if (call.match !== null) relink(call.match);
  relink(call);
}

/**
 * Depth-first search for a linearization, memoising explored configurations. Cost:
 * legal histories are found greedily (near-linear at modest concurrency); refuting an
 * illegal one explores every reachable configuration, which grows with concurrency
 * and about doubles per unknown-outcome write still able to take effect, so those
 * histories are where the bounds bite and the answer may be 'unknown'.
 */
export function searchLinearization<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly SearchOp<I, O>[],
  bounds: SearchBounds,
): SearchResult {
  const head = buildList(ops);
  let pendingReturns = ops.filter((op) => op.return !== null).length;
  const linearized = new LinearizedSet(ops.length);
  const cache = new VisitedCache();
  const stateIds = new Map<S, number>();
  const internState = (s: S): number => {
    let id = stateIds.get(s);
    if (id === undefined) stateIds.set(s, (id = stateIds.size));
    return id;
  };
  // The path: frame i linearized stack[i] from state before[i].
  const stack: Entry[] = [];
  const before: S[] = [];
  // Longest path seen at a dead end; `agree` = how many leading entries of the
  // current path equal it, so recording a longer one copies only the new tail.
  const longest: number[] = [];
  let agree = 0;

  // The candidates at a configuration are the call entries before the first return
  // entry, tried in time order; optional ops (unknown outcome) included, so the search
  // first assumes a timed-out op took effect early, as most do in practice.
  let state = model.init;
  let entry = head.next;
  let iterations = 0;
  while (pendingReturns > 0) {
    if (entry === null) throw new Error('linearizability search: ran past the last return entry');
    if (++iterations % TIME_CHECK_EVERY === 0 && bounds.now() > bounds.deadline) {
      return { kind: 'unknown', bound: 'time', states: cache.size };
    }
    if (entry.isCall) {
      const op = ops[entry.id]!;
      const next = model.step(state, op.input, op.output);
      if (next !== ILLEGAL) {
        linearized.add(entry.id);
        if (cache.insert(linearized, internState(next))) {
          if (cache.size > bounds.maxStates) return { kind: 'unknown', bound: 'states', states: cache.size };
          if (agree === stack.length && longest[agree] === entry.id) agree++;
          stack.push(entry);
          before.push(state);
          state = next;
          lift(entry);
          if (entry.match !== null) pendingReturns--;
          entry = head.next;
          continue;
        }
        linearized.remove(entry.id);
      }
      entry = entry.next;
      continue;
    }
    // A return entry ends the candidates: its op had to be linearized by now.
    if (stack.length > longest.length) {
      longest.length = agree;
      for (let i = agree; i < stack.length; i++) longest.push(stack[i]!.id);
      agree = stack.length;
    }
    const top = stack.pop();
    if (top === undefined) return { kind: 'illegal', longestPrefix: longest, states: cache.size };
    state = before.pop()!;
    agree = Math.min(agree, stack.length);
    linearized.remove(top.id);
    unlift(top);
    if (top.match !== null) pendingReturns++;
    entry = top.next;
  }
  return { kind: 'ok', states: cache.size };
}
