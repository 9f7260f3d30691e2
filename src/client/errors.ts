// The client's errors as named classes, and the one place an error from ioredis or a
// raftis reply is classified by fate: certainly not applied (retry), outcome unknown
// (never retried blindly), or final (the server's answer: WRONGTYPE, syntax...).
// Must not guess: a command that may have reached the server is never "not applied".

/** The write may or may not have been applied: check (read it back) before retrying. */
export class OutcomeUnknownError extends Error {
  override readonly name = 'OutcomeUnknownError';
  /** The command (lower case), e.g. "set". */
  readonly command: string;
  constructor(command: string, why: string, options?: ErrorOptions) {
    super(`${command}: outcome unknown (${why}); it may or may not have been applied, check before retrying`, options);
    this.command = command;
  }
}

/** Every attempt failed in a way that certainly did not apply the command, until the retry deadline. */
export class RetryDeadlineError extends Error {
  override readonly name = 'RetryDeadlineError';
  readonly command: string;
  readonly attempts: number;
  constructor(command: string, attempts: number, deadlineMs: number, options?: ErrorOptions) {
    const last = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`${command}: not applied; gave up after ${attempts} attempts in ${deadlineMs} ms${last}`, options);
    this.command = command;
    this.attempts = attempts;
  }
}

/** The command was never sent: no node could be reached (retried until the deadline). */
export class NoConnectionError extends Error {
  override readonly name = 'NoConnectionError';
}

/** close() was called: the command was not sent. */
export class ClientClosedError extends Error {
  override readonly name = 'ClientClosedError';
  constructor() {
    super('the client is closed');
  }
}

/** fire(): the queue already holds `fireQueueMax` operations; this one was not queued. */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
  constructor(max: number) {
    super(`the fire-and-forget queue is full (${max} operations); await flush() or slow down`);
  }
}

/**
 * What an error says about a command's fate:
 * - `not-applied`: certainly not applied (CLUSTERDOWN, TRYAGAIN, LOADING, never sent): retry;
 * - `unknown`: it may have been applied (UNKNOWN reply, connection lost or timed out after sending);
 * - `final`: the server's deterministic answer (an error reply such as WRONGTYPE): return it.
 */
export type Fate = 'not-applied' | 'unknown' | 'final';

const RETRYABLE_REPLIES = ['CLUSTERDOWN', 'TRYAGAIN', 'LOADING', 'MASTERDOWN'] as const;

/** ioredis's rejection of a command it did not write (offline queue off, stream not writable). */
const NOT_WRITTEN = /Stream isn't writeable|enableOfflineQueue/;

export function classify(err: unknown): Fate {
  if (err instanceof NoConnectionError || err instanceof ClientClosedError) return 'not-applied';
  if (!(err instanceof Error)) return 'unknown';
  if (err.name === 'ReplyError') {
    const space = err.message.indexOf(' ');
    const code = space < 0 ? err.message : err.message.slice(0, space);
    if ((RETRYABLE_REPLIES as readonly string[]).includes(code)) return 'not-applied';
    if (code === 'UNKNOWN') return 'unknown';
    return 'final';
  }
  if (NOT_WRITTEN.test(err.message)) return 'not-applied';
  // Connection closed, reset, command timeout, max retries: it was written to the socket.
  return 'unknown';
}

/** A short reason for an OutcomeUnknownError. */
export function unknownReason(err: unknown): string {
  if (err instanceof Error && err.name === 'ReplyError') return 'the server answered UNKNOWN: leadership changed after it was proposed';
  if (err instanceof Error && /timed out/i.test(err.message)) return 'no reply within the command timeout';
  return 'the connection was lost after the command was sent';
}
