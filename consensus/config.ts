// Membership configurations: applying a one-step change, the entry encoding of a
// change, and quorum arithmetic over the voters. Pure functions over immutable data.
// Invariant: voters and learners are disjoint and each sorted, so equal configs
// compare equal element by element on every replica.

import type { Config, ConfigChange, Entry, HardState, LogIndex, NodeId, Term } from './types.ts';

export const emptyConfig: Config = { voters: [], learners: [] };

export function configOf(voters: readonly string[], learners: readonly string[] = []): Config {
  return { voters: [...voters].sort() as NodeId[], learners: [...learners].sort() as NodeId[] };
}

export const isVoter = (c: Config, id: NodeId): boolean => c.voters.includes(id);
export const isLearner = (c: Config, id: NodeId): boolean => c.learners.includes(id);
export const isMember = (c: Config, id: NodeId): boolean => isVoter(c, id) || isLearner(c, id);
export const members = (c: Config): NodeId[] => [...c.voters, ...c.learners];

/** The config after `change`; a change that does not apply (promote a stranger, remove a non-member) is a no-op. */
export function applyConfigChange(c: Config, change: ConfigChange): Config {
  const id = change.node;
  const without = (xs: readonly NodeId[]): NodeId[] => xs.filter((x) => x !== id);
  switch (change.kind) {
    case 'addLearner':
      return isMember(c, id) ? c : { voters: c.voters, learners: [...c.learners, id].sort() };
    case 'promote':
    case 'addVoter':
      return isVoter(c, id) ? c : { voters: [...c.voters, id].sort(), learners: without(c.learners) };
    case 'remove':
      return isMember(c, id) ? { voters: without(c.voters), learners: without(c.learners) } : c;
    default: {
      const never: never = change;
      throw new Error(`unknown config change ${JSON.stringify(never)}`);
    }
  }
}

const KIND_CODES = ['addLearner', 'promote', 'addVoter', 'remove'] as const;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Entry data of a `config` entry: one byte for the kind, then the node id in UTF-8. */
export function encodeConfigChange(change: ConfigChange): Uint8Array {
  const id = encoder.encode(change.node);
  const out = new Uint8Array(1 + id.length);
  out[0] = KIND_CODES.indexOf(change.kind);
  out.set(id, 1);
  return out;
}

export function decodeConfigChange(data: Uint8Array): ConfigChange {
  const kind = KIND_CODES[data[0] ?? 255];
  if (kind === undefined || data.length < 2) throw new Error(`corrupt config change entry (${data.length} bytes)`);
  return { kind, node: decoder.decode(data.subarray(1)) as NodeId };
}

/** The greatest index that a majority of voters has reached; `match` gives each voter's index. */
export function quorumIndex(voters: readonly NodeId[], match: (id: NodeId) => number): LogIndex {
  if (voters.length === 0) return 0 as LogIndex;
  const xs = voters.map(match).sort((a, b) => b - a);
  return xs[Math.floor(voters.length / 2)] as LogIndex;
}

export type VoteResult = 'won' | 'lost' | 'pending';

export function tallyVotes(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let granted = 0;
  let rejected = 0;
  for (const v of voters) {
    const r = votes.get(v);
    if (r === true) granted++;
    else if (r === false) rejected++;
  }
  const majority = Math.floor(voters.length / 2) + 1;
  if (granted >= majority) return 'won';
  if (rejected > voters.length - majority) return 'lost';
  return 'pending';
}

export const hasQuorum = (voters: readonly NodeId[], count: (id: NodeId) => boolean): boolean =>
  voters.filter(count).length >= Math.floor(voters.length / 2) + 1;

/**
 * The identical first entries of every founding member: one `addVoter` per voter,
 * in term 1, already committed. The membership is in the log from index 1, so a
 * node that joins later with an empty log learns it by replication like any entry.
 */
export function bootstrapLog(voters: readonly NodeId[]): { entries: Entry[]; hardState: HardState } {
  const sorted = [...new Set(voters)].sort();
  if (sorted.length === 0) throw new RangeError('bootstrap needs at least one voter');
  const entries = sorted.map((node, i) => ({
    term: 1 as Term,
    index: (i + 1) as LogIndex,
    type: 'config' as const,
    data: encodeConfigChange({ kind: 'addVoter', node }),
  }));
  return { entries, hardState: { term: 1 as Term, vote: null, commit: sorted.length as LogIndex } };
}
