// Carries frames between the nodes of one cluster over core NATS: each node listens on
// `raftis.<cluster>.<node>`, and a send is a fire-and-forget publish to the peer's
// subject (request/reply measured ~5x slower; Raft retries what is lost anyway).
// Owns the NATS connection, its reconnection forever with backoff, and the state the
// server reports. Must not know what frames mean (they are opaque bytes here).
// Invariants: frames to one peer leave in the order sent; the frames of one event loop
// turn to a peer share one NATS message (a batch) as far as they fit; a frame larger than
// the payload limit travels in pieces, back to back, and is delivered whole or not at all
// (fragments.ts); while not connected frames are dropped, not queued (so memory stays
// bounded during an outage).

import { readFileSync } from 'node:fs';
import {
  ClosedConnectionError,
  DrainingConnectionError,
  connect,
  credsAuthenticator,
  type NatsConnection,
  type NodeConnectionOptions,
} from '@nats-io/transport-node';
import type { NodeId } from '../../../consensus/types.ts';
import type { Log } from '../../log.ts';
import {
  BATCH_FRAME_OVERHEAD_BYTES,
  BATCH_HEADER_BYTES,
  ENVELOPE_BYTES_MAX,
  FRAGMENT_HEADER_BYTES,
  batchPayload,
  checkSubjectToken,
  envelopeHeader,
  fragmentPayload,
  parseEnvelope,
  splitBatch,
} from './envelope.ts';
import { FRAGMENTED_FRAME_BYTES_MAX, Reassembler } from './fragments.ts';
import { FaultSwitch, type DropFilter } from './fault_switch.ts';
import { ReconnectBackoff } from './reconnect_backoff.ts';
import { FrameTooLargeError, TransportClosedError } from './wire_errors.ts';

/**
 * `connected`: frames flow (our subscription is registered at the server).
 * `disconnected`: not started yet, or the connection was just lost.
 * `reconnecting`: trying to (re)connect, waits between attempts included; forever.
 * `closed`: after close() (final).
 */
export type TransportState = 'connected' | 'reconnecting' | 'disconnected' | 'closed';
export type FrameHandler = (from: NodeId, frame: Uint8Array) => void;
export type StateHandler = (state: TransportState, previous: TransportState) => void;

export interface NatsTransportOptions {
  readonly servers: readonly string[];
  readonly clusterId: string;
  readonly nodeId: NodeId;
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  /** A NATS credentials file (JWT + nkey seed), read at every authentication so rotation works. */
  readonly credsFile?: string;
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
  /** Our own cap on a NATS payload (envelope included); the server's max_payload applies too. */
  readonly maxPayloadBytes?: number;
  readonly logger: Log;
  /** Enables dropTo/dropFrom/dropIf/heal (tests only). */
  readonly faultInjection?: boolean;
  readonly reconnectWaitMinMs?: number;
  readonly reconnectWaitMaxMs?: number;
  readonly reconnectJitterMs?: number;
  /** Jitter source in [0, 1); default Math.random. */
  readonly random?: () => number;
  /** TCP + handshake timeout of one connection attempt. */
  readonly connectTimeoutMs?: number;
  /** Client pings detect a dead server that sent no FIN: after pingIntervalMs × (maxPingOut + 1). */
  readonly pingIntervalMs?: number;
}

export interface TransportStats {
  readonly framesSent: number;
  readonly framesReceived: number;
  /** Dropped by send() while not connected. */
  readonly framesDroppedDisconnected: number;
  /** Dropped by fault injection, both directions. */
  readonly framesDroppedInjected: number;
  /** Received payloads without a valid envelope. */
  readonly framesInvalid: number;
  /** Frames sent in pieces (each larger than one NATS message). */
  readonly framesFragmented: number;
  /** Frames received in pieces and dropped because a piece went missing. */
  readonly fragmentedFramesLost: number;
  /** NATS messages published (a batch of frames is one, a frame in pieces several). */
  readonly messagesSent: number;
}

/** nats-server's default max_payload, assumed until a server says otherwise. */
const SERVER_MAX_PAYLOAD_DEFAULT = 1024 * 1024;
const DRAIN_TIMEOUT_MS = 5000;

