// Writes that reach a follower travel to the leader and back. The follower sends the
// entry payload (tagged with its node id and a sequence number) and relays the
// leader's reply as soon as it arrives, with the index the write was applied at: the
// client's later commands on this node wait for that index where they read (see
// commands/dispatch.ts), so the reply need not wait for this node's own apply.
// A forward is re-sent with the same id after a timeout or a leader change; the state
// machine applies an id at most once. Errors tell the truth: "certainly not applied"
// only when no leader ever accepted the write, "unknown" otherwise.

import type { Reply } from '../../protocol/index.ts';
import { decodeReply, encodeReply } from '../../protocol/index.ts';
import type { NodeId } from '../../consensus/index.ts';
import { errors } from '../commands/errors.ts';

/** How a leader answered a forward. */
export type ForwardStatus = 'applied' | 'not-leader' | 'refused';
const STATUS: readonly ForwardStatus[] = ['applied', 'not-leader', 'refused'];

export interface ForwardAnswer {
  readonly status: ForwardStatus;
  /** The log index the write was applied at ('applied' only). */
  readonly index: number;
  readonly reply: Reply;
}

export function encodeAnswer(a: ForwardAnswer): Buffer {
  const head = Buffer.allocUnsafe(9);
  head.writeUInt8(STATUS.indexOf(a.status), 0);
  head.writeDoubleLE(a.index, 1);
  return Buffer.concat([head, encodeReply(a.reply)]);
}

export function decodeAnswer(b: Uint8Array): ForwardAnswer {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const status = STATUS[buf.readUInt8(0)];
  if (status === undefined) throw new Error(`unknown forward status ${buf[0]}`);
  return { status, index: buf.readDoubleLE(1), reply: decodeReply(buf.subarray(9)) };
}

export interface ForwarderDeps {
  leader(): NodeId | null;
  /** Sends a forward request; false when it could not be sent (no connection). */
  send(to: NodeId, seq: bigint, payload: Uint8Array, retry: number): boolean;
}

/** What a forwarded write came to: the reply, and the log index it was applied at (0 if it was not, or is unknown). */
export interface ForwardOutcome {
  readonly reply: Reply;
  readonly index: number;
}

interface Pending {
  readonly payload: Uint8Array;
  readonly resolve: (o: ForwardOutcome) => void;
  retry: number;
  /** A leader may have proposed it: giving up then means "unknown", not "not applied". */
  maybeProposed: boolean;
  nextSendMs: number;
  readonly giveUpMs: number;
}

export class Forwarder {
  readonly #deps: ForwarderDeps;
  readonly #pending = new Map<bigint, Pending>();
  #seq = 0n;
  readonly #resendMs: number;
  readonly #deadlineMs: number;

  constructor(deps: ForwarderDeps, resendMs = 1000, deadlineMs = 10_000) {
    this.#deps = deps;
    this.#resendMs = resendMs;
    this.#deadlineMs = deadlineMs;
  }

  get size(): number {
    return this.#pending.size;
  }

  /** The next id for a payload about to be forwarded (embedded in the payload itself). */
  nextSeq(): bigint {
    return ++this.#seq;
  }

  forward(seq: bigint, payload: Uint8Array, nowMs: number): Promise<ForwardOutcome> {
    return new Promise((resolve) => {
      const p: Pending = { payload, resolve, retry: 0, maybeProposed: false, nextSendMs: 0, giveUpMs: nowMs + this.#deadlineMs };
      this.#pending.set(seq, p);
      this.#send(seq, p, nowMs);
    });
  }

  #send(seq: bigint, p: Pending, nowMs: number): void {
    p.nextSendMs = nowMs + this.#resendMs;
    const leader = this.#deps.leader();
    if (leader === null) return;
    if (this.#deps.send(leader, seq, p.payload, p.retry)) {
      // Once sent, a leader may propose it even if its answer never arrives.
      p.maybeProposed = true;
      p.retry++;
    }
  }

  answer(seq: bigint, a: ForwardAnswer, nowMs: number): void {
    const p = this.#pending.get(seq);
    if (!p) return;
    switch (a.status) {
      case 'applied':
        this.#pending.delete(seq);
        p.resolve({ reply: a.reply, index: a.index });
        return;
      case 'refused':
        // The leader refused before proposing (overloaded, too large...): certainly not applied.
        if (p.retry <= 1) {
          this.#pending.delete(seq);
          p.resolve({ reply: a.reply, index: 0 });
        }
        return;
      case 'not-leader':
        // Try whoever is leader now, soon; an earlier attempt may still have been proposed.
        p.nextSendMs = Math.min(p.nextSendMs, nowMs + 50);
        return;
      default: {
        const never: never = a.status;
        throw new Error(`unknown status ${String(never)}`);
      }
    }
  }

  /** The leader changed: what is pending goes to the new one at the next tick. */
  leaderChanged(nowMs: number): void {
    for (const p of this.#pending.values()) p.nextSendMs = Math.min(p.nextSendMs, nowMs);
  }

  /** Called on every tick: re-send what timed out, give up what is past its deadline. */
  tick(nowMs: number): void {
    for (const [seq, p] of this.#pending) {
      if (nowMs >= p.giveUpMs) {
        this.#pending.delete(seq);
        p.resolve({ reply: p.maybeProposed ? errors.outcomeUnknown().reply() : errors.clusterDown('no leader reachable; the write was not applied').reply(), index: 0 });
      } else if (nowMs >= p.nextSendMs) {
        this.#send(seq, p, nowMs);
      }
    }
  }

  failAll(): void {
    for (const p of this.#pending.values()) {
      p.resolve({ reply: p.maybeProposed ? errors.outcomeUnknown().reply() : errors.tryAgain('the server is shutting down').reply(), index: 0 });
    }
    this.#pending.clear();
  }
}
