// The simulator's replicated state machine: a string key-value map with put,
// delete and append, fed by committed entries. Deterministic: the same entries
// give the same map on every replica; snapshots are its canonical JSON.

import type { KvInput, KvOutput } from '../support/linearizability.ts';

export interface KvCommand {
  readonly client: number;
  readonly seq: number;
  readonly input: KvInput;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export const encodeCommand = (c: KvCommand): Uint8Array => enc.encode(JSON.stringify(c));
export const decodeCommand = (data: Uint8Array): KvCommand => JSON.parse(dec.decode(data)) as KvCommand;

export class KvMachine {
  readonly map = new Map<string, string>();

  apply(c: KvCommand): KvOutput {
    const i = c.input;
    switch (i.kind) {
      case 'get':
        return { value: this.map.get(i.key) ?? null };
      case 'put':
        this.map.set(i.key, i.value);
        return { ok: true };
      case 'delete':
        this.map.delete(i.key);
        return { ok: true };
      case 'append':
        this.map.set(i.key, (this.map.get(i.key) ?? '') + i.value);
        return { ok: true };
      default: {
        const never: never = i;
        throw new Error(`unknown op ${JSON.stringify(never)}`);
      }
    }
  }

  get(key: string): string | null {
    return this.map.get(key) ?? null;
  }

  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify([...this.map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  }

  static restore(data: Uint8Array): KvMachine {
    const m = new KvMachine();
    for (const [k, v] of JSON.parse(dec.decode(data)) as Array<[string, string]>) m.map.set(k, v);
    return m;
  }

  digest(): string {
    return dec.decode(this.snapshot());
  }
}
