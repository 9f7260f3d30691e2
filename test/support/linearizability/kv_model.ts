// The sequential specification of a single key of the KV store, as a step function.
// Must not know about time or concurrency. Invariant: states are primitives
// (string, or null for an absent key) compared by value, so the search can intern them.

import type { KvInput, KvOutput } from './history.ts';
import { ILLEGAL, type Model } from './search.ts';

export type KvState = string | null;

function stepKv(state: KvState, input: KvInput, output: KvOutput | null): KvState | typeof ILLEGAL {
  switch (input.kind) {
    case 'get':
      // Gets of unknown outcome are dropped before the search, so output is known here.
      return output !== null && 'value' in output && output.value === state ? state : ILLEGAL;
    case 'put':
      return input.value;
    case 'delete':
      return null;
    case 'append':
      return (state ?? '') + input.value;
    default: {
      const never: never = input;
      throw new Error(`unknown KV operation ${JSON.stringify(never)}`);
    }
  }
}

export const kvModel: Model<KvState, KvInput, KvOutput> = { init: null, step: stepKv };
