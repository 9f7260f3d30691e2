// How long to wait between connection attempts to NATS during one outage: attempts
// are spaced by half the outage's age (so they double: 0, min, 2·min, 4·min, ...),
// clamped to [minMs, maxMs], plus a jitter drawn once per outage so that the nodes
// of a cluster do not all hit a restarted server in the same millisecond.
// Pure: time and randomness are passed in.

export interface BackoffOptions {
  readonly minMs: number;
  readonly maxMs: number;
  readonly jitterMs: number;
  /** In [0, 1): the jitter source (injected; a test passes a seeded PRNG). */
  readonly random: () => number;
}

export class ReconnectBackoff {
  readonly #opts: BackoffOptions;
  #outageStartMs: number | null = null;
  #jitterMs = 0;

  constructor(opts: BackoffOptions) {
    if (!(opts.minMs >= 0 && opts.maxMs >= opts.minMs && opts.jitterMs >= 0)) {
      throw new RangeError(`invalid backoff ${opts.minMs}..${opts.maxMs} ms, jitter ${opts.jitterMs} ms`);
    }
    this.#opts = opts;
  }

  /**
   * The wait before the next attempt, as of `nowMs`. The NATS client asks again on
   * every turn of its dial loop and dials once `lastAttempt + wait <= now`; because
   * the wait is half the outage's age, that moment comes when the outage is twice as
   * old as it was at the last attempt.
   */
  delayMs(nowMs: number): number {
    if (this.#outageStartMs === null) {
      this.#outageStartMs = nowMs;
      this.#jitterMs = Math.floor(this.#opts.random() * this.#opts.jitterMs);
    }
    const half = (nowMs - this.#outageStartMs) / 2;
    return Math.min(this.#opts.maxMs, Math.max(this.#opts.minMs, half)) + this.#jitterMs;
  }

  /** The outage is over: the next delayMs starts a new one. */
  connected(): void {
    this.#outageStartMs = null;
  }
}
