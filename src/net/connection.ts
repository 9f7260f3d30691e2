// Owns one client connection: bytes in → decoder → executor, replies out in request
// order, backpressure, and how the connection ends. Must not interpret commands or
// turn an executor's exception into a reply. Invariants: the executor is called in
// decode order; replies leave in that order; a connection closes once, reporting
// to its host once; buffered input and output stay bounded by the settings.

import type { Socket } from 'node:net';
import { commandName, ReplyWriter, RequestDecoder, writeReply } from '../../protocol/index.ts';
import type { DecodeError, Reply } from '../../protocol/index.ts';
import type { NetCounters } from './net_stats.ts';
import type { NetSettings } from './options.ts';
import { ReplyQueue } from './reply_queue.ts';
import type { ReplySlot } from './reply_queue.ts';
import { Session } from './session.ts';
import type { SessionControl } from './session.ts';
import type { ExecResult, Executor, Logger } from './types.ts';
import { NoReply } from './types.ts';

/** Encoded replies are handed to the socket in pieces of about this size (under cork). */
const WRITE_BATCH_BYTES = 64 * 1024;
/** After our FIN is flushed, how long we wait for the client's before destroying the socket. */
const CLOSE_LINGER_MS = 1000;
/** After handing the socket a chunk this large (one huge reply), start a fresh writer so its buffer is freed. */
const WRITER_RESET_BYTES = 1024 * 1024;
/** Socket errors that just mean the peer went away; not worth a log line. */
const ORDINARY_SOCKET_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly settings: NetSettings;
  readonly counters: NetCounters;
  readonly executor: Executor;
  readonly logger: Logger;
  /** Called exactly once, from the socket's 'close'. */
  connectionClosed(connection: Connection): void;
}

export type Closing = 'no' | 'after-reply' | 'now';

export class Connection implements SessionControl {
  readonly session: Session;
  /** Resolves after the socket closed and the host was told. */
  readonly closed: Promise<void>;
  readonly #socket: Socket;
  readonly #host: ConnectionHost;
  readonly #decoder: RequestDecoder;
  #writer = new ReplyWriter();
  readonly #queue = new ReplyQueue();
  #closing: Closing = 'no';
  #isClosed = false;
  #ended = false;
  /** The client sent FIN: once buffered commands are executed, close after the replies. */
  #peerEnded = false;
  /** The decoder holds no complete command (last `next()` wanted more bytes). */
  #inputExhausted = true;
  #readingPaused = false;
  #pumping = false;
  #pumpScheduled = false;
  #lingerTimer: NodeJS.Timeout | undefined;
  #totalCommands = 0;
  #netInputBytes = 0;
  #netOutputBytes = 0;
  #resolveClosed!: () => void;