export class NatsTransport {
  readonly #opts: NatsTransportOptions;
  readonly #log: Log;
  readonly #prefix: string;
  readonly #envelope: Buffer;
  readonly #faults: FaultSwitch | null;
  readonly #backoff: ReconnectBackoff;
  readonly #frameHandlers = new Set<FrameHandler>();
  readonly #stateHandlers = new Set<StateHandler>();
  #state: TransportState = 'disconnected';
  #nc: NatsConnection | null = null;
  #serverMaxPayload = SERVER_MAX_PAYLOAD_DEFAULT;
  #started: Promise<void> | null = null;
  #closing = false;
  #closed: Promise<void> | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #wakeRetry: (() => void) | null = null;
  #statusLoop: Promise<void> | null = null;
  /** Counts status events, so a late flush cannot report a connection that was lost since. */
  #statusSeq = 0;
  #stats = { framesSent: 0, framesReceived: 0, framesDroppedDisconnected: 0, framesDroppedInjected: 0, framesInvalid: 0, framesFragmented: 0, messagesSent: 0 };
  /**
   * Frames waiting to go, per peer, as one message each: flushed in a microtask, or at the
   * end of the event loop's turn when every queued frame was sent with `'turn'`.
   */
  readonly #outbox = new Map<NodeId, { frames: Uint8Array[]; bytes: number }>();
  #flushQueued: 'microtask' | 'turn' | null = null;
  readonly #reassembler = new Reassembler();
  /** Ids of frames sent in pieces (the receiver tells one frame's pieces from the next). */
  #nextFragmentedId = 0;

