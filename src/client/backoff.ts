// Exponential backoff with jitter for retries of commands that were certainly not
// applied. Pure: the random source is injected, so bounds are testable.
// Invariant: baseMs·2^(attempt-1)/2 ≤ delay ≤ min(capMs, baseMs·2^(attempt-1)).

export interface BackoffOptions {
  /** The first retry's ceiling. */
  readonly baseMs: number;
  /** No retry waits longer than this. */
  readonly capMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 20, capMs: 1000 };

/**
 * The wait before retry number `attempt` (1-based): "equal jitter", half of the
 * exponential ceiling plus a random part of the other half, so waits grow steadily
 * while clients that failed together do not retry together.
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be an integer ≥ 1, got ${attempt}`);
  // 2^(attempt-1) overflows to Infinity for huge attempts; min() keeps the cap.
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.min(attempt - 1, 1023));
  const half = ceiling / 2;
  return half + random() * half;
}
