// A small pool of ioredis connections, all to the node the topology says to use (the
// leader when reachable). A connection that closes is not reconnected: it is dropped,
// its node noted as failed, and the next acquire opens one to the current target. A
// connection to a node that is no longer the target drains (no new commands) and closes
// once its last reply came, so switching back to the leader never cuts a command short.

import { Redis } from 'ioredis';
import { ClientClosedError, NoConnectionError } from './errors.ts';
import { formatAddress, type Address } from './options.ts';
import type { Topology } from './topology.ts';

export interface Slot {
  readonly redis: Redis;
  readonly addr: Address;
  readonly key: string;
  state: 'connecting' | 'ready' | 'draining' | 'closed';
  /** Commands sent on it whose reply has not come yet. */
  pending: number;
  readonly ready: Promise<void>;
}

export interface PoolOptions {
  readonly size: number;
  readonly topology: Topology;
  /** Opens a connection (no reconnect, no offline queue: a command is either written or refused). */
  readonly connect: (addr: Address) => Redis;
  /** Called when a connection closed without being asked to. */
  readonly onLost: (addr: Address) => void;
}

export class Pool {
  readonly #o: PoolOptions;
  readonly #slots = new Set<Slot>();
  #closed = false;

  constructor(o: PoolOptions) {
    this.#o = o;
  }

  /** A ready connection to the current target, the least busy; opens one when the pool has room. */
  async acquire(deadlineAt: number): Promise<Slot> {
    if (this.#closed) throw new ClientClosedError();
    const target = this.#o.topology.target();
    if (target === null) throw new NoConnectionError('no reachable leader known yet');
    const key = formatAddress(target);
    this.rebalance(key);
    const live = [...this.#slots].filter((s) => s.state === 'ready' || s.state === 'connecting');
    let best: Slot | undefined;
    for (const s of live) if (s.state === 'ready' && (best === undefined || s.pending < best.pending)) best = s;
    if (best && (best.pending === 0 || live.length >= this.#o.size)) return best;
    const fresh = live.length < this.#o.size ? this.#open(target) : undefined;
    if (best) return best;
    const waitFor = fresh ?? live[0]!;
    await this.#ready(waitFor, deadlineAt);
    return waitFor;
  }

  /** Drains every connection not pointing at `key` (the target). */
  rebalance(key?: string): void {
    if (key === undefined) {
      const target = this.#o.topology.target();
      // Without a target, keep what is connected: the next acquire decides.
      if (target === null) return;
      key = formatAddress(target);
    }
    for (const s of this.#slots) if (s.key !== key && (s.state === 'ready' || s.state === 'connecting')) this.#drain(s);
  }

  /** A command on `s` finished. */
  release(s: Slot): void {
    s.pending--;
    if (s.state === 'draining' && s.pending === 0) this.#end(s);
  }

  /** Stops using `s` (e.g. after a command timed out on it). */
  discard(s: Slot): void {
    if (s.state === 'closed') return;
    this.#o.topology.noteFailure(s.addr);
    this.#drain(s);
  }

  /** Closes every connection: waits (bounded) for pending replies, then disconnects. */
  async close(graceMs: number): Promise<void> {
    this.#closed = true;
    const deadline = performance.now() + graceMs;
    for (const s of this.#slots) if (s.state !== 'closed') this.#drain(s);
    while (this.#slots.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    for (const s of this.#slots) this.#end(s);
  }

  #open(addr: Address): Slot {
    const redis = this.#o.connect(addr);
    redis.on('error', () => {}); // surfaced through the commands and the 'close' below
    let markReady!: () => void;
    let fail!: (e: Error) => void;
    const ready = new Promise<void>((res, rej) => {
      markReady = res;
      fail = rej;
    });
    ready.catch(() => {}); // awaited by acquire when it needs it
    const slot: Slot = { redis, addr, key: formatAddress(addr), state: 'connecting', pending: 0, ready };
    this.#slots.add(slot);
    redis.once('ready', () => {
      if (slot.state === 'connecting') slot.state = 'ready';
      markReady();
    });
    redis.once('end', () => {
      const unexpected = slot.state !== 'closed';
      slot.state = 'closed';
      this.#slots.delete(slot);
      fail(new NoConnectionError(`could not connect to ${slot.key}`));
      if (unexpected) this.#o.onLost(addr);
    });
    return slot;
  }

  async #ready(s: Slot, deadlineAt: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const ms = Math.max(0, deadlineAt - performance.now());
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new NoConnectionError(`no connection to ${s.key} within the retry deadline`)), ms);
    });
    try {
      await Promise.race([s.ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #drain(s: Slot): void {
    if (s.state === 'connecting') {
      this.#end(s);
      return;
    }
    s.state = 'draining';
    if (s.pending === 0) this.#end(s);
  }

  #end(s: Slot): void {
    s.state = 'closed';
    this.#slots.delete(s);
    s.redis.disconnect();
  }
}