  constructor(opts: NatsTransportOptions) {
    checkSubjectToken('cluster id', opts.clusterId);
    checkSubjectToken('node id', opts.nodeId);
    if (opts.servers.length === 0) throw new RangeError('NatsTransport needs at least one server');
    if (opts.maxPayloadBytes !== undefined && !(Number.isSafeInteger(opts.maxPayloadBytes) && opts.maxPayloadBytes > ENVELOPE_BYTES_MAX)) {
      throw new RangeError(`maxPayloadBytes ${opts.maxPayloadBytes} must be an integer above ${ENVELOPE_BYTES_MAX}`);
    }
    this.#opts = opts;
    this.#log = opts.logger;
    this.#prefix = `raftis.${opts.clusterId}.`;
    this.#envelope = envelopeHeader(opts.nodeId);
    this.#faults = opts.faultInjection === true ? new FaultSwitch() : null;
    this.#backoff = new ReconnectBackoff({
      minMs: opts.reconnectWaitMinMs ?? 250,
      maxMs: opts.reconnectWaitMaxMs ?? 5000,
      jitterMs: opts.reconnectJitterMs ?? 250,
      random: opts.random ?? Math.random,
    });
  }

  get nodeId(): NodeId {
    return this.#opts.nodeId;
  }

  /** The subject a node listens on. */
  subjectOf(node: NodeId): string {
    return this.#prefix + node;
  }

  state(): TransportState {
    return this.#state;
  }

  /** Called on every state change; returns a function that unregisters it. */
  onStateChange(handler: StateHandler): () => void {
    this.#stateHandlers.add(handler);
    return () => this.#stateHandlers.delete(handler);
  }

  /** Called for every frame addressed to this node; returns a function that unregisters it. */
  onFrame(handler: FrameHandler): () => void {
    this.#frameHandlers.add(handler);
    return () => this.#frameHandlers.delete(handler);
  }

  stats(): TransportStats {
    return { ...this.#stats, fragmentedFramesLost: this.#reassembler.lost };
  }

  /** The largest frame that goes in one NATS message: the payload limit less our envelope. Larger ones go in pieces. */
  maxFrameBytes(): number {
    return this.#payloadLimit() - this.#envelope.length;
  }

  #payloadLimit(): number {
    return Math.min(this.#serverMaxPayload, this.#opts.maxPayloadBytes ?? Number.MAX_SAFE_INTEGER);
  }

  /**
   * Connects and subscribes; resolves once connected the first time. Until then it
   * retries forever with backoff (state `reconnecting`); close() ends the attempts
   * and makes this reject with TransportClosedError.
   */
  start(): Promise<void> {
    if (this.#closing) return Promise.reject(new TransportClosedError('transport is closed'));
    this.#started ??= this.#firstConnect();
    return this.#started;
  }

  /**
   * Publishes `frame` to `to`, in pieces if it is larger than maxFrameBytes(). Returns
   * false when the frame was dropped (not connected, or fault injection); Raft and the
   * snapshot stream retry. Throws FrameTooLargeError above FRAGMENTED_FRAME_BYTES_MAX and
   * TransportClosedError after close().
   *
   * `when` = 'turn' lets the frame wait until the end of the event loop's turn (setImmediate)
   * to share a message with frames sent from later callbacks of the same turn, such as the
   * forwarded writes of many client connections read in one poll; 'now' (the default)
   * flushes once the current callback's synchronous work and microtasks are done.
   */
  send(to: NodeId, frame: Uint8Array, when: 'now' | 'turn' = 'now'): boolean {
    if (this.#closing) throw new TransportClosedError('send after close');
    checkSubjectToken('destination node id', to);
    if (frame.length > FRAGMENTED_FRAME_BYTES_MAX) throw new FrameTooLargeError(frame.length, FRAGMENTED_FRAME_BYTES_MAX);
    if (this.#faults?.drops('out', to, frame)) {
      this.#stats.framesDroppedInjected++;
      return false;
    }
    if (this.#state !== 'connected' || this.#nc === null) {
      this.#stats.framesDroppedDisconnected++;
      return false;
    }
    const room = this.maxFrameBytes() - BATCH_HEADER_BYTES;
    if (frame.length + BATCH_FRAME_OVERHEAD_BYTES <= room) {
      let box = this.#outbox.get(to);
      if (box !== undefined && box.bytes + BATCH_FRAME_OVERHEAD_BYTES + frame.length > room) {
        this.#flushTo(to);
        box = undefined;
      }
      if (box === undefined) {
        box = { frames: [], bytes: 0 };
        this.#outbox.set(to, box);
      }
      box.frames.push(frame);
      box.bytes += BATCH_FRAME_OVERHEAD_BYTES + frame.length;
      if (when === 'now' && this.#flushQueued !== 'microtask') {
        this.#flushQueued = 'microtask';
        queueMicrotask(() => this.#flushAll());
      } else if (this.#flushQueued === null) {
        this.#flushQueued = 'turn';
        setImmediate(() => this.#flushAll());
      }
      this.#stats.framesSent++;
      return true;
    }
    // Too big to share a message: what was queued for the peer goes first, so order holds.
    this.#flushTo(to);
    if (!this.#publish(to, frame)) {
      this.#stats.framesDroppedDisconnected++;
      return false;
    }
    this.#stats.framesSent++;
    return true;
  }

  #flushAll(): void {
    this.#flushQueued = null;
    for (const to of [...this.#outbox.keys()]) this.#flushTo(to);
  }

  /** Publishes the frames queued for `to`: one as itself, several as a batch. Lost if the connection is gone. */
  #flushTo(to: NodeId): void {
    const box = this.#outbox.get(to);
    if (box === undefined) return;
    this.#outbox.delete(to);
    const frames = box.frames;
    const sent = frames.length === 1 ? this.#publish(to, frames[0]!) : this.#publishBatch(to, frames, box.bytes - frames.length * BATCH_FRAME_OVERHEAD_BYTES);
    if (!sent) this.#stats.framesDroppedDisconnected += frames.length;
  }

  #publishBatch(to: NodeId, frames: readonly Uint8Array[], frameBytes: number): boolean {
    return this.#guardPublish((nc) => {
      nc.publish(this.#prefix + to, batchPayload(this.#envelope, frames, frameBytes));
      this.#stats.messagesSent++;
    });
  }

  /** One frame: one message, or pieces when it is over the payload limit. */
  #publish(to: NodeId, frame: Uint8Array): boolean {
    return this.#guardPublish((nc) => {
      if (frame.length <= this.maxFrameBytes()) {
        nc.publish(this.#prefix + to, Buffer.concat([this.#envelope, frame], this.#envelope.length + frame.length));
        this.#stats.messagesSent++;
      } else {
        this.#publishPieces(nc, this.#prefix + to, frame);
      }
    });
  }

  /** Runs a publish on the live connection; false when there is none (or it closed under us: a lost frame). */
  #guardPublish(publish: (nc: NatsConnection) => void): boolean {
    if (this.#state !== 'connected' || this.#nc === null) return false;
    try {
      publish(this.#nc);
      return true;
    } catch (e) {
      if (!(e instanceof ClosedConnectionError || e instanceof DrainingConnectionError)) throw e;
      return false;
    }
  }

  /** One frame as back-to-back pieces, each a NATS message at the payload limit. */
  #publishPieces(nc: NatsConnection, subject: string, frame: Uint8Array): void {
    const pieceBytes = this.#payloadLimit() - this.#envelope.length - FRAGMENT_HEADER_BYTES;
    if (pieceBytes < 1) throw new FrameTooLargeError(frame.length, this.maxFrameBytes());
    const id = this.#nextFragmentedId++ >>> 0;
    for (let offset = 0; offset < frame.length; offset += pieceBytes) {
      const piece = frame.subarray(offset, Math.min(frame.length, offset + pieceBytes));
      nc.publish(subject, fragmentPayload(this.#envelope, { id, total: frame.length, offset }, piece));
      this.#stats.messagesSent++;
    }
    this.#stats.framesFragmented++;
  }

  // ---- fault injection (tests only) ----

  dropTo(nodes: Iterable<NodeId>): void {
    this.#faultSwitch().dropTo(nodes);
  }
  dropFrom(nodes: Iterable<NodeId>): void {
    this.#faultSwitch().dropFrom(nodes);
  }
  dropIf(filter: DropFilter): void {
    this.#faultSwitch().dropIf(filter);
  }
  heal(): void {
    this.#faultSwitch().heal();
  }

  #faultSwitch(): FaultSwitch {
    if (this.#faults === null) throw new Error('fault injection is off: construct NatsTransport with faultInjection: true');
    return this.#faults;
  }

  /** Drains (delivers what was received, flushes what was sent) and closes. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#flushAll();
    this.#closing = true;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#wakeRetry?.();
    const nc = this.#nc;
    if (nc !== null && !nc.isClosed()) {
      if (this.#state === 'connected') {
        const drained = nc.drain().catch((e: unknown) => this.#log.warn('NATS drain failed', { error: String(e) }));
        const timer = setTimeout(() => void nc.close(), DRAIN_TIMEOUT_MS);
        await drained;
        clearTimeout(timer);
      }
      await nc.close();
    }
    await this.#statusLoop;
    this.#setState('closed');
  }

  // ---- connection ----

  async #firstConnect(): Promise<void> {
    for (;;) {
      this.#setState('reconnecting');
      try {
        const nc = await connect(this.#connectOptions());
        if (this.#closing) {
          await nc.close();
          break;
        }
        await this.#attach(nc);
        return;
      } catch (e) {
        if (this.#closing) break;
        const waitMs = this.#backoff.delayMs(Date.now());
        this.#log.warn('NATS connect failed; retrying', { error: String(e), waitMs, servers: this.#opts.servers });
        await new Promise<void>((resolve) => {
          this.#wakeRetry = resolve;
          this.#retryTimer = setTimeout(resolve, waitMs);
        });
        this.#retryTimer = null;
        this.#wakeRetry = null;
        if (this.#closing) break;
      }
    }
    throw new TransportClosedError('closed before the first connection to NATS');
  }

  #connectOptions(): NodeConnectionOptions {
    const o = this.#opts;
    return {
      servers: [...o.servers],
      name: `raftis-${o.clusterId}-${o.nodeId}`,
      reconnect: true,
      maxReconnectAttempts: -1,
      // Reconnect forever means also through a window of auth failures (a rotated credential).
      ignoreAuthErrorAbort: true,
      reconnectDelayHandler: () => this.#backoff.delayMs(Date.now()),
      timeout: o.connectTimeoutMs ?? 5000,
      pingInterval: o.pingIntervalMs ?? 5000,
      maxPingOut: 2,
      ...(o.user !== undefined ? { user: o.user, pass: o.pass } : {}),
      ...(o.token !== undefined ? { token: o.token } : {}),
      ...(o.credsFile !== undefined ? { authenticator: credsAuthenticator(() => readFileSync(o.credsFile!)) } : {}),
      ...(o.tls !== undefined ? { tls: { ...o.tls } } : {}),
    };
  }

  async #attach(nc: NatsConnection): Promise<void> {
    try {
      nc.subscribe(this.subjectOf(this.#opts.nodeId), {
        callback: (err, msg) => {
          if (err !== null) this.#log.error('NATS subscription failed', { error: String(err) });
          else this.#receive(msg.data);
        },
      });
      // A round trip, so the server has registered the subscription before we say
      // `connected` (a peer publishing right after would otherwise find no subscriber).
      await nc.flush();
      if (this.#closing) throw new TransportClosedError('closed while connecting');
    } catch (e) {
      await nc.close().catch(() => undefined);
      throw e;
    }
    this.#nc = nc;
    this.#noteServerInfo();
    this.#backoff.connected();
    this.#statusLoop = this.#watchStatus(nc);
    this.#setState('connected');
    this.#log.info('NATS connected', { server: nc.getServer(), subject: this.subjectOf(this.#opts.nodeId) });
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    const closed = nc.closed().then((err) => {
      if (err) this.#log.error('NATS connection closed with an error', { error: String(err) });
    });
    for await (const s of nc.status()) {
      const seq = ++this.#statusSeq;
      switch (s.type) {
        case 'disconnect':
          this.#setState('disconnected');
          this.#log.warn('NATS disconnected', { server: s.server });
          break;
        case 'reconnecting':
          this.#setState('reconnecting');
          break;
        case 'reconnect':
          this.#backoff.connected();
          this.#noteServerInfo();
          this.#log.info('NATS reconnected', { server: s.server });
          // The client re-sent our subscription with the handshake; a round trip makes
          // sure the server has it. A status event meanwhile makes this one stale.
          void nc.flush().then(
            () => {
              if (seq === this.#statusSeq && !this.#closing) this.#setState('connected');
            },
            () => undefined,
          );
          break;
        case 'error':
          this.#log.warn('NATS error', { error: String(s.error) });
          break;
        case 'slowConsumer':
          this.#log.warn('NATS slow consumer', { pending: s.pending });
          break;
        default:
          break;
      }
    }
    await closed;
    if (!this.#closing) {
      // Reconnection is unbounded, so only an unexpected failure ends here: start over.
      this.#log.error('NATS connection closed unexpectedly; reconnecting');
      this.#nc = null;
      this.#setState('disconnected');
      this.#started = this.#firstConnect().catch(() => undefined);
    }
  }

  #noteServerInfo(): void {
    const max = this.#nc?.info?.max_payload;
    if (typeof max === 'number' && max > 0) this.#serverMaxPayload = max;
  }

  #receive(payload: Uint8Array): void {
    const parsed = parseEnvelope(payload);
    if (parsed === null) {
      this.#stats.framesInvalid++;
      this.#log.debug('dropped a NATS payload without a valid envelope', { bytes: payload.length });
      return;
    }
    const { from, fragment } = parsed;
    if (fragment !== null) {
      const whole = this.#reassembler.piece(from, fragment, parsed.frame);
      if (whole !== null) this.#deliver(from, whole);
      return;
    }
    this.#reassembler.whole(from);
    if (!parsed.batch) {
      this.#deliver(from, parsed.frame);
      return;
    }
    const frames = splitBatch(parsed.frame);
    if (frames === null) {
      this.#stats.framesInvalid++;
      this.#log.debug('dropped a malformed batch of frames', { from, bytes: payload.length });
      return;
    }
    for (const frame of frames) if (!this.#deliver(from, frame)) return;
  }

  /** Hands one frame to the handlers; false if one of them threw (a bug, re-thrown outside NATS). */
  #deliver(from: NodeId, frame: Uint8Array): boolean {
    if (this.#faults?.drops('in', from, frame)) {
      this.#stats.framesDroppedInjected++;
      return true;
    }
    this.#stats.framesReceived++;
    for (const handler of this.#frameHandlers) {
      try {
        handler(from, frame);
      } catch (e) {
        // A handler that throws has a bug. Re-throw outside the NATS client's parser
        // (which would otherwise swallow it or wedge), so the process fails with context.
        queueMicrotask(() => {
          throw e;
        });
        return false;
      }
    }
    return true;
  }

  #setState(next: TransportState): void {
    const previous = this.#state;
    if (next === previous || previous === 'closed') return;
    this.#state = next;
    for (const h of this.#stateHandlers) h(next, previous);
  }
}
