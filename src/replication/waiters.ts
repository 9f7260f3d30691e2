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
  readonly resolve: (o: ProposalOutcome) => void;
  /** Set when leadership was lost: after this time the outcome is reported unknown. */
  deadlineMs: number;
}

export class ProposalWaiters {
  readonly #byIndex = new Map<number, Waiting>();

  add(index: LogIndex, term: Term): Promise<Reply> {
    return this.addOutcome(index, term).then((o) => o.reply);
  }

  addOutcome(index: LogIndex, term: Term): Promise<ProposalOutcome> {
    return new Promise((resolve) => this.#byIndex.set(index, { term, resolve, deadlineMs: Infinity }));
  }

  get size(): number {
    return this.#byIndex.size;
  }

  /** The entry at `index` was applied with `term`; `reply` is the state machine's answer. */
  applied(index: LogIndex, term: Term, reply: Reply | null): void {
    const w = this.#byIndex.get(index);
    if (!w) return;
    this.#byIndex.delete(index);
    if (w.term === term) w.resolve({ kind: 'applied', index, reply: reply ?? { type: 'null' } });
    else w.resolve({ kind: 'lost', reply: errors.tryAgain('the write was not applied: leadership changed before it committed; retry').reply() });
  }

  /** Leadership lost: every waiter gets `graceMs` more to see its entry applied, then "unknown". */
  leadershipLost(nowMs: number, graceMs: number): void {
    for (const w of this.#byIndex.values()) w.deadlineMs = Math.min(w.deadlineMs, nowMs + graceMs);
  }

  expire(nowMs: number): void {
    for (const [i, w] of this.#byIndex) {
      if (w.deadlineMs > nowMs) continue;
      this.#byIndex.delete(i);
      w.resolve({ kind: 'unknown', reply: errors.outcomeUnknown().reply() });
    }
  }

  /** Shutdown: nothing more will be applied by this process. */
  failAll(): void {
    for (const w of this.#byIndex.values()) w.resolve({ kind: 'unknown', reply: errors.outcomeUnknown().reply() });
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
