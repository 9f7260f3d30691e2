// The history format a client harness records, and its validation.
// An operation whose `return` is null has an unknown outcome (timed out, client
// crashed): it may have taken effect at any time after `call`, or never.
// Invariant: validateHistory throws on anything the checker cannot interpret, so a
// harness bug is never reported as a linearizability violation.

export type KvInput =
  | { readonly kind: 'get'; readonly key: string }
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly kind: 'delete'; readonly key: string }
  | { readonly kind: 'append'; readonly key: string; readonly value: string };

/** `get` answers `{ value }` (null = absent); `put`, `delete` and `append` answer `{ ok: true }`. */
export type KvOutput = { readonly value: string | null } | { readonly ok: true };

export interface Operation {
  readonly clientId: number;
  readonly input: KvInput;
  /** Invocation time, in any monotonic unit (ticks, ns) shared by the whole history. */
  readonly call: number;
  /** Response time; null = outcome unknown. */
  readonly return: number | null;
  /** Null exactly when `return` is null. */
  readonly output: KvOutput | null;
}

export class MalformedHistoryError extends Error {
  override readonly name = 'MalformedHistoryError';
  /** Position of the offending operation in the history given to the checker. */
  readonly index: number;

  constructor(index: number, message: string) {
    super(`operation ${index}: ${message}`);
    this.index = index;
  }
}

export function validateHistory(history: readonly Operation[]): void {
  history.forEach(validateOperation);
}

function validateOperation(op: Operation, index: number): void {
  const fail = (message: string): never => {
    throw new MalformedHistoryError(index, message);
  };
  if (!Number.isFinite(op.call)) fail(`call time ${op.call} is not a finite number`);
  if (op.return === null) {
    if (op.output !== null) fail('an operation with unknown outcome (return null) must have output null');
    return;
  }
  if (!Number.isFinite(op.return)) fail(`return time ${op.return} is not a finite number (use null for unknown)`);
  if (op.return < op.call) fail(`returns at ${op.return}, before its call at ${op.call}`);
  if (op.output === null) fail('a returned operation must have an output');
  const output = op.output as KvOutput;
  if (op.input.kind === 'get') {
    const value = 'value' in output ? output.value : undefined;
    if (value !== null && typeof value !== 'string') fail('a get must answer { value: string | null }');
  } else if (!('ok' in output) || output.ok !== true) {
    fail(`a ${op.input.kind} must answer { ok: true }`);
  }
}
