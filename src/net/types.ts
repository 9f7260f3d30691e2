// Owns the contract between the network layer and whoever executes commands.
// Must not import from commands/, state/ or replication/: net knows bytes and order,
// never what a command means. Invariant: an executor is called once per decoded
// command, in order per connection; its result (or promise) yields exactly one reply.

import type { Reply } from '../../protocol/index.ts';
import type { Session } from './session.ts';

/** An executor result meaning "send nothing for this command" (CLIENT REPLY OFF/SKIP). */
export const NoReply: unique symbol = Symbol('NoReply');

export type ExecResult = Reply | typeof NoReply;

export interface Executor {
  /**
   * Called once per command, in order per connection, as soon as it is decoded
   * (not after earlier promises settle: the executor orders its own effects). May
   * return a promise (a write waiting for Raft). Expected failures are `{type:'error'}`
   * replies; a throw or a rejection is a bug: it is logged and the connection closed.
   * `name`, when given, is `args[0]` lowercased as latin1 (net has it already); names
   * longer than 64 bytes may be cut.
   */
  execute(session: Session, args: Buffer[], name?: string): ExecResult | Promise<ExecResult>;
  /** Called exactly once when a session closes (drop its transaction state, blocked reads, etc.). */
  sessionClosed?(session: Session): void;
}

/** Where net reports. Fields are structured context (client id, address, command name). */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}
