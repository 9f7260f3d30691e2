// The simulated network: every delay, loss, duplication and reordering is drawn
// from the world's seeded PRNG; partitions block directed links (so asymmetric
// partitions are one-way blocks). Time is the world's tick counter.
// Invariant: a message is delivered at most at its scheduled tick and never before.

import type { Message, NodeId } from '../../consensus/index.ts';
import type { Rng } from './rng.ts';

export interface Envelope {
  readonly msg: Message;
  readonly deliverAt: number;
  readonly order: number;
  /** The snapshot's bytes when msg is a snapshot: they travel out of band, as in the real transport. */
  readonly snapshotData: Uint8Array | null;
}

export interface NetworkFaults {
  /** Probability that a message is dropped. */
  lossRate: number;
  /** Probability that a delivered message is delivered twice. */
  duplicateRate: number;
  /** Delay in ticks is drawn uniformly from [delayMin, delayMax]. */
  delayMin: number;
  delayMax: number;
  /** Keep each link's messages in send order (as one TCP connection through NATS does). */
  fifo?: boolean;
}

export const reliable: NetworkFaults = { lossRate: 0, duplicateRate: 0, delayMin: 0, delayMax: 1 };

export class Network {
  faults: NetworkFaults = { ...reliable };
  readonly #queue: Envelope[] = [];
  readonly #blocked = new Set<string>();
  readonly #lastDeliverAt = new Map<string, number>();
  readonly #rng: Rng;
  #order = 0;
  /** Counters for the "no excessive resending" scenario. */
  messagesSent = 0;
  entryBytesSent = 0;

  constructor(rng: Rng) {
    this.#rng = rng;
  }

  /** Queues `msg`; returns false when it was dropped (lost or blocked). */
  send(msg: Message, now: number, snapshotData: Uint8Array | null): boolean {
    this.messagesSent++;
    if (msg.type === 'append') for (const e of msg.entries) this.entryBytesSent += e.data.length;
    if (this.isBlocked(msg.from, msg.to)) return false;
    if (this.#rng.chance(this.faults.lossRate)) return false;
    const copies = this.#rng.chance(this.faults.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      let deliverAt = now + this.#rng.int(this.faults.delayMin, this.faults.delayMax);
      let order = this.#rng.int(0, 1 << 30);
      if (this.faults.fifo) {
        const link = `${msg.from}>${msg.to}`;
        deliverAt = Math.max(deliverAt, this.#lastDeliverAt.get(link) ?? 0);
        this.#lastDeliverAt.set(link, deliverAt);
        order = ++this.#order;
      }
      this.#queue.push({ msg, deliverAt, order, snapshotData });
    }
    return true;
  }

  /** Removes and returns the messages due at `now`, in a random order (reordering). */
  due(now: number): Envelope[] {
    const out: Envelope[] = [];
    let w = 0;
    for (const env of this.#queue) {
      if (env.deliverAt <= now) out.push(env);
      else this.#queue[w++] = env;
    }
    this.#queue.length = w;
    out.sort((a, b) => a.order - b.order);
    // A link cut while a message was in flight loses it.
    return out.filter((env) => !this.isBlocked(env.msg.from, env.msg.to));
  }

  inFlight(): number {
    return this.#queue.length;
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.#blocked.has(`${from}>${to}`);
  }

  block(from: NodeId, to: NodeId): void {
    this.#blocked.add(`${from}>${to}`);
  }

  /** Cuts every link between the groups, both ways. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    for (const a of groups) for (const b of groups) {
      if (a === b) continue;
      for (const x of a) for (const y of b) this.block(x, y);
    }
  }

  /** Cuts every link to and from `id`. */
  isolate(id: NodeId, all: readonly NodeId[]): void {
    for (const other of all) {
      if (other === id) continue;
      this.block(id, other);
      this.block(other, id);
    }
  }

  heal(): void {
    this.#blocked.clear();
  }

  hasPartitions(): boolean {
    return this.#blocked.size > 0;
  }
}
