// Simulated clients: each issues one KV operation at a time to some node — writes
// as proposals, reads through ReadIndex — and records a history for the
// linearizability checker. An operation certainly not applied (refused, or its log
// slot taken by another entry) leaves the history; one whose fate is unknown
// (timeout, crash) stays with an unknown return.

import type { LogIndex, NodeId, Term } from '../../consensus/index.ts';
import type { KvInput, KvOutput, Operation } from '../support/linearizability.ts';
import { encodeCommand } from './kv_machine.ts';
import type { SimNode, World } from './world.ts';

interface OpRecord {
  clientId: number;
  input: KvInput;
  call: number;
  return: number | null;
  output: KvOutput | null;
  dropped: boolean;
}

type Pending =
  | { readonly kind: 'write'; readonly op: OpRecord; readonly node: NodeId; readonly index: LogIndex; readonly term: Term; readonly deadline: number }
  | { kind: 'read'; readonly op: OpRecord; readonly node: NodeId; readonly context: number; readIndex: LogIndex | null; readonly deadline: number };

export interface ClientStats {
  issued: number;
  completed: number;
  unknown: number;
  refused: number;
}

export class Clients {
  readonly #world: World;
  readonly #keys: readonly string[];
  readonly #ops: OpRecord[] = [];
  readonly #pending = new Map<number, Pending>();
  readonly #timeoutTicks: number;
  #nextContext = 1;
  #seq = 0;
  readonly stats: ClientStats = { issued: 0, completed: 0, unknown: 0, refused: 0 };
  readonly count: number;

  constructor(world: World, count: number, keys: readonly string[], timeoutTicks = 60) {
    this.#world = world;
    this.count = count;
    this.#keys = keys;
    this.#timeoutTicks = timeoutTicks;
    world.hooks = {
      onApplied: (n, e, output) => {
        for (const [c, p] of this.#pending) {
          if (p.kind !== 'write' || p.node !== n.id || p.index !== e.index) continue;
          if (p.term === e.term && output !== null) this.#finish(c, output);
          else this.#drop(c); // another entry took the slot: ours was certainly not applied
        }
      },
      onReadState: (n, rs) => {
        for (const [c, p] of this.#pending) {
          if (p.kind !== 'read' || p.node !== n.id || p.context !== rs.context) continue;
          if (rs.index === null) this.#drop(c);
          else p.readIndex = rs.index;
        }
      },
      onCrash: (n) => this.#nodeLost(n),
    };
  }

  idle(client: number): boolean {
    return !this.#pending.has(client);
  }

  allIdle(): boolean {
    return this.#pending.size === 0;
  }

  /** Serves reads whose index was applied, and times out what waited too long. */
  poll(): void {
    for (const [c, p] of this.#pending) {
      if (p.kind === 'read' && p.readIndex !== null) {
        const n = this.#world.node(p.node);
        const key = p.op.input.key;
        if (n.raft && n.raft.log.applied >= p.readIndex) this.#finish(c, { value: n.kv.get(key) });
      }
    }
    for (const [c, p] of this.#pending) {
      if (this.#world.now >= p.deadline) {
        if (p.kind === 'write') this.#unknown(c);
        else this.#drop(c);
      }
    }
  }

  /** Client `c` starts a random operation on `node`; returns false if the node refused it at once. */
  issue(c: number, node: NodeId, input: KvInput = this.randomInput()): boolean {
    const n = this.#world.node(node);
    const r = n.raft;
    if (!r || this.#pending.has(c)) return false;
    const op: OpRecord = { clientId: c, input, call: ++this.#world.clock, return: null, output: null, dropped: false };
    this.#ops.push(op);
    this.stats.issued++;
    const deadline = this.#world.now + this.#timeoutTicks;
    if (input.kind === 'get') {
      const context = this.#nextContext++;
      this.#pending.set(c, { kind: 'read', op, node, context, readIndex: null, deadline });
      r.readIndex(context);
    } else {
      const res = r.propose(encodeCommand({ client: c, seq: ++this.#seq, input }));
      if (!res.ok) {
        op.dropped = true;
        this.stats.refused++;
        return false;
      }
      this.#pending.set(c, { kind: 'write', op, node, index: res.index, term: res.term, deadline });
    }
    this.#world.process(n);
    return true;
  }

  randomInput(): KvInput {
    const rng = this.#world.rng;
    const key = rng.pick(this.#keys);
    const value = `v${++this.#seq}`;
    switch (rng.int(0, 9)) {
      case 0:
        return { kind: 'delete', key };
      case 1:
      case 2:
        return { kind: 'append', key, value };
      case 3:
      case 4:
      case 5:
        return { kind: 'put', key, value };
      default:
        return { kind: 'get', key };
    }
  }

  history(): Operation[] {
    return this.#ops.filter((o) => !o.dropped).map((o) => ({ clientId: o.clientId, input: o.input, call: o.call, return: o.return, output: o.output }));
  }

  #nodeLost(n: SimNode): void {
    for (const [c, p] of this.#pending) {
      if (p.node !== n.id) continue;
      if (p.kind === 'write') this.#unknown(c);
      else this.#drop(c);
    }
  }

  #finish(c: number, output: KvOutput): void {
    const p = this.#pending.get(c)!;
    p.op.return = ++this.#world.clock;
    p.op.output = output;
    this.stats.completed++;
    this.#pending.delete(c);
  }

  #unknown(c: number): void {
    this.stats.unknown++;
    this.#pending.delete(c);
  }

  #drop(c: number): void {
    this.#pending.get(c)!.op.dropped = true;
    this.#pending.delete(c);
  }
}
