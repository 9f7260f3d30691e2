// Owns the unread bytes of one connection as a list of received chunks.
// Must not copy on push or mutate a chunk; copies happen once, in `take`, and only
// when the requested range spans chunks. Invariant: every operation is O(bytes it
// newly touches), so a request arriving in many small chunks costs linear time.

/** Compact the chunk list once this many consumed slots (and at least half) are at its front. */
const COMPACT_AFTER_CHUNKS = 64;

export class ByteQueue {
  #chunks: Buffer[] = [];
  /** Index in #chunks of the first chunk with unread bytes. */
  #head = 0;
  /** Read offset inside #chunks[#head]. */
  #offset = 0;
  #length = 0;
  // Scan memo for `lineEnd`: bytes before #scanRel are known to be neither the byte nor NUL.
  // Valid until the next consume; a consume resets it to the read position.
  #scanChunk = 0;
  #scanOffset = 0;
  #scanRel = 0;

  /** Unread bytes. */
  get length(): number {
    return this.#length;
  }

  /** Appends a chunk. The queue keeps a reference; the caller must not mutate it afterwards. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** The chunk holding the next unread byte (for fast paths), or undefined when empty. */
  get headChunk(): Buffer | undefined {
    return this.#length === 0 ? undefined : this.#chunks[this.#head];
  }

  /** Read offset of the next unread byte inside `headChunk`. */
  get headOffset(): number {
    return this.#offset;
  }

  /** The unread byte at `rel` (0 = next byte), or undefined when not yet received. */
  byteAt(rel: number): number | undefined {
    if (rel >= this.#length) return undefined;
    let index = this.#head;
    let at = this.#offset + rel;
    for (;;) {
      const chunk = this.#chunks[index]!;
      if (at < chunk.length) return chunk[at];
      at -= chunk.length;
      index++;
    }
  }

  /**
   * Where a line ending in `byte` ends, as Redis finds it with C's strchr: the position
   * (relative to the read position) of the first `byte` before `relEnd`, or -1 if none
   * has been received there yet, or if a NUL byte comes first (strchr stops at it, so
   * Redis waits for the line until its length limit). Callers must search for the same
   * byte until they consume: the memo assumes it.
   */
  lineEnd(byte: number, relEnd: number): number {
    const end = Math.min(relEnd, this.#length);
    let index = this.#scanChunk;
    let offset = this.#scanOffset;
    let rel = this.#scanRel;
    while (rel < end) {
      const chunk = this.#chunks[index]!;
      const stop = Math.min(chunk.length, offset + (end - rel));
      const found = stop === chunk.length ? chunk.indexOf(byte, offset) : indexWithin(chunk, byte, offset, stop);
      const nul = indexWithin(chunk, 0, offset, found === -1 ? stop : found);
      if (nul !== -1) {
        // Remembered at the NUL: asking again finds it at once.
        this.#remember(index, nul, rel + (nul - offset));
        return -1;
      }
      if (found !== -1) {
        this.#remember(index, found, rel + (found - offset));
        return rel + (found - offset);
      }
      rel += stop - offset;
      if (stop === chunk.length) {
        index++;
        offset = 0;
      } else {
        offset = stop;
      }
    }
    this.#remember(index, offset, rel);
    return -1;
  }

  /**
   * Removes and returns the next `n` bytes (n <= length). A range inside one chunk
   * is returned as a view of that chunk (zero-copy); a range spanning chunks is
   * copied once into a new Buffer. Either way the queue never writes to it again.
   */
  take(n: number): Buffer {
    const chunk = this.#chunks[this.#head]!;
    if (this.#offset + n <= chunk.length) {
      const view = chunk.subarray(this.#offset, this.#offset + n);
      this.skip(n);
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    let written = 0;
    let index = this.#head;
    let offset = this.#offset;
    while (written < n) {
      const source = this.#chunks[index]!;
      const count = Math.min(source.length - offset, n - written);
      source.copy(out, written, offset, offset + count);
      written += count;
      index++;
      offset = 0;
    }
    this.skip(n);
    return out;
  }

  /** Discards the next `n` bytes (n <= length). */
  skip(n: number): void {
    this.#length -= n;
    let remaining = n;
    while (remaining > 0) {
      const chunk = this.#chunks[this.#head]!;
      const left = chunk.length - this.#offset;
      if (remaining < left) {
        this.#offset += remaining;
        break;
      }
      remaining -= left;
      this.#head++;
      this.#offset = 0;
    }
    this.#compact();
    this.#remember(this.#head, this.#offset, 0);
  }

  #remember(index: number, offset: number, rel: number): void {
    this.#scanChunk = index;
    this.#scanOffset = offset;
    this.#scanRel = rel;
  }

  /** Drops references to consumed chunks so they can be collected. */
  #compact(): void {
    if (this.#length === 0) {
      this.#chunks = [];
      this.#head = 0;
      this.#offset = 0;
    } else if (this.#head >= COMPACT_AFTER_CHUNKS && this.#head * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }
}

function indexWithin(chunk: Buffer, byte: number, start: number, stop: number): number {
  const found = chunk.subarray(start, stop).indexOf(byte);
  return found === -1 ? -1 : start + found;
}
