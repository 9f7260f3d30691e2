// Owns the server-wide network counters INFO reports, and the instantaneous rates
// sampled like Redis's trackInstantaneousMetric (a ring of 16 samples, 100 ms apart).
// Must not own timers: the server calls `sample(nowMs)`. Invariant: counters only grow.

/** Read-only view; names map to INFO fields (e.g. totalNetInputBytes = total_net_input_bytes). */
export interface NetStats {
  readonly totalConnectionsReceived: number;
  readonly rejectedConnections: number;
  readonly totalCommandsProcessed: number;
  readonly totalNetInputBytes: number;
  readonly totalNetOutputBytes: number;
  readonly connectedClients: number;
  readonly instantaneousOpsPerSec: number;
  readonly instantaneousInputKbps: number;
  readonly instantaneousOutputKbps: number;
}

/** STATS_METRIC_SAMPLES in Redis. */
const SAMPLES = 16;

/** One rate: the mean of the last 16 per-interval rates, per second. */
export class InstantaneousMetric {
  readonly #samples = new Float64Array(SAMPLES);
  #index = 0;
  #lastBaseMs = -1;
  #lastValue = 0;

  sample(value: number, nowMs: number): void {
    if (this.#lastBaseMs >= 0) {
      const elapsedMs = nowMs - this.#lastBaseMs;
      this.#samples[this.#index] = elapsedMs > 0 ? ((value - this.#lastValue) * 1000) / elapsedMs : 0;
      this.#index = (this.#index + 1) % SAMPLES;
    }
    this.#lastBaseMs = nowMs;
    this.#lastValue = value;
  }

  /** Per-second rate averaged over the ring (zeros count until it fills, as in Redis). */
  get perSecond(): number {
    let sum = 0;
    for (const sample of this.#samples) sum += sample;
    return sum / SAMPLES;
  }
}

export class NetCounters implements NetStats {
  totalConnectionsReceived = 0;
  rejectedConnections = 0;
  totalCommandsProcessed = 0;
  totalNetInputBytes = 0;
  totalNetOutputBytes = 0;
  readonly #connectedClients: () => number;
  readonly #ops = new InstantaneousMetric();
  readonly #input = new InstantaneousMetric();
  readonly #output = new InstantaneousMetric();

  constructor(connectedClients: () => number) {
    this.#connectedClients = connectedClients;
  }

  get connectedClients(): number {
    return this.#connectedClients();
  }

  /** Redis reports an integer ops/sec. */
  get instantaneousOpsPerSec(): number {
    return Math.round(this.#ops.perSecond);
  }

  get instantaneousInputKbps(): number {
    return this.#input.perSecond / 1024;
  }

  get instantaneousOutputKbps(): number {
    return this.#output.perSecond / 1024;
  }

  sample(nowMs: number): void {
    this.#ops.sample(this.totalCommandsProcessed, nowMs);
    this.#input.sample(this.totalNetInputBytes, nowMs);
    this.#output.sample(this.totalNetOutputBytes, nowMs);
  }
}
