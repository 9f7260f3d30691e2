// Renders a failed partition for a human: the longest linearizable prefix found (with
// the state after each op) and the operations that could not follow it.
// Output is bounded (EXPLAIN_OPS_MAX ops per section) so huge histories stay readable.

import type { KvOutput, Operation } from './history.ts';
import { kvModel, type KvState } from './kv_model.ts';
import { ILLEGAL } from './search.ts';

const EXPLAIN_OPS_MAX = 20;

export function formatOperation(op: Operation): string {
  const { input } = op;
  const args = input.kind === 'put' || input.kind === 'append' ? `, ${JSON.stringify(input.value)}` : '';
  const span = `[${op.call}, ${op.return ?? '∞'}]`;
  return `client ${op.clientId} ${input.kind}(${JSON.stringify(input.key)}${args}) ${span} → ${formatOutput(op.output)}`;
}

function formatOutput(output: KvOutput | null): string {
  if (output === null) return 'unknown';
  if ('ok' in output) return 'ok';
  return output.value === null ? 'nil' : JSON.stringify(output.value);
}

const formatState = (s: KvState): string => (s === null ? 'absent' : JSON.stringify(s));

/** `ops` is the partition in call order; `prefix` holds indices into it. */
export function explainIllegal(key: string, ops: readonly Operation[], prefix: readonly number[]): string {
  const lines = [`key ${JSON.stringify(key)}: its ${ops.length} operations have no linearization.`];
  lines.push(`Longest linearizable prefix found (${prefix.length} ops), each with the state after it:`);
  let state = kvModel.init;
  const stepped: string[] = [];
  for (const id of prefix) {
    const op = ops[id]!;
    const next = kvModel.step(state, op.input, op.output);
    if (next === ILLEGAL) throw new Error(`explain: prefix op #${id} does not replay`);
    state = next;
    stepped.push(`  #${id} ${formatOperation(op)}   state ${formatState(state)}`);
  }
  lines.push(...elideHead(stepped));
  const inPrefix = new Set(prefix);
  const rest = ops.flatMap((op, id) => (inPrefix.has(id) ? [] : [`  #${id} ${formatOperation(op)}`]));
  lines.push(`No order of the rest extends it (in call order; 'unknown' ones need never happen):`);
  lines.push(...elideTail(rest));
  return lines.join('\n');
}

function elideHead(lines: readonly string[]): string[] {
  if (lines.length <= EXPLAIN_OPS_MAX) return [...lines];
  return [`  … ${lines.length - EXPLAIN_OPS_MAX} earlier`, ...lines.slice(-EXPLAIN_OPS_MAX)];
}

function elideTail(lines: readonly string[]): string[] {
  if (lines.length <= EXPLAIN_OPS_MAX) return [...lines];
  return [...lines.slice(0, EXPLAIN_OPS_MAX), `  … ${lines.length - EXPLAIN_OPS_MAX} more`];
}
