// A bounded cache of the most recent entries: always a suffix of the log, from
// `first` to the log's last index, so a hit needs no disk read. Bounded both in
// entry bytes (data + 24, as consensus counts them) and in entries; the oldest go first.
// It keeps references to the caller's Entry objects, which must not be mutated.

import type { Entry } from '../../../consensus/types.ts';
import { entryBytes } from '../../../consensus/storage.ts';

export class EntryCache {
  #entries: (Entry | undefined)[] = [];
  #head = 0;
  #first: number;
  #bytes = 0;
  readonly #bytesMax: number;
  readonly #entriesMax: number;

  constructor(nextIndex: number, bytesMax: number, entriesMax: number) {
    this.#first = nextIndex;
    this.#bytesMax = bytesMax;
    this.#entriesMax = entriesMax;
  }
  get first(): number {
    return this.#first;
  }
  get size(): number {
    return this.#entries.length - this.#head;
  }
  get bytes(): number {
    return this.#bytes;
  }
  get(index: number): Entry | undefined {
    if (index < this.#first) return undefined;
    return this.#entries[this.#head + index - this.#first];
  }
  /** Appends the next entry of the log; if it does not follow the cached suffix, the cache restarts at it. */
  append(e: Entry): void {
    if (e.index !== this.#first + this.size) this.clear(e.index);
    this.#entries.push(e);
    this.#bytes += entryBytes(e);
    while (this.size > 0 && (this.#bytes > this.#bytesMax || this.size > this.#entriesMax)) this.#evictOldest();
  }
  /** Forgets every entry >= index (a conflicting suffix is being replaced). */
  truncateFrom(index: number): void {
    if (index <= this.#first) {
      this.clear(index);
      return;
    }
    while (this.#first + this.size > index) this.#bytes -= entryBytes(this.#entries.pop()!);
  }
  /** Forgets every entry <= index (compacted into a snapshot). */
  dropThrough(index: number): void {
    while (this.size > 0 && this.#first <= index) this.#evictOldest();
    if (this.size === 0 && this.#first <= index) this.#first = index + 1;
  }
  clear(nextIndex: number): void {
    this.#entries = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#first = nextIndex;
  }
  #evictOldest(): void {
    const e = this.#entries[this.#head]!;
    this.#entries[this.#head] = undefined;
    this.#head++;
    this.#first++;
    this.#bytes -= entryBytes(e);
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }
}
