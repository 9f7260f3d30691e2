// Clients waiting on the log: proposals waiting for their entry to be applied, and
// reads waiting for the state machine to reach their read point. Each answer tells
// the truth about a write's fate: applied (its reply), certainly not applied (its
// slot was taken by another entry), or unknown (leadership lost and no answer in time).

import type { Reply } from '../../protocol/index.ts';
import type { LogIndex, Term } from '../../consensus/index.ts';
import { errors, type RedisError } from '../commands/errors.ts';

/** What became of a proposal: applied (with its reply), its slot taken by another entry, or unknown. */
export type ProposalOutcome =
  | { readonly kind: 'applied'; readonly index: number; readonly reply: Reply }
  | { readonly kind: 'lost' | 'unknown'; readonly reply: Reply };

interface Waiting {
  readonly term: Term;
  /** One per payload of the entry, in the order they were added (a batch's parts). */
  readonly resolves: Array<(o: ProposalOutcome) => void>;
  /** Set when leadership was lost: after this time the outcome is reported unknown. */
  deadlineMs: number;
}

export class ProposalWaiters {
  readonly #byIndex = new Map<number, Waiting>();

  add(index: LogIndex, term: Term): Promise<Reply> {
    return this.addOutcome(index, term).then((o) => o.reply);
  }

  /** Waits for the next payload of the entry at `index` (payloads are added in the entry's order). */
  addOutcome(index: LogIndex, term: Term): Promise<ProposalOutcome> {
    return new Promise((resolve) => {
      const w = this.#byIndex.get(index);
      if (w === undefined) this.#byIndex.set(index, { term, resolves: [resolve], deadlineMs: Infinity });
      else if (w.term !== term) throw new Error(`waiters of entry ${index} with terms ${w.term} and ${term}`);
      else w.resolves.push(resolve);
    });
  }

  get size(): number {
    return this.#byIndex.size;
  }

  /**
   * The entry at `index` was applied with `term`; `replies` are the state machine's answers
   * to its payloads, in order. Waiters of another term lost their slot to this entry.
   */
  applied(index: LogIndex, term: Term, replies: ReadonlyArray<Reply | null>): void {
    const w = this.#byIndex.get(index);
    if (!w) return;
    this.#byIndex.delete(index);
    if (w.term !== term) {
      const lost = errors.tryAgain('the write was not applied: leadership changed before it committed; retry').reply();
      for (const resolve of w.resolves) resolve({ kind: 'lost', reply: lost });
      return;
    }
    if (replies.length !== w.resolves.length) throw new Error(`entry ${index} has ${replies.length} payloads for ${w.resolves.length} waiters`);
    w.resolves.forEach((resolve, i) => resolve({ kind: 'applied', index, reply: replies[i] ?? { type: 'null' } }));
  }

  /** The entry was never proposed (refused by the core): its waiters' writes certainly did not happen. */
  refused(index: LogIndex, reply: Reply): void {
    const w = this.#byIndex.get(index);
    if (!w) return;
    this.#byIndex.delete(index);
    for (const resolve of w.resolves) resolve({ kind: 'lost', reply });
  }

  /** Leadership lost: every waiter gets `graceMs` more to see its entry applied, then "unknown". */
  leadershipLost(nowMs: number, graceMs: number): void {
    for (const w of this.#byIndex.values()) w.deadlineMs = Math.min(w.deadlineMs, nowMs + graceMs);
  }

  expire(nowMs: number): void {
    const unknown = errors.outcomeUnknown().reply();
    for (const [i, w] of this.#byIndex) {
      if (w.deadlineMs > nowMs) continue;
      this.#byIndex.delete(i);
      for (const resolve of w.resolves) resolve({ kind: 'unknown', reply: unknown });
    }
  }

  /** Shutdown: nothing more will be applied by this process. */
  failAll(): void {
    const unknown = errors.outcomeUnknown().reply();
    for (const w of this.#byIndex.values()) for (const resolve of w.resolves) resolve({ kind: 'unknown', reply: unknown });
    this.#byIndex.clear();
  }
}

interface ReadWaiter {
  readonly target: number;
  readonly resolve: (e: RedisError | null) => void;
}

/** Reads waiting for `applied >= target`, kept sorted by target. */
export class ApplyWaiters {
  #list: ReadWaiter[] = [];

  add(target: number): Promise<RedisError | null> {
    return new Promise((resolve) => {
      const w = { target, resolve };
      let i = this.#list.length;
      while (i > 0 && this.#list[i - 1]!.target > target) i--;
      this.#list.splice(i, 0, w);
    });
  }

  release(applied: number): void {
    let n = 0;
    while (n < this.#list.length && this.#list[n]!.target <= applied) this.#list[n++]!.resolve(null);
    if (n > 0) this.#list = this.#list.slice(n);
  }

  failAll(e: RedisError): void {
    for (const w of this.#list) w.resolve(e);
    this.#list = [];
  }
}
