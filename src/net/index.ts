// Owns the public surface of the network layer: the listener, sessions, the executor contract.
// Must not re-export internals (Connection, ReplyQueue); commands import from here only.
// Invariant: nothing here knows about SQLite, Raft or command semantics.

export { RespServer } from './server.ts';
export type { ListenAddress } from './server.ts';
export { Session, detachedControl } from './session.ts';
export type { SessionControl, SessionInit } from './session.ts';
export { NoReply } from './types.ts';
export type { ExecResult, Executor, Logger } from './types.ts';
export { NET_DEFAULTS } from './options.ts';
export type { NetSettings, ServerOptions } from './options.ts';
export type { NetStats } from './net_stats.ts';
