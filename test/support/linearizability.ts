// Linearizability checker for client histories of the KV store (get/put/delete/append).
// Entry point: validates the history, partitions it by key (P-compositionality: each
// op touches one key, so the history is linearizable iff every key's is) and searches
// each partition under a shared deadline. Never unbounded: gives up with 'unknown'.

import type { Operation } from './linearizability/history.ts';
import { validateHistory } from './linearizability/history.ts';
import { explainIllegal } from './linearizability/explain.ts';
import { kvModel } from './linearizability/kv_model.ts';
import { searchLinearization } from './linearizability/search.ts';

export type { KvInput, KvOutput, Operation } from './linearizability/history.ts';
export { MalformedHistoryError } from './linearizability/history.ts';
export { formatOperation } from './linearizability/explain.ts';

export type CheckResult =
  | { readonly kind: 'ok' }
  | {
      readonly kind: 'illegal';
      readonly key: string;
      readonly explanation: string;
      /** The failing key's operations, in call order. */
      readonly operations: readonly Operation[];
      /** The longest linearizable prefix of them found, in linearization order. */
      readonly longestPrefix: readonly Operation[];
    }
  /** `bound` says which limit stopped the search of `key` (the first one that did). */
  | { readonly kind: 'unknown'; readonly reason: 'timeout'; readonly key: string; readonly bound: 'time' | 'states' };

export interface CheckOptions {
  /** Wall-clock budget for the whole history. Default 10 000 ms. */
  readonly timeoutMs?: number;
  /** Most configurations explored (and memoised) per key. Default 1 000 000. */
  readonly maxStates?: number;
  /** Clock in ms, injectable for tests. Default `performance.now`. */
  readonly now?: () => number;
}

const TIMEOUT_MS_DEFAULT = 10_000;
const MAX_STATES_DEFAULT = 1_000_000;

/**
 * Checks `history` against the sequential KV spec. Throws MalformedHistoryError on
 * input the checker cannot interpret. An illegal key is definitive and wins over
 * another key's 'unknown'; keys are searched smallest first, so the key reported as
 * illegal is the smallest failing partition.
 */
export function checkKv(history: readonly Operation[], options: CheckOptions = {}): CheckResult {
  validateHistory(history);
  const now = options.now ?? (() => performance.now());
  const bounds = {
    now,
    deadline: now() + (options.timeoutMs ?? TIMEOUT_MS_DEFAULT),
    maxStates: options.maxStates ?? MAX_STATES_DEFAULT,
  };
  let unknown: CheckResult | null = null;
  for (const [key, ops] of partitionByKey(history)) {
    const result = searchLinearization(kvModel, ops, bounds);
    switch (result.kind) {
      case 'ok':
        break;
      case 'unknown':
        unknown ??= { kind: 'unknown', reason: 'timeout', key, bound: result.bound };
        break;
      case 'illegal':
        return {
          kind: 'illegal',
          key,
          explanation: explainIllegal(key, ops, result.longestPrefix),
          operations: ops,
          longestPrefix: result.longestPrefix.map((id) => ops[id]!),
        };
      default: {
        const never: never = result;
        throw new Error(`unexpected search result ${JSON.stringify(never)}`);
      }
    }
  }
  return unknown ?? { kind: 'ok' };
}

/**
 * Groups ops by key, each group in call order, groups smallest first (then by key).
 * A get of unknown outcome is dropped: it changes nothing and nobody saw its answer.
 */
function partitionByKey(history: readonly Operation[]): [string, Operation[]][] {
  const byKey = new Map<string, Operation[]>();
  for (const op of history) {
    if (op.input.kind === 'get' && op.return === null) continue;
    let ops = byKey.get(op.input.key);
    if (ops === undefined) byKey.set(op.input.key, (ops = []));
    ops.push(op);
  }
  for (const ops of byKey.values()) ops.sort((a, b) => a.call - b.call);
  return [...byKey].sort(([ka, a], [kb, b]) => a.length - b.length || (ka < kb ? -1 : ka > kb ? 1 : 0));
}
