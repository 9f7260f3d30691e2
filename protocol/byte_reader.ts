// A bounds-checked little-endian reader over one buffer, for the strict binary codecs
// (reply_codec here, the entry codec in src/state). Every read checks the length first
// and fails with the caller's named error; nothing is read past the end.

export class ByteReader {
  readonly #b: Buffer;
  readonly #noun: string;
  readonly #fail: (message: string) => Error;
  #o = 0;

  /** `noun` names what is decoded ("entry", "reply") in error messages built by `fail`. */
  constructor(b: Buffer, noun: string, fail: (message: string) => Error) {
    this.#b = b;
    this.#noun = noun;
    this.#fail = fail;
  }

  #need(n: number): void {
    if (this.#o + n > this.#b.length) throw this.#fail(`${this.#noun} truncated at byte ${this.#o} (need ${n} of ${this.#b.length})`);
  }
  u8(): number {
    this.#need(1);
    return this.#b[this.#o++]!;
  }
  u32(): number {
    this.#need(4);
    const v = this.#b.readUInt32LE(this.#o);
    this.#o += 4;
    return v;
  }
  f64(): number {
    this.#need(8);
    const v = this.#b.readDoubleLE(this.#o);
    this.#o += 8;
    return v;
  }
  u64(): bigint {
    this.#need(8);
    const v = this.#b.readBigUInt64LE(this.#o);
    this.#o += 8;
    return v;
  }
  /** A u32 length, then that many bytes (a view into the buffer). */
  bytes(): Buffer {
    const n = this.u32();
    this.#need(n);
    const v = this.#b.subarray(this.#o, this.#o + n);
    this.#o += n;
    return v;
  }
  /** Fails unless every byte was read. */
  end(): void {
    if (this.#o !== this.#b.length) throw this.#fail(`${this.#b.length - this.#o} trailing bytes in ${this.#noun}`);
  }
}
