// The simulator's seeded random source: one seed derives every choice, so a failing
// run reproduces from its seed. Wraps the core's injected PRNG type.

import { createPrng, type Prng } from '../../consensus/index.ts';

export class Rng implements Prng {
  readonly #prng: Prng;

  constructor(seed: number) {
    this.#prng = createPrng(seed);
  }

  nextInt(bound: number): number {
    return this.#prng.nextInt(bound);
  }

  /** Uniform in [lo, hi], inclusive. */
  int(lo: number, hi: number): number {
    return lo + this.#prng.nextInt(hi - lo + 1);
  }

  chance(p: number): boolean {
    return p > 0 && this.#prng.nextInt(1_000_000) < p * 1_000_000;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from an empty list');
    return xs[this.#prng.nextInt(xs.length)]!;
  }

  /** A Fisher–Yates shuffled copy. */
  shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.#prng.nextInt(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /** A new independent stream, e.g. one per node for election timeouts. */
  fork(): Rng {
    return new Rng(this.#prng.nextInt(0x7fffffff));
  }
}
