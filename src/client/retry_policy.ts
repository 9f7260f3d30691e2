// One command's attempts and the decision after each failure: report the error now,
// or wait (backoff with jitter) and try again before the deadline. Pure: time and
// randomness come in as arguments, so the policy is tested without a server.
// Invariant: a command whose outcome may be unknown is retried only if retry-safe
// (read-only, or declared idempotent), and is then never reported as "not applied".

import { backoffDelayMs, type BackoffOptions } from './backoff.ts';
import { classify, OutcomeUnknownError, RetryDeadlineError, unknownReason } from './errors.ts';

export interface Attempts {
  readonly command: string;
  /** Retrying after an unknown outcome is allowed (read-only or idempotent). */
  readonly retrySafe: boolean;
  readonly startedAt: number;
  readonly deadlineAt: number;
  failures: number;
  /** Some attempt may have been applied: giving up then means "unknown", not "not applied". */
  maybeApplied: boolean;
  unknownCause: unknown;
}

export interface PolicyOptions {
  readonly retryDeadlineMs: number;
  readonly backoff: BackoffOptions;
  readonly random: () => number;
}

export function startAttempts(command: string, retrySafe: boolean, nowMs: number, o: PolicyOptions): Attempts {
  return { command, retrySafe, startedAt: nowMs, deadlineAt: nowMs + o.retryDeadlineMs, failures: 0, maybeApplied: false, unknownCause: null };
}

export type Step = { readonly kind: 'fail'; readonly error: Error } | { readonly kind: 'retry'; readonly delayMs: number };

/** After a failed attempt with `err`: fail with a final error, or retry after a delay. */
export function afterFailure(a: Attempts, err: unknown, nowMs: number, o: PolicyOptions): Step {
  a.failures++;
  const fate = classify(err);
  if (fate === 'final') return { kind: 'fail', error: err instanceof Error ? err : new Error(String(err)) };
  if (fate === 'unknown') {
    if (!a.retrySafe) return { kind: 'fail', error: new OutcomeUnknownError(a.command, unknownReason(err), { cause: err }) };
    a.maybeApplied = true;
    a.unknownCause = err;
  }
  const delayMs = backoffDelayMs(a.failures, o.backoff, o.random);
  if (nowMs + delayMs <= a.deadlineAt) return { kind: 'retry', delayMs };
  if (a.maybeApplied) {
    return { kind: 'fail', error: new OutcomeUnknownError(a.command, `${unknownReason(a.unknownCause)}, and retries until the deadline failed`, { cause: err }) };
  }
  return { kind: 'fail', error: new RetryDeadlineError(a.command, a.failures, o.retryDeadlineMs, { cause: err }) };
}
