// Owns the listener's options, their Redis defaults, and their validation.
// Must not read the environment or flags: the caller passes values in.
// Invariant: a `NetSettings` only ever holds validated values; the mutable ones
// (CONFIG SET) are read by connections at the moment they apply.

/** Options of `RespServer`; every limit has Redis's default. */
export interface ServerOptions {
  /** Bind address, or several (Redis `bind 127.0.0.1 ::1`). Default '127.0.0.1'. */
  readonly host?: string | readonly string[];
  /** TCP port; 0 picks an ephemeral one (shared by all bind addresses). */
  readonly port: number;
  /** maxclients: connections beyond this get `-ERR max number of clients reached`. Default 10 000. */
  readonly maxClients?: number;
  /** Redis `timeout`: close clients idle this long; 0 = never. Default 0. */
  readonly idleTimeoutSeconds?: number;
  /** client-query-buffer-limit, passed to the decoder. Default 1 GiB. */
  readonly queryBufferBytesMax?: number;
  /** Stop reading from a client while its unsent output exceeds this. Default 1 MiB. */
  readonly outputPauseBytes?: number;
  /** Stop reading from a client while this many replies are outstanding. Default 10 000. */
  readonly pendingRepliesMax?: number;
  /** requirepass is set: the decoder applies Redis's pre-AUTH limits until a session authenticates. */
  readonly requirePassSet?: boolean;
  /** tcp-keepalive in seconds; 0 disables keepalive. Default 300. */
  readonly tcpKeepAliveSeconds?: number;
  /**
   * Output a client may accumulate from `Session.deliver` (pushes it did not ask for
   * in a request: pub/sub messages) before it is closed, like Redis's
   * `client-output-buffer-limit pubsub 32mb`. Default 32 MiB.
   */
  readonly deliverOutputBytesMax?: number;
  /** Wall clock in ms (injected for tests). Default `Date.now`. */
  readonly clock?: () => number;
  /** How often idle clients are looked for. Default 1000 ms (Redis checks each client about once a second). */
  readonly idleCheckIntervalMs?: number;
}

/** Settings after defaults; the mutable fields may be changed at run time (CONFIG SET). */
export interface NetSettings {
  readonly hosts: readonly string[];
  readonly port: number;
  maxClients: number;
  idleTimeoutSeconds: number;
  /** Applies to connections accepted after a change (each decoder keeps its limit). */
  queryBufferBytesMax: number;
  outputPauseBytes: number;
  pendingRepliesMax: number;
  requirePassSet: boolean;
  tcpKeepAliveSeconds: number;
  deliverOutputBytesMax: number;
  readonly clock: () => number;
  readonly idleCheckIntervalMs: number;
}

export const NET_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  maxClients: 10_000,
  idleTimeoutSeconds: 0,
  queryBufferBytesMax: 1024 * 1024 * 1024,
  outputPauseBytes: 1024 * 1024,
  pendingRepliesMax: 10_000,
  tcpKeepAliveSeconds: 300,
  deliverOutputBytesMax: 32 * 1024 * 1024,
  idleCheckIntervalMs: 1000,
});

export function resolveSettings(options: ServerOptions): NetSettings {
  const hostOption = options.host ?? NET_DEFAULTS.host;
  const hosts = typeof hostOption === 'string' ? [hostOption] : [...hostOption];
  if (hosts.length === 0 || hosts.length > 16) throw new RangeError(`host must list 1 to 16 addresses, got ${hosts.length}`);
  const settings: NetSettings = {
    hosts,
    port: options.port,
    maxClients: options.maxClients ?? NET_DEFAULTS.maxClients,
    idleTimeoutSeconds: options.idleTimeoutSeconds ?? NET_DEFAULTS.idleTimeoutSeconds,
    queryBufferBytesMax: options.queryBufferBytesMax ?? NET_DEFAULTS.queryBufferBytesMax,
    outputPauseBytes: options.outputPauseBytes ?? NET_DEFAULTS.outputPauseBytes,
    pendingRepliesMax: options.pendingRepliesMax ?? NET_DEFAULTS.pendingRepliesMax,
    requirePassSet: options.requirePassSet ?? false,
    tcpKeepAliveSeconds: options.tcpKeepAliveSeconds ?? NET_DEFAULTS.tcpKeepAliveSeconds,
    deliverOutputBytesMax: options.deliverOutputBytesMax ?? NET_DEFAULTS.deliverOutputBytesMax,
    clock: options.clock ?? Date.now,
    idleCheckIntervalMs: options.idleCheckIntervalMs ?? NET_DEFAULTS.idleCheckIntervalMs,
  };
  checkInteger('port', settings.port, 0, 65535);
  checkInteger('maxClients', settings.maxClients, 1, 2 ** 31 - 1);
  checkInteger('idleTimeoutSeconds', settings.idleTimeoutSeconds, 0, 2 ** 31 - 1);
  checkInteger('queryBufferBytesMax', settings.queryBufferBytesMax, 1, Number.MAX_SAFE_INTEGER);
  checkInteger('outputPauseBytes', settings.outputPauseBytes, 1, Number.MAX_SAFE_INTEGER);
  checkInteger('pendingRepliesMax', settings.pendingRepliesMax, 1, 2 ** 31 - 1);
  checkInteger('tcpKeepAliveSeconds', settings.tcpKeepAliveSeconds, 0, 2 ** 31 - 1);
  checkInteger('deliverOutputBytesMax', settings.deliverOutputBytesMax, 1, Number.MAX_SAFE_INTEGER);
  checkInteger('idleCheckIntervalMs', settings.idleCheckIntervalMs, 1, 60_000);
  return settings;
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
}
