// What a command is, as data: Redis's name, arity, flags, key positions, group and
// docs, plus how it runs. `parse` validates arguments before anything is proposed;
// `run` executes against the keyspace (reads locally after a read barrier, writes
// at apply time on every replica) or against the connection (local commands).

import type { Reply } from '../../protocol/index.ts';
import type { NoReply } from '../net/types.ts';
import type { Session } from '../net/session.ts';
import type { LogIndex } from '../../consensus/index.ts';
import type { RedisError } from './errors.ts';
import type { Keyspace } from '../state/keyspace.ts';
import type { ServerContext } from './server_context.ts';

/** Redis command flags as COMMAND INFO reports them. */
export type CommandFlag =
  | 'write'
  | 'readonly'
  | 'denyoom'
  | 'admin'
  | 'pubsub'
  | 'noscript'
  | 'blocking'
  | 'loading'
  | 'stale'
  | 'skip_monitor'
  | 'skip_slowlog'
  | 'fast'
  | 'no_auth'
  | 'may_replicate'
  | 'no_mandatory_keys'
  | 'no_multi'
  | 'allow_busy';

export interface KeySpec {
  readonly first: number;
  readonly last: number;
  readonly step: number;
}

/** Context of a keyspace command: `nowMs` is the entry's leader-stamped time for writes. */
export interface ReadCtx {
  readonly ks: Keyspace;
  readonly db: number;
  readonly nowMs: number;
  /** In [0, 1): Math.random for a local read, derived from the entry inside the log. */
  random(): number;
}

export interface WriteCtx extends ReadCtx {
  /** The log index of the entry being applied (modification stamp for WATCH). */
  readonly index: LogIndex;
}

export interface LocalCtx {
  readonly session: Session;
  readonly server: ServerContext;
}

export type LocalResult = Reply | typeof NoReply | Promise<Reply | typeof NoReply>;

export type Exec<P> =
  | { readonly kind: 'read'; run(ctx: ReadCtx, p: P): Reply }
  | { readonly kind: 'write'; run(ctx: WriteCtx, p: P): Reply }
  | { readonly kind: 'local'; run(ctx: LocalCtx, p: P): LocalResult };

export interface CommandDocs {
  readonly summary: string;
  readonly since: string;
  readonly group: string;
  readonly complexity: string;
}

export interface CommandSpec<P = unknown> {
  /** Lower case, as in Redis's COMMAND replies; subcommands are "parent|sub". */
  readonly name: string;
  /** Redis arity: N = exactly N arguments including the name, -N = at least N. */
  readonly arity: number;
  readonly flags: readonly CommandFlag[];
  readonly keys: KeySpec | null;
  readonly aclCategories: readonly string[];
  readonly docs: CommandDocs;
  /** Validates and converts arguments (args[0] is the command name); deterministic. */
  parse(args: readonly Buffer[]): P | RedisError;
  readonly exec: Exec<P>;
  readonly subcommands?: readonly CommandSpec[];
}

/** Erases the parsed-argument type so specs of every command fit one table. */
export const defineCommand = <P>(spec: CommandSpec<P>): CommandSpec => spec as unknown as CommandSpec;

export function arityOk(arity: number, argc: number): boolean {
  return arity >= 0 ? argc === arity : argc >= -arity;
}
