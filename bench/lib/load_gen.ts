// A closed-loop load generator: `inFlight` workers each await one operation, then
// start the next, until a fixed duration has passed. Latency is measured per
// operation (performance.now(), ms) from the call to its settlement. It knows nothing
// about the system under test: the caller passes `op(seq)`. Bounded: a run ends at
// its deadline plus the operations then in flight, which the caller bounds by timeouts.

export interface LoadRun {
  readonly inFlight: number;
  readonly durationMs: number;
  /** Unmeasured operations before the clock starts (connections, JIT, leader caches). */
  readonly warmupMs?: number;
  /** One operation; `seq` is unique within the run. A rejection counts as an error. */
  readonly op: (seq: number) => Promise<unknown>;
}

export interface LoadResult {
  readonly ops: number;
  readonly errors: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The first error's message, to show why errors happened. */
  readonly firstError: string | null;
}

const ERRORS_MAX = 1000;

export async function runLoad(run: LoadRun): Promise<LoadResult> {
  let seq = 0;
  if ((run.warmupMs ?? 0) > 0) {
    const until = performance.now() + run.warmupMs!;
    await Promise.all(
      Array.from({ length: run.inFlight }, async () => {
        while (performance.now() < until) await run.op(seq++).catch(() => {});
      }),
    );
  }
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | null = null;
  const startMs = performance.now();
  const endMs = startMs + run.durationMs;
  await Promise.all(
    Array.from({ length: run.inFlight }, async () => {
      while (performance.now() < endMs) {
        const t0 = performance.now();
        try {
          await run.op(seq++);
          latencies.push(performance.now() - t0);
        } catch (e) {
          firstError ??= e instanceof Error ? e.message : String(e);
          if (++errors >= ERRORS_MAX) throw new Error(`${errors} errors; first: ${firstError}`);
        }
      }
    }),
  );
  // Operations started before the deadline count, so divide by the time they took.
  const elapsedMs = performance.now() - startMs;
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
  return {
    ops: latencies.length,
    errors,
    opsPerSec: (latencies.length / elapsedMs) * 1000,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!,
    firstError,
  };
}

/** A value of exactly `bytes` bytes, distinct per `seq` (digits first, padded with x). */
export function valueOf(seq: number, bytes: number): string {
  const s = String(seq);
  return s.length >= bytes ? s.slice(0, bytes) : s + 'x'.repeat(bytes - s.length);
}