  constructor(id: number, socket: Socket, host: ConnectionHost) {
    this.#socket = socket;
    this.#host = host;
    const settings = host.settings;
    this.#decoder = new RequestDecoder({
      limits: { queryBufferBytesMax: settings.queryBufferBytesMax },
      authRequired: settings.requirePassSet,
    });
    const nowMs = settings.clock();
    this.session = new Session({
      id,
      addr: formatAddr(socket.remoteAddress, socket.remotePort),
      laddr: formatAddr(socket.localAddress, socket.localPort),
      createdAtMs: nowMs,
      authenticated: !settings.requirePassSet,
      control: this,
    });
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    socket.setNoDelay(true);
    if (settings.tcpKeepAliveSeconds > 0) socket.setKeepAlive(true, settings.tcpKeepAliveSeconds * 1000);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onEnd());
    socket.on('drain', () => this.#pump());
    socket.on('error', (error: NodeJS.ErrnoException) => this.#onError(error));
    socket.on('close', () => this.#onClose());
  }

  // ---- SessionControl ----

  get closing(): Closing {
    return this.#closing;
  }

  get queryBufferBytes(): number {
    return this.#decoder.bufferedBytes;
  }

  get outputBufferBytes(): number {
    return this.#socket.writableLength + this.#writer.pendingBytes;
  }

  get pendingReplies(): number {
    return this.#queue.length;
  }

  get totalCommands(): number {
    return this.#totalCommands;
  }

  get netInputBytes(): number {
    return this.#netInputBytes;
  }

  get netOutputBytes(): number {
    return this.#netOutputBytes;
  }

  closeAfterReply(): void {
    if (this.#closing !== 'no') return;
    this.#closing = 'after-reply';
    this.#schedulePump();
  }

  kill(): void {
    if (this.#closing === 'now') return;
    this.#closing = 'now';
    this.#queue.clear();
    this.#socket.destroy();
  }

  deliver(reply: Reply): boolean {
    if (this.#closing !== 'no') return false;
    const settings = this.#host.settings;
    if (this.outputBufferBytes > settings.deliverOutputBytesMax || this.#queue.length >= 2 * settings.pendingRepliesMax) {
      this.#host.logger.warn('closing client that overcame its output buffer limit', this.#logFields());
      this.kill();
      return false;
    }
    this.#queue.push({ settled: true, result: reply, protocol: this.session.protocol, command: 'deliver' });
    this.#schedulePump();
    return true;
  }

  // ---- driven by the server ----

  /** Server shutdown: execute nothing more; close once the replies due are flushed. */
  shutdown(): void {
    this.closeAfterReply();
  }

  /** Closes the client if idle past the timeout (Redis clientsCronHandleTimeout). */
  closeIfIdle(nowMs: number, idleTimeoutMs: number): boolean {
    if (this.#closing !== 'no' || this.#queue.length > 0) return false;
    const flags = this.session.flags;
    // Blocked, pub/sub, replica and monitor clients are exempt, as in Redis.
    if (flags.has('b') || flags.has('P') || flags.has('S') || flags.has('O')) return false;
    if (nowMs - this.session.lastInteractionMs <= idleTimeoutMs) return false;
    this.#host.logger.info('closing idle client', this.#logFields());
    this.kill();
    return true;
  }

  // ---- input ----

  #onData(chunk: Buffer): void {
    this.#netInputBytes += chunk.length;
    this.#host.counters.totalNetInputBytes += chunk.length;
    this.session.lastInteractionMs = this.#host.settings.clock();
    // Once closing, input is read only to be discarded (so the client's FIN is seen
    // and unread bytes do not turn our close into a reset).
    if (this.#closing !== 'no') return;
    const error = this.#decoder.push(chunk);
    if (error !== undefined) {
      this.#onDecodeError(error);
      return;
    }
    this.#inputExhausted = false;
    this.#pump();
  }

  #onEnd(): void {
    this.#peerEnded = true;
    this.#pump();
  }

  #onError(error: NodeJS.ErrnoException): void {
    // 'close' follows; only unusual errors are worth reporting.
    if (error.code === undefined || !ORDINARY_SOCKET_ERRORS.has(error.code)) {
      this.#host.logger.info('client socket error', { ...this.#logFields(), error });
    }
  }

  #onClose(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#closing = 'now';
    this.#queue.clear();
    clearTimeout(this.#lingerTimer);
    this.#host.connectionClosed(this);
    this.#resolveClosed();
  }

  #onDecodeError(error: DecodeError): void {
    switch (error.kind) {
      case 'query-buffer-limit':
        // Redis closes without a reply: the client may be sending garbage forever.
        this.#host.logger.warn('closing client that reached max query buffer length', {
          ...this.#logFields(),
          bufferedBytes: error.bufferedBytes,
          limitBytes: error.limitBytes,
        });
        this.kill();
        return;
      case 'protocol':
        // Redis answers after the replies already due, then closes (setProtocolError).
        this.#host.logger.info('protocol error from client', { ...this.#logFields(), reason: error.reason });
        this.#queue.push({
          settled: true,
          result: { type: 'error', message: error.replyText },
          protocol: this.session.protocol,
          command: 'protocol-error',
        });
        this.closeAfterReply();
        return;
      default: {
        const unreachable: never = error;
        throw new TypeError(`unknown decode error ${String(unreachable)}`);
      }
    }
  }

  // ---- the pump: execute what is buffered, write what is ready, decide to read ----

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    // A microtask: replies settled by one batch of resolutions share one write.
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#pumping || this.#isClosed || this.#closing === 'now') return;
    this.#pumping = true;
    this.#socket.cork();
    try {
      this.#executeBuffered();
      this.#flushSettled();
      if (this.#peerEnded && this.#inputExhausted) this.closeAfterReply();
      if (this.#closing === 'after-reply' && this.#queue.length === 0) this.#end();
      this.#updateReading();
    } finally {
      this.#pumping = false;
      this.#socket.uncork();
    }
  }

  #outputBlocked(): boolean {
    return this.outputBufferBytes > this.#host.settings.outputPauseBytes;
  }

  #executeBuffered(): void {
    const settings = this.#host.settings;
    while (this.#closing === 'no' && !this.#outputBlocked()) {
      if (this.#queue.length >= settings.pendingRepliesMax) {
        this.#flushSettled();
        if (this.#queue.length >= settings.pendingRepliesMax) return;
      }
      this.#decoder.authRequired = settings.requirePassSet && !this.session.authenticated;
      const next = this.#decoder.next();
      if (next === undefined) {
        this.#inputExhausted = true;
        return;
      }
      if (!Array.isArray(next)) {
        this.#onDecodeError(next);
        return;
      }
      this.#execute(next);
      if (this.#writer.pendingBytes >= WRITE_BATCH_BYTES) this.#write();
    }
  }

  #execute(args: Buffer[]): void {
    const command = commandName(args[0]!);
    this.session.lastCommand = command;
    this.#totalCommands++;
    this.#host.counters.totalCommandsProcessed++;
    let result: ExecResult | Promise<ExecResult>;
    try {
      result = this.#host.executor.execute(this.session, args, command);
    } catch (error) {
      this.#bug(command, error);
      return;
    }
    // The protocol after the command ran: HELLO 3 answers in RESP3.
    const protocol = this.session.protocol;
    if (isPromise(result)) {
      const slot: ReplySlot = { settled: false, result: undefined, protocol, command };
      // Handlers are attached even if the command killed us, so a rejection is still reported.
      result.then(
        (value) => this.#settle(slot, value),
        (error: unknown) => this.#bug(command, error),
      );
      if (this.#closing !== 'now') this.#queue.push(slot);
    } else if (this.#closing === 'now') {
      return;
    } else if (this.#queue.length === 0) {
      this.#encode(result, protocol, command);
    } else {
      this.#queue.push({ settled: true, result, protocol, command });
    }
  }

  #settle(slot: ReplySlot, value: ExecResult): void {
    if (this.#closing === 'now') return;
    slot.settled = true;
    slot.result = value;
    this.#schedulePump();
  }

  /** Encodes the settled replies at the head of the queue and hands them to the socket. */
  #flushSettled(): void {
    for (let slot = this.#queue.settledHead(); slot !== undefined; slot = this.#queue.settledHead()) {
      this.#queue.shift();
      this.#encode(slot.result!, slot.protocol, slot.command);
      if (this.#closing === 'now') return;
      if (this.#writer.pendingBytes >= WRITE_BATCH_BYTES) this.#write();
    }
    this.#write();
  }

  #encode(result: ExecResult, protocol: 2 | 3, command: string): void {
    if (result === NoReply) return;
    this.#writer.protocol = protocol;
    const encodedBytes = this.#writer.pendingBytes;
    try {
      writeReply(this.#writer, result);
    } catch (error) {
      this.#bug(command, error, encodedBytes);
    }
  }

  #write(): void {
    if (this.#writer.pendingBytes === 0 || this.#closing === 'now') return;
    const bytes = this.#writer.take();
    this.#netOutputBytes += bytes.length;
    this.#host.counters.totalNetOutputBytes += bytes.length;
    this.session.lastInteractionMs = this.#host.settings.clock();
    this.#socket.write(bytes);
    if (bytes.length > WRITER_RESET_BYTES) this.#writer = new ReplyWriter();
  }

  /** Reads while there is room; once closing, reads only to discard (see #onData). */
  #updateReading(): void {
    const settings = this.#host.settings;
    const wanted =
      this.#closing !== 'no' ||
      (!this.#outputBlocked() && this.#queue.length < settings.pendingRepliesMax && !this.#peerEnded);
    if (wanted && this.#readingPaused) {
      this.#readingPaused = false;
      this.#socket.resume();
    } else if (!wanted && !this.#readingPaused) {
      this.#readingPaused = true;
      this.#socket.pause();
    }
  }

  /** Sends FIN after the queued bytes; destroys the socket if the client lingers. */
  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#socket.end(() => {
      if (this.#isClosed) return;
      this.#lingerTimer = setTimeout(() => this.#socket.destroy(), CLOSE_LINGER_MS);
      this.#lingerTimer.unref();
    });
  }

  /**
   * An executor threw or rejected, or its reply could not be encoded: a bug. Report
   * it and drop this client, not the server. Replies fully encoded before it are
   * still sent (the first `encodedBytes` of the writer); later ones are dropped.
   */
  #bug(command: string, error: unknown, encodedBytes = this.#writer.pendingBytes): void {
    this.#host.logger.error('executor failed; closing the connection', { ...this.#logFields(), command, error });
    if (this.#closing === 'now') return;
    this.#closing = 'now';
    this.#queue.clear();
    const complete = this.#writer.take().subarray(0, encodedBytes);
    if (complete.length > 0) {
      this.#netOutputBytes += complete.length;
      this.#host.counters.totalNetOutputBytes += complete.length;
      this.#socket.write(complete);
    }
    this.#socket.end();
    // Discard input so the client's FIN is seen (and the close is not a reset).
    this.#socket.resume();
    this.#lingerTimer = setTimeout(() => this.#socket.destroy(), CLOSE_LINGER_MS);
    this.#lingerTimer.unref();
  }

  #logFields(): Record<string, unknown> {
    return { id: this.session.id, addr: this.session.addr };
  }
}

function isPromise(value: ExecResult | Promise<ExecResult>): value is Promise<ExecResult> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** "ip:port", with brackets around IPv6 addresses as Redis's formatAddr does. */
export function formatAddr(ip: string | undefined, port: number | undefined): string {
  const host = ip ?? '?';
  return host.includes(':') ? `[${host}]:${port ?? 0}` : `${host}:${port ?? 0}`;
}
