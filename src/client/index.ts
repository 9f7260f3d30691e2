// raftis/client: the public surface of the client library (createClient, its options,
// its errors). Everything else in src/client is internal.

export { createClient, RaftisClient, type CallOptions, type ClientStats, type ListOptions, type RedisArg, type SetOptions } from './client.ts';
export type { FireCallback } from './fire.ts';
export type { ClientOptions } from './options.ts';
export type { BackoffOptions } from './backoff.ts';
export { backoffDelayMs } from './backoff.ts';
export type { Member } from './topology.ts';
export { ClientClosedError, NoConnectionError, OutcomeUnknownError, QueueFullError, RetryDeadlineError } from './errors.ts';
