// Owns the TCP listeners, accepting and refusing clients (maxclients), client ids,
// the idle-timeout and stats timers, and graceful shutdown.
// Must not know what commands mean, nor SQLite or Raft: it hands connections an
// executor. Invariants: ids are unique and increase from 1; every accepted session
// is reported to `executor.sessionClosed` exactly once; timers are unref'd and
// stopped by `close()`; `close()` is idempotent.

import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { Connection } from './connection.ts';
import type { ConnectionHost } from './connection.ts';
import { NetCounters } from './net_stats.ts';
import type { NetStats } from './net_stats.ts';
import { resolveSettings } from './options.ts';
import type { NetSettings, ServerOptions } from './options.ts';
import type { Session } from './session.ts';
import type { Executor, Logger } from './types.ts';

const MAX_CLIENTS_REPLY = '-ERR max number of clients reached\r\n';
/** A refused client gets this long to read the error before its socket is destroyed. */
const REFUSED_LINGER_MS = 1000;
/** Redis samples instantaneous metrics every 100 ms. */
const STATS_SAMPLE_INTERVAL_MS = 100;
const CLOSE_GRACE_MS_DEFAULT = 5000;

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

const consoleLogger: Logger = {
  info: (message, fields) => console.log(message, fields ?? ''),
  warn: (message, fields) => console.warn(message, fields ?? ''),
  error: (message, fields) => console.error(message, fields ?? ''),
};

