// Test-only frame loss for a transport: drop every frame to or from chosen peers
// (partitions, one-way included) or those a filter picks (random loss). Off unless
// the transport was built with `faultInjection: true`; production code never calls it.

import type { NodeId } from '../../../consensus/types.ts';

export type FrameDirection = 'out' | 'in';

/** Returns true to drop the frame. `frame` is the encoded frame (without the transport envelope). */
export type DropFilter = (direction: FrameDirection, peer: NodeId, frame: Uint8Array) => boolean;

export class FaultSwitch {
  readonly #dropTo = new Set<NodeId>();
  readonly #dropFrom = new Set<NodeId>();
  #filter: DropFilter | null = null;
  #active = false;

  dropTo(nodes: Iterable<NodeId>): void {
    for (const n of nodes) this.#dropTo.add(n);
    this.#active = true;
  }

  dropFrom(nodes: Iterable<NodeId>): void {
    for (const n of nodes) this.#dropFrom.add(n);
    this.#active = true;
  }

  dropIf(filter: DropFilter): void {
    this.#filter = filter;
    this.#active = true;
  }

  heal(): void {
    this.#dropTo.clear();
    this.#dropFrom.clear();
    this.#filter = null;
    this.#active = false;
  }

  drops(direction: FrameDirection, peer: NodeId, frame: Uint8Array): boolean {
    if (!this.#active) return false;
    if ((direction === 'out' ? this.#dropTo : this.#dropFrom).has(peer)) return true;
    return this.#filter !== null && this.#filter(direction, peer, frame);
  }
}
