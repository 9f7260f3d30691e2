// The in-memory index of live log entries: for each index from `first` to `last`,
// its term, its file position and its payload size, so term() and seeks are O(1)
// without touching disk. 24 bytes per entry; it holds exactly the uncompacted log,
// so its bound is the driver's compaction policy. Entries are contiguous.

/** A file position: segment sequence number and byte offset, packed below 2^53. */
export const packPos = (seq: number, offset: number): number => seq * 2 ** 32 + offset;
export const posSeq = (pos: number): number => Math.floor(pos / 2 ** 32);
export const posOffset = (pos: number): number => pos % 2 ** 32;

export class EntryIndex {
  #terms: Float64Array = new Float64Array(1024);
  #pos: Float64Array = new Float64Array(1024);
  #payloadBytes: Float64Array = new Float64Array(1024);
  #head = 0;
  #length = 0;
  #first: number;

  /** An empty index whose first push will be `first`. */
  constructor(first: number) {
    this.#first = first;
  }
  get first(): number {
    return this.#first;
  }
  get last(): number {
    return this.#first + this.#length - 1;
  }
  get length(): number {
    return this.#length;
  }
  /** Empties the index; the next push is `first`. */
  reset(first: number): void {
    this.#head = 0;
    this.#length = 0;
    this.#first = first;
    if (this.#terms.length > 1024) this.#reallocate(1024);
  }
  push(term: number, pos: number, payloadBytes: number): void {
    if (this.#head + this.#length === this.#terms.length) this.#makeRoom();
    const at = this.#head + this.#length;
    this.#terms[at] = term;
    this.#pos[at] = pos;
    this.#payloadBytes[at] = payloadBytes;
    this.#length++;
  }
  /** Keeps [first, index); requires first <= index <= last + 1. */
  truncateFrom(index: number): void {
    if (index < this.#first || index > this.last + 1) throw new RangeError(`truncate at ${index} outside [${this.#first}, ${this.last + 1}]`);
    this.#length = index - this.#first;
  }
  /** Drops every entry <= index; an index past the end empties it with the next push at index + 1. */
  dropThrough(index: number): void {
    if (index < this.#first) return;
    if (index >= this.last) {
      this.reset(index + 1);
      return;
    }
    const n = index - this.#first + 1;
    this.#head += n;
    this.#length -= n;
    this.#first = index + 1;
    // Give memory back after a large compaction instead of keeping the high-water mark.
    if (this.#terms.length > 1024 && this.#length * 4 < this.#terms.length) this.#reallocate(Math.max(1024, this.#length * 2));
  }
  has(index: number): boolean {
    return index >= this.#first && index <= this.last;
  }
  term(index: number): number | undefined {
    return this.has(index) ? this.#terms[this.#head + index - this.#first] : undefined;
  }
  pos(index: number): number {
    return this.#at(this.#pos, index);
  }
  payloadBytes(index: number): number {
    return this.#at(this.#payloadBytes, index);
  }
  #at(a: Float64Array, index: number): number {
    if (!this.has(index)) throw new RangeError(`index ${index} outside [${this.#first}, ${this.last}]`);
    return a[this.#head + index - this.#first]!;
  }
  /** Slides live entries to the front, growing only when more than half full. */
  #makeRoom(): void {
    this.#reallocate(this.#length * 2 > this.#terms.length ? this.#terms.length * 2 : this.#terms.length);
  }
  /** Moves live entries to the front of arrays of `capacity` (set() copes with overlap when reusing them). */
  #reallocate(capacity: number): void {
    const move = (a: Float64Array): Float64Array => {
      const b = capacity === a.length ? a : new Float64Array(capacity);
      b.set(a.subarray(this.#head, this.#head + this.#length), 0);
      return b;
    };
    this.#terms = move(this.#terms);
    this.#pos = move(this.#pos);
    this.#payloadBytes = move(this.#payloadBytes);
    this.#head = 0;
  }
}