export class RespServer {
  /** Validated settings; the mutable ones may be changed at run time (CONFIG SET). */
  readonly settings: NetSettings;
  readonly stats: NetStats;
  readonly #counters: NetCounters;
  readonly #executor: Executor;
  readonly #logger: Logger;
  readonly #host: ConnectionHost;
  readonly #connections = new Map<number, Connection>();
  readonly #refused = new Set<Socket>();
  #listeners: Server[] = [];
  #addresses: ListenAddress[] = [];
  #nextId = 1;
  #listenCalled = false;
  #closing = false;
  #closePromise: Promise<void> | undefined;
  #sampleTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(options: ServerOptions, executor: Executor, logger: Logger = consoleLogger) {
    this.settings = resolveSettings(options);
    this.#executor = executor;
    this.#logger = logger;
    this.#counters = new NetCounters(() => this.#connections.size);
    this.stats = this.#counters;
    this.#host = {
      settings: this.settings,
      counters: this.#counters,
      executor,
      logger,
      connectionClosed: (connection) => this.#connectionClosed(connection),
    };
  }

  /**
   * Binds every configured address (all on one port: with port 0 the first bind
   * picks it) and starts the timers. An address written "-addr" is skipped if the
   * host lacks it, as in Redis's `bind`. Resolves with the first bound address.
   */
  async listen(): Promise<ListenAddress> {
    if (this.#listenCalled) throw new Error('RespServer.listen() may be called once');
    if (this.#closing) throw new Error('RespServer is closed');
    this.#listenCalled = true;
    let port = this.settings.port;
    try {
      for (const entry of this.settings.hosts) {
        const optional = entry.startsWith('-');
        const host = optional ? entry.slice(1) : entry;
        const address = await this.#bind(host, port, optional);
        if (address === undefined) continue;
        port = address.port;
        this.#addresses.push({ host, port });
      }
      if (this.#addresses.length === 0) throw new Error(`none of the bind addresses is available: ${this.settings.hosts.join(' ')}`);
    } catch (error) {
      await this.close({ graceMs: 0 });
      throw error;
    }
    this.#startTimers();
    this.#logger.info('accepting connections', { addresses: this.#addresses });
    return this.#addresses[0]!;
  }

  async #bind(host: string, port: number, optional: boolean): Promise<AddressInfo | undefined> {
    const listener = createServer({ allowHalfOpen: true, noDelay: true });
    listener.on('connection', (socket) => this.#accept(socket));
    try {
      const address = await listenOn(listener, host, port);
      listener.on('error', (error) => this.#logger.error('listener error', { host, error }));
      this.#listeners.push(listener);
      return address;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (optional && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) {
        this.#logger.warn('skipping unavailable bind address', { host, code });
        return undefined;
      }
      throw error;
    }
  }

  /** Every bound address, in bind order. */
  addresses(): readonly ListenAddress[] {
    return this.#addresses;
  }

  /** Open sessions, oldest first (CLIENT LIST order). */
  *sessions(): Iterable<Session> {
    for (const connection of this.#connections.values()) yield connection.session;
  }

  /** The open session with this id (CLIENT KILL ID, CLIENT UNBLOCK). */
  session(id: number): Session | undefined {
    return this.#connections.get(id)?.session;
  }

  /**
   * Stops accepting, stops executing new commands, lets in-flight ones finish and
   * their replies flush for up to `graceMs` (default 5000), then destroys what is
   * left. Idempotent: later calls return the first call's promise.
   */
  close(options: { readonly graceMs?: number } = {}): Promise<void> {
    this.#closePromise ??= this.#shutdown(options.graceMs ?? CLOSE_GRACE_MS_DEFAULT);
    return this.#closePromise;
  }

  async #shutdown(graceMs: number): Promise<void> {
    this.#closing = true;
    clearInterval(this.#sampleTimer);
    clearInterval(this.#idleTimer);
    const listenersClosed = Promise.all(
      this.#listeners.map((listener) => new Promise<void>((resolve) => listener.close(() => resolve()))),
    );
    for (const socket of this.#refused) socket.destroy();
    const connections = [...this.#connections.values()];
    for (const connection of connections) connection.shutdown();
    const allClosed = Promise.all(connections.map((connection) => connection.closed));
    let graceTimer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => {
      graceTimer = setTimeout(resolve, Math.max(0, graceMs));
    });
    await Promise.race([allClosed, graceOver]);
    clearTimeout(graceTimer);
    for (const connection of connections) connection.kill();
    await allClosed;
    await listenersClosed;
    this.#logger.info('stopped accepting connections', { addresses: this.#addresses });
  }

  #accept(socket: Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    if (this.#connections.size >= this.settings.maxClients) {
      this.#refuse(socket);
      return;
    }
    this.#counters.totalConnectionsReceived++;
    const id = this.#nextId++;
    this.#connections.set(id, new Connection(id, socket, this.#host));
  }

  /** Redis writes the error straight to the socket and closes it (acceptCommonHandler). */
  #refuse(socket: Socket): void {
    this.#counters.rejectedConnections++;
    this.#refused.add(socket);
    const timer = setTimeout(() => socket.destroy(), REFUSED_LINGER_MS);
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      this.#refused.delete(socket);
    });
    // Discard whatever it sends so our close is a FIN, not a reset.
    socket.resume();
    socket.end(MAX_CLIENTS_REPLY);
  }

  #connectionClosed(connection: Connection): void {
    this.#connections.delete(connection.session.id);
    try {
      this.#executor.sessionClosed?.(connection.session);
    } catch (error) {
      this.#logger.error('executor.sessionClosed failed', { id: connection.session.id, error });
    }
  }

  #startTimers(): void {
    const clock = this.settings.clock;
    // The first sample is the baseline: commands from now on count toward the rate.
    this.#counters.sample(clock());
    this.#sampleTimer = setInterval(() => this.#counters.sample(clock()), STATS_SAMPLE_INTERVAL_MS);
    this.#sampleTimer.unref();
    this.#idleTimer = setInterval(() => this.#closeIdleClients(), this.settings.idleCheckIntervalMs);
    this.#idleTimer.unref();
  }

  #closeIdleClients(): void {
    const timeoutSeconds = this.settings.idleTimeoutSeconds;
    if (timeoutSeconds === 0) return;
    const nowMs = this.settings.clock();
    for (const connection of [...this.#connections.values()]) connection.closeIfIdle(nowMs, timeoutSeconds * 1000);
  }
}

function listenOn(listener: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    listener.once('error', onError);
    listener.listen({ host, port }, () => {
      listener.off('error', onError);
      resolve(listener.address() as AddressInfo);
    });
  });
}
