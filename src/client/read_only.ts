// Which commands only read: those may be re-sent after a lost connection, since
// running one twice changes nothing. Everything not listed counts as a write, so a
// command this table does not know is never retried when its outcome is unknown.
// Names as in Redis's COMMAND table (readonly flag), for the families raftis serves.

const READ_ONLY = new Set([
  // strings and keys
  'get', 'mget', 'getrange', 'substr', 'strlen', 'exists', 'type', 'ttl', 'pttl', 'expiretime', 'pexpiretime',
  'keys', 'scan', 'randomkey', 'dbsize', 'touch', 'lcs', 'dump',
  // streams (XREADGROUP writes: it moves entries into a pending list)
  'xrange', 'xrevrange', 'xlen', 'xread', 'xinfo', 'xpending',
  // connection and server introspection
  'ping', 'echo', 'time', 'info', 'command', 'lastsave', 'sentinel',
]);

/** True when sending `command` twice has the effect of sending it once. */
export function isReadOnly(command: string): boolean {
  return READ_ONLY.has(command.toLowerCase());
}
