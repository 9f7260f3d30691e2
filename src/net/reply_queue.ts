// Owns the order of one connection's replies: a FIFO of slots, one per executed
// command (or delivered push), each pending until its result is known.
// Must not encode or write: the connection takes settled slots from the head.
// Invariant: slots leave only from the head, so replies leave in request order.

import type { ExecResult } from './types.ts';

export interface ReplySlot {
  /** False while the executor's promise is outstanding. */
  settled: boolean;
  result: ExecResult | undefined;
  /** Protocol to encode with: the session's, right after the command was executed. */
  protocol: 2 | 3;
  /** Command name, for the log line if its reply cannot be encoded. */
  readonly command: string;
}

/** FIFO with amortised O(1) push and shift and no per-shift array copy. */
export class ReplyQueue {
  #items: (ReplySlot | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(slot: ReplySlot): void {
    this.#items.push(slot);
  }

  /** The oldest slot if its result is known. */
  settledHead(): ReplySlot | undefined {
    const slot = this.#items[this.#head];
    return slot !== undefined && slot.settled ? slot : undefined;
  }

  shift(): ReplySlot | undefined {
    const slot = this.#items[this.#head];
    if (slot === undefined) return undefined;
    this.#items[this.#head++] = undefined;
    // Compact once the dead prefix dominates, so memory follows the live length.
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return slot;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}
