// A bounded ring of once-a-second samples of this node's activity (commands per second,
// mean command latency, indexes) for the dashboard's charts. Derived from the
// dispatcher's cumulative command stats, so HTTP commands count as well as RESP ones.

export const SAMPLES_MAX = 300;

export interface Sample {
  readonly t: number;
  readonly ops_per_sec: number;
  /** Mean time from dispatch to reply over the interval (a write includes its commit), µs; 0 when idle. */
  readonly latency_avg_us: number;
  readonly commit_index: number;
  readonly applied_index: number;
}

export interface Totals {
  readonly calls: number;
  readonly usec: number;
}

export function totalsOf(stats: ReadonlyMap<string, { calls: number; usec: number }>): Totals {
  let calls = 0;
  let usec = 0;
  for (const s of stats.values()) {
    calls += s.calls;
    usec += s.usec;
  }
  return { calls, usec };
}

export class SampleRing {
  readonly #items: Sample[] = [];
  readonly #capacity: number;
  #last: { t: number; totals: Totals } | null = null;

  constructor(capacity = SAMPLES_MAX) {
    this.#capacity = capacity;
  }

  record(t: number, totals: Totals, commitIndex: number, appliedIndex: number): void {
    const prev = this.#last;
    this.#last = { t, totals };
    if (prev === null || t <= prev.t) return;
    // Counters can go back (stats reset): count such an interval as idle.
    const calls = Math.max(0, totals.calls - prev.totals.calls);
    const usec = Math.max(0, totals.usec - prev.totals.usec);
    this.#items.push({
      t,
      ops_per_sec: Math.round((calls * 1000) / (t - prev.t)),
      latency_avg_us: calls === 0 ? 0 : Math.round(usec / calls),
      commit_index: commitIndex,
      applied_index: appliedIndex,
    });
    if (this.#items.length > this.#capacity) this.#items.splice(0, this.#items.length - this.#capacity);
  }

  all(): readonly Sample[] {
    return this.#items;
  }
}
