// Owns the per-client state of the commands layer, kept on the session (Session.commandState)
// so that each command finds all of it with one property read: CLIENT REPLY's mode, the
// read consistency (RAFT CONSISTENCY), MULTI/WATCH, and what orders a client's commands.
// Must not hold anything a reply depends on across nodes: it lives on the client's node.

import type { Session } from '../net/session.ts';
import type { Watch } from '../state/entry_codec.ts';
import type { CommandSpec } from './spec.ts';

export type ReplyMode = 'on' | 'off' | 'skip';
export type Consistency = 'linearizable' | 'lease' | 'stale';

export interface QueuedCommand {
  readonly spec: CommandSpec;
  readonly args: readonly Buffer[];
}

export interface TxState {
  /** Commands queued since MULTI; null outside MULTI. */
  queued: QueuedCommand[] | null;
  /** A queued command failed to queue: EXEC aborts. */
  dirty: boolean;
  readonly watches: Map<string, Watch>;
}

export class CommandSessionState {
  replyMode: ReplyMode = 'on';
  consistency: Consistency = 'linearizable';
  readonly tx: TxState = { queued: null, dirty: false, watches: new Map() };
  /** Index of the client's last write proposed on this node (its reads wait for it). */
  lastWrite = 0;
  /** Resolves when the last command that later ones must wait for took effect (dispatch.ts #ordered). */
  gate: Promise<void> | undefined = undefined;
  /** Whether everything `gate` waits for is reads (a read may then start at once). */
  gateIsReads = false;
  /** The last forwarded write's reply (reads of the client wait for it). */
  forwardedWrite: Promise<void> | undefined = undefined;
}

export function stateOf(session: Session): CommandSessionState {
  return (session.commandState ??= new CommandSessionState()) as CommandSessionState;
}
