// Memo of search configurations already explored: (set of linearized ops, model state id).
// The set is a Uint32Array bitset hashed incrementally (Zobrist: XOR of a fixed
// 32-bit value per op), so add/remove and hashing are O(1) and equality is O(n/32).
// Invariant: `LinearizedSet.hash` is always the XOR of `opHash(id)` over its members.

/** murmur3's 32-bit finaliser: a cheap bijective mixer. */
function fmix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

const opHash = (id: number): number => fmix32(id ^ 0x9e3779b9);
const stateHash = (stateId: number): number => fmix32(Math.imul(stateId + 1, 0x27d4eb2d));

export class LinearizedSet {
  readonly words: Uint32Array;
  hash = 0;

  constructor(size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  /** Caller guarantees `id` is absent; the Zobrist hash relies on it. */
  add(id: number): void {
    this.words[id >>> 5]! |= 1 << (id & 31);
    this.hash ^= opHash(id);
  }

  /** Caller guarantees `id` is present. */
  remove(id: number): void {
    this.words[id >>> 5]! &= ~(1 << (id & 31));
    this.hash ^= opHash(id);
  }
}

interface Visited {
  readonly words: Uint32Array;
  readonly stateId: number;
}

export class VisitedCache {
  private readonly buckets = new Map<number, Visited[]>();
  size = 0;

  /**
   * Records (set, state); returns false if that configuration was recorded before.
   * A recorded one was explored to exhaustion: it cannot be on the current path,
   * whose sets strictly grow, so it need not be explored again.
   */
  insert(set: LinearizedSet, stateId: number): boolean {
    const key = set.hash ^ stateHash(stateId);
    const bucket = this.buckets.get(key);
    if (bucket === undefined) {
      this.buckets.set(key, [{ words: set.words.slice(), stateId }]);
    } else {
      for (const v of bucket) if (v.stateId === stateId && sameWords(v.words, set.words)) return false;
      bucket.push({ words: set.words.slice(), stateId });
    }
    this.size++;
    return true;
  }
}

function sameWords(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
