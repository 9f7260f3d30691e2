// Clients blocked until a key changes (XREAD/XREADGROUP BLOCK): woken after an
// applied entry touches one of their keys, in the order they blocked (as Redis
// serves blocked clients), or by their timeout, or when their session closes.
// A waiter may also ask to wake as soon as a write to one of its keys is proposed
// on this node (XREADGROUP: its own proposal then joins the same log entry, after
// the write, as Redis serves a blocked client right after the command that fed it).

import type { Session } from '../net/session.ts';

export type WaitOutcome = 'changed' | 'timeout' | 'closed';

export interface TouchedKey {
  readonly db: number;
  /** null: every key of `db` (FLUSHDB); db -1 with null: every key (FLUSHALL). */
  readonly key: Buffer | null;
}

interface Waiter {
  readonly seq: number;
  readonly ids: readonly string[];
  readonly dbs: ReadonlySet<number>;
  readonly session: Session | null;
  readonly onProposal: boolean;
  readonly resolve: (o: WaitOutcome) => void;
  timer: NodeJS.Timeout | null;
}

const idOf = (db: number, key: Buffer): string => `${db}:${key.toString('latin1')}`;

export class KeyWaiters {
  readonly #byKey = new Map<string, Set<Waiter>>();
  readonly #all = new Set<Waiter>();
  #seq = 0;
  #onProposal = 0;

  get size(): number {
    return this.#all.size;
  }

  /** Waiters that wake when a write to their keys is proposed (see `proposed`). */
  get onProposal(): number {
    return this.#onProposal;
  }

  /** `onProposal`: wake also when `proposed` names one of `keys`, not only when an applied write does. */
  wait(
    keys: ReadonlyArray<{ readonly db: number; readonly key: Buffer }>,
    timeoutMs: number | null,
    session: Session | null,
    onProposal = false,
  ): Promise<WaitOutcome> {
    return new Promise((resolve) => {
      const w: Waiter = {
        seq: this.#seq++,
        ids: keys.map((k) => idOf(k.db, k.key)),
        dbs: new Set(keys.map((k) => k.db)),
        session,
        onProposal,
        resolve,
        timer: null,
      };
      if (onProposal) this.#onProposal++;
      for (const id of w.ids) {
        let set = this.#byKey.get(id);
        if (!set) this.#byKey.set(id, (set = new Set()));
        set.add(w);
      }
      this.#all.add(w);
      if (timeoutMs !== null) w.timer = setTimeout(() => this.#finish(w, 'timeout'), Math.max(0, timeoutMs));
    });
  }

  /** Whether any client waits on keys now. */
  get waiting(): boolean {
    return this.#all.size > 0;
  }

  /** Wakes, oldest first, every waiter on a touched key (an applied write touched it). */
  notify(touched: readonly TouchedKey[]): void {
    if (this.#all.size === 0 || touched.length === 0) return;
    this.#wake(touched, false);
  }

  /** Wakes, oldest first, the `onProposal` waiters on a key that a write just proposed names. */
  proposed(touched: readonly TouchedKey[]): void {
    if (this.#onProposal === 0 || touched.length === 0) return;
    this.#wake(touched, true);
  }

  #wake(touched: readonly TouchedKey[], onProposalOnly: boolean): void {
    const woken = new Set<Waiter>();
    const add = (w: Waiter): void => {
      if (!onProposalOnly || w.onProposal) woken.add(w);
    };
    for (const t of touched) {
      if (t.key !== null) {
        for (const w of this.#byKey.get(idOf(t.db, t.key)) ?? []) add(w);
      } else {
        for (const w of this.#all) if (t.db === -1 || w.dbs.has(t.db)) add(w);
      }
    }
    for (const w of [...woken].sort((a, b) => a.seq - b.seq)) this.#finish(w, 'changed');
  }

  sessionClosed(session: Session): void {
    for (const w of [...this.#all]) if (w.session === session) this.#finish(w, 'closed');
  }

  closeAll(): void {
    for (const w of [...this.#all]) this.#finish(w, 'closed');
  }

  #finish(w: Waiter, outcome: WaitOutcome): void {
    if (!this.#all.delete(w)) return;
    if (w.onProposal) this.#onProposal--;
    if (w.timer) clearTimeout(w.timer);
    for (const id of w.ids) {
      const set = this.#byKey.get(id);
      set?.delete(w);
      if (set?.size === 0) this.#byKey.delete(id);
    }
    w.resolve(outcome);
  }
}
