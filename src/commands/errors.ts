// Expected failures as values: every error reply raftis sends is built here, with
// Redis's exact text, so wording lives in one place. A RedisError is a reply, not
// an exception; bugs throw ordinary Errors and are never turned into -ERR.

import type { Reply } from '../../protocol/index.ts';

export class RedisError {
  /** The whole error line without the leading '-', e.g. "ERR syntax error". */
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
  reply(): Reply {
    return { type: 'error', message: this.message };
  }
}

export const isRedisError = (x: unknown): x is RedisError => x instanceof RedisError;

const err = (m: string): RedisError => new RedisError(m);

/**
 * An argument as Redis's printf("%.Ns") embeds it: up to the first NUL byte, at most
 * `maxBytes` bytes, as a byte string (latin1: one char per byte), which the reply
 * writer sends back byte for byte, whatever the bytes are.
 */
export function cText(b: Buffer, maxBytes = Infinity): string {
  const nul = b.indexOf(0);
  return b.toString('latin1', 0, Math.min(nul < 0 ? b.length : nul, maxBytes));
}

/** Redis quotes at most 128 bytes of arguments in "unknown command" errors (a byte count). */
function quoteArgs(args: readonly Buffer[]): string {
  let out = '';
  for (const a of args) {
    if (out.length >= 128) break;
    out += `'${cText(a, 128 - out.length)}' `;
  }
  return out;
}

export const errors = {
  syntax: () => err('ERR syntax error'),
  wrongType: () => err('WRONGTYPE Operation against a key holding the wrong kind of value'),
  notInteger: () => err('ERR value is not an integer or out of range'),
  notFloat: () => err('ERR value is not a valid float'),
  overflow: () => err('ERR increment or decrement would overflow'),
  nanOrInfinity: () => err('ERR increment would produce NaN or Infinity'),
  noSuchKey: () => err('ERR no such key'),
  sameObject: () => err('ERR source and destination objects are the same'),
  dbIndexOutOfRange: () => err('ERR DB index is out of range'),
  invalidDbIndex: () => err('ERR invalid DB index'),
  invalidExpire: (cmd: string) => err(`ERR invalid expire time in '${cmd}' command`),
  offsetOutOfRange: () => err('ERR offset is out of range'),
  stringTooLong: () => err('ERR string exceeds maximum allowed size (proto-max-bulk-len)'),
  invalidCursor: () => err('ERR invalid cursor'),
  wrongArity: (name: string) => err(`ERR wrong number of arguments for '${name}' command`),
  unknownCommand: (name: Buffer, args: readonly Buffer[]) =>
    err(`ERR unknown command '${cText(name, 128)}', with args beginning with: ${quoteArgs(args)}`),
  unknownSubcommand: (sub: Buffer, cmd: string) =>
    err(`ERR unknown subcommand '${cText(sub, 128)}'. Try ${cmd.toUpperCase()} HELP.`),
  nestedMulti: () => err('ERR MULTI calls can not be nested'),
  execWithoutMulti: () => err('ERR EXEC without MULTI'),
  discardWithoutMulti: () => err('ERR DISCARD without MULTI'),
  watchInMulti: () => err('ERR WATCH inside MULTI is not allowed'),
  execAbort: () => err('EXECABORT Transaction discarded because of previous errors.'),
  notAllowedInMulti: () => err('ERR Command not allowed inside a transaction'),
  noAuth: () => err('NOAUTH Authentication required.'),
  wrongPass: () => err('WRONGPASS invalid username-password pair or user is disabled.'),
  authNotConfigured: () =>
    err('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?'),
  noProto: () => err('NOPROTO unsupported protocol version'),
  maxClients: () => err('ERR max number of clients reached'),
  /** Certainly not applied: no leader, or the proposal was refused. Clients may retry. */
  tryAgain: (why: string) => err(`TRYAGAIN ${why}`),
  clusterDown: (why: string) => err(`CLUSTERDOWN ${why}`),
  /** The write may or may not have been applied (leadership lost after proposing). */
  outcomeUnknown: () => err('UNKNOWN the write was proposed but its outcome is unknown (leadership changed); check before retrying'),
  custom: (m: string) => err(m),
} as const;
