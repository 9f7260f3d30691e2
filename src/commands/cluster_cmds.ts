// Internal commands raftis proposes itself (clients cannot call names with a dot):
// raftis.announce records where a node can be reached, for every replica to answer.

import { NodeAddresses } from '../state/node_addresses.ts';
import type { StateDatabase } from '../state/database.ts';
import { OK } from './replies.ts';
import { defineCommand, type CommandSpec } from './spec.ts';

const addresses = new WeakMap<StateDatabase, NodeAddresses>();

/** The node address table of a state database (statements prepared once per database). */
export function nodeAddresses(state: StateDatabase): NodeAddresses {
  let a = addresses.get(state);
  if (!a) addresses.set(state, (a = new NodeAddresses(state)));
  return a;
}

export const announce = defineCommand<{ id: string; resp: string; http: string }>({
  name: 'raftis.announce', arity: 4, flags: ['write'], keys: null, aclCategories: ['admin'],
  docs: { summary: 'Internal: records a node\'s client and HTTP addresses.', since: '0.1.0', group: 'server', complexity: 'O(1)' },
  parse: (a) => ({ id: a[1]!.toString(), resp: a[2]!.toString(), http: a[3]!.toString() }),
  exec: {
    kind: 'write',
    run: (ctx, p) => {
      nodeAddresses(ctx.ks.state).announce(p);
      return OK;
    },
  },
});

export const clusterCommands: readonly CommandSpec[] = [announce];
