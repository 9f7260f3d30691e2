// Decides where a Ready's fsync runs when nothing is sent before it: on the event loop
// (cheapest: no thread-pool round trip, as Redis does with appendfsync always) while the
// disk is fast, in the thread pool for a while once it is not (so reads are served
// meanwhile). Pure: times are the caller's (performance.now()).

export interface FsyncPlacementOptions {
  /** Moving average of inline fsyncs above which they move to the thread pool (a busy disk). */
  readonly avgMsMax: number;
  /** One inline fsync this long moves them at once. */
  readonly oneMsMax: number;
  /** How long they stay in the thread pool before the event loop tries again. */
  readonly threadPoolMs: number;
  /** Weight of the newest fsync in the average (0..1]. */
  readonly weight: number;
}

/**
 * Measured 2026-12-04 (docs/performance.md): switching after any one fsync over 2 ms put
 * a stream queue's fsyncs in the thread pool 60% of the time on a disk whose fsyncs take
 * 0.12 ms but spike to 5-15 ms a few times a second; every thread-pool fsync then waited
 * for the loop to notice it, and the queue's p99 went from ~11 ms to ~16 ms.
 */
export const FSYNC_PLACEMENT_DEFAULTS: FsyncPlacementOptions = { avgMsMax: 2, oneMsMax: 20, threadPoolMs: 1000, weight: 0.1 };

export class FsyncPlacement {
  readonly #o: FsyncPlacementOptions;
  #avgMs = 0;
  #threadPoolUntilMs = 0;

  constructor(options: FsyncPlacementOptions = FSYNC_PLACEMENT_DEFAULTS) {
    if (!(options.weight > 0 && options.weight <= 1)) throw new RangeError(`fsync average weight ${options.weight} is not in (0, 1]`);
    this.#o = options;
  }

  /** Whether the next fsync may run on the event loop. */
  inline(nowMs: number): boolean {
    return nowMs >= this.#threadPoolUntilMs;
  }

  /** An inline fsync from `startMs` took `ms`. */
  observe(startMs: number, ms: number): void {
    this.#avgMs += (ms - this.#avgMs) * this.#o.weight;
    if (this.#avgMs <= this.#o.avgMsMax && ms <= this.#o.oneMsMax) return;
    this.#threadPoolUntilMs = startMs + ms + this.#o.threadPoolMs;
    // Back on the loop, a disk still slow takes the average over the bound within a few fsyncs.
    this.#avgMs = this.#o.avgMsMax / 2;
  }

  /** The moving average, ms (for tests and INFO). */
  get averageMs(): number {
    return this.#avgMs;
  }
}
