// Connects a RaftNode to its peers over NATS: Raft messages out and in, snapshot
// data streamed before the Raft snapshot message that announces it, and forwarded
// writes with their answers. Owns no Raft or state logic; it translates frames.

import { nodeId as toNodeId, type Message, type NodeId } from '../../consensus/index.ts';
import type { Log } from '../log.ts';
import { decodeAnswer, encodeAnswer } from './forwarding.ts';
import type { RaftNode } from './node.ts';
import {
  NatsTransport,
  SnapshotReceiver,
  SnapshotSender,
  decodeFrame,
  encodeFrame,
  encodeMessage,
  type NatsTransportOptions,
  type TransportState,
} from './transport/index.ts';

export interface ClusterLinkOptions {
  readonly nodeId: string;
  readonly clusterId: string;
  readonly servers: readonly string[];
  /** Where received snapshots are written before they are installed. */
  readonly dir: string;
  readonly logger: Log;
  readonly faultInjection?: boolean;
  readonly auth?: Pick<NatsTransportOptions, 'user' | 'pass' | 'token' | 'credsFile' | 'tls'>;
}

export class ClusterLink {
  readonly transport: NatsTransport;
  readonly #self: NodeId;
  readonly #log: Log;
  readonly #sender: SnapshotSender;
  readonly #receiver: SnapshotReceiver;
  #node: RaftNode | null = null;

  constructor(opts: ClusterLinkOptions) {
    this.#self = toNodeId(opts.nodeId);
    this.#log = opts.logger;
    this.transport = new NatsTransport({
      servers: opts.servers,
      clusterId: opts.clusterId,
      nodeId: this.#self,
      logger: opts.logger,
      faultInjection: opts.faultInjection ?? false,
      ...opts.auth,
    });
    const send = (to: NodeId, frame: Uint8Array): boolean => this.transport.send(to, frame);
    this.#sender = new SnapshotSender({ send, logger: opts.logger });
    this.#receiver = new SnapshotReceiver({ dir: opts.dir, send, logger: opts.logger });
    this.transport.onFrame((from, frame) => this.#receive(from, frame));
  }

  attach(node: RaftNode): void {
    this.#node = node;
  }

  start(): Promise<void> {
    return this.transport.start();
  }

  state(): TransportState {
    return this.transport.state();
  }

  /** Sends one Raft message; a snapshot message goes only after its data arrived. */
  send(m: Message): void {
    if (m.type !== 'snapshot') {
      this.transport.send(m.to, encodeMessage(m));
      return;
    }
    const node = this.#node;
    if (!node || this.#sender.activePeers().includes(m.to)) return;
    void this.#sender.send(m.to, { path: node.snapshotPath(), index: m.snapshot.index, term: m.snapshot.term }).then((result) => {
      if (result.ok) this.transport.send(m.to, encodeMessage(m));
      else this.#log.warn('snapshot transfer failed', { to: m.to, index: m.snapshot.index, reason: result.reason });
      node.reportSnapshot(m.to, result.ok);
    });
  }

  /** Sends a forwarded write to the leader. */
  forward(to: NodeId, seq: bigint, payload: Uint8Array, retry: number): boolean {
    try {
      // 'turn': the writes forwarded from all the connections read in this turn share a message.
      return this.transport.send(to, encodeFrame({ kind: 'forwardRequest', id: { node: this.#self, seq }, db: 0, argv: [payload], retry }), 'turn');
    } catch (e) {
      this.#log.warn('cannot forward a write', { to, error: String(e) });
      return false;
    }
  }

  #receive(from: NodeId, bytes: Uint8Array): void {
    const node = this.#node;
    if (!node) return;
    let frame;
    try {
      frame = decodeFrame(bytes);
    } catch (e) {
      this.#log.warn('dropping a malformed frame', { from, error: String(e) });
      return;
    }
    switch (frame.kind) {
      case 'message': {
        const m = frame.message;
        if (m.to !== this.#self || m.from !== from) return;
        if (m.type === 'snapshot') {
          const got = this.#receiver.latest();
          if (!got || got.index !== m.snapshot.index || got.term !== m.snapshot.term) return; // data not here: the leader retries
          node.snapshotFiles.set(m.snapshot.index, got.path);
        }
        node.step(m);
        return;
      }
      case 'snapshotChunk':
        this.#receiver.handleChunk(from, frame);
        return;
      case 'snapshotAck':
        this.#sender.handleAck(from, frame);
        return;
      case 'forwardRequest': {
        const payload = frame.argv[0];
        if (payload === undefined) return;
        void node.handleForward(frame.id.node, frame.id.seq, payload).then((answer) => {
          this.transport.send(from, encodeFrame({ kind: 'forwardResponse', id: frame.id, reply: encodeAnswer(answer) }));
        });
        return;
      }
      case 'forwardResponse':
        if (frame.id.node === this.#self) node.forwardAnswered(frame.id.seq, decodeAnswer(frame.reply));
        return;
      default: {
        const never: never = frame;
        throw new Error(`unknown frame ${JSON.stringify(never)}`);
      }
    }
  }

  async close(): Promise<void> {
    this.#sender.close();
    await this.#receiver.close();
    await this.transport.close();
  }
}
