// RAFT INFO, RAFT NODES, RAFT ADD, RAFT REMOVE, RAFT TRANSFER, RAFT SNAPSHOT: cluster
// administration from redis-cli. Membership changes and transfers run on the leader
// (a follower answers with where the leader is); they are one step each (docs/consensus.md).

import type { Reply } from '../../protocol/index.ts';
import { is, lower } from './args.ts';
import { errors } from './errors.ts';
import { consistencyOf, setConsistency, type Consistency } from './consistency.ts';
import { bulk, int, OK, simple } from './replies.ts';
import type { ServerContext } from './server_context.ts';
import { defineCommand, type CommandSpec } from './spec.ts';

type RaftArgs =
  | { readonly sub: 'info' | 'nodes' | 'snapshot' | 'help' }
  | { readonly sub: 'add'; readonly node: string; readonly as: 'learner' | 'voter' }
  | { readonly sub: 'remove' | 'transfer' | 'promote'; readonly node: string }
  | { readonly sub: 'fault'; readonly action: 'drop' | 'heal'; readonly peers: readonly string[] }
  | { readonly sub: 'consistency'; readonly level: Consistency | null };

const ID = /^[A-Za-z0-9_-]{1,64}$/;

function parse(a: readonly Buffer[]): RaftArgs | ReturnType<typeof errors.syntax> {
  const sub = lower(a[1]!);
  const wrong = errors.custom(`ERR wrong number of arguments for 'raft|${sub}' command`);
  switch (sub) {
    case 'info': case 'nodes': case 'snapshot': case 'help':
      return a.length === 2 ? { sub } : wrong;
    case 'add': {
      if (a.length < 3 || a.length > 4) return wrong;
      const node = a[2]!.toString();
      if (!ID.test(node)) return errors.custom('ERR invalid node id (letters, digits, - and _, at most 64)');
      if (a.length === 4 && !is(a[3], 'learner') && !is(a[3], 'voter')) return errors.syntax();
      return { sub, node, as: a.length === 4 && is(a[3], 'voter') ? 'voter' : 'learner' };
    }
    case 'remove': case 'transfer': case 'promote':
      return a.length === 3 ? { sub, node: a[2]!.toString('latin1') } : wrong;
    case 'consistency': {
      if (a.length === 2) return { sub, level: null };
      const level = a.length === 3 ? lower(a[2]!) : '';
      return level === 'linearizable' || level === 'lease' || level === 'stale' ? { sub, level } : errors.syntax();
    }
    case 'fault':
      if (a.length === 3 && is(a[2], 'heal')) return { sub, action: 'heal', peers: [] };
      if (a.length >= 4 && is(a[2], 'drop')) return { sub, action: 'drop', peers: a.slice(3).map((x) => x.toString('latin1')) };
      return errors.syntax();
    default:
      return errors.unknownSubcommand(a[1]!, 'raft');
  }
}

function nodes(server: ServerContext): Reply {
  const r = server.raftInfo();
  const match = new Map(r.peers.map((p) => [p.id, p]));
  const addrs = new Map(server.raftAdmin.nodeAddresses().map((a) => [a.id, a]));
  const row = (id: string, voter: boolean): Reply => ({
    type: 'map',
    entries: [
      [bulk('id'), bulk(id)],
      [bulk('role'), bulk(voter ? 'voter' : 'learner')],
      [bulk('leader'), { type: 'boolean', value: r.leader === id }],
      [bulk('self'), { type: 'boolean', value: r.nodeId === id }],
      [bulk('match_index'), int(match.get(id)?.match ?? (r.nodeId === id ? r.lastLogIndex : -1))],
      [bulk('replication'), bulk(match.get(id)?.mode ?? '')],
      [bulk('addr'), bulk(addrs.get(id)?.resp ?? '')],
      [bulk('http'), bulk(addrs.get(id)?.http ?? '')],
    ],
  });
  return { type: 'array', items: [...r.voters.map((v) => row(v, true)), ...r.learners.map((l) => row(l, false))] };
}

export const raft = defineCommand<RaftArgs>({
  name: 'raft', arity: -2, flags: ['admin', 'noscript', 'loading', 'stale'], keys: null, aclCategories: ['admin', 'slow', 'dangerous'],
  docs: { summary: 'Raft cluster administration: INFO, NODES, ADD, REMOVE, PROMOTE, TRANSFER, SNAPSHOT.', since: '0.1.0', group: 'server', complexity: 'O(1)' },
  parse,
  exec: {
    kind: 'local',
    run: async ({ session, server }, p) => {
      session.lastCommand = `raft|${p.sub}`;
      switch (p.sub) {
        case 'info': {
          const r = server.raftInfo();
          const lines = [
            `node_id:${r.nodeId}`, `role:${r.role}`, `term:${r.term}`, `leader:${r.leader ?? ''}`,
            `commit_index:${r.commitIndex}`, `applied_index:${r.appliedIndex}`, `last_log_index:${r.lastLogIndex}`,
            `first_log_index:${r.firstLogIndex}`, `voters:${r.voters.join(',')}`, `learners:${r.learners.join(',')}`,
            `transport:${server.raftAdmin.transportState()}`,
          ];
          return { type: 'verbatim', value: `${lines.join('\r\n')}\r\n`, format: 'txt' };
        }
        case 'nodes':
          return nodes(server);
        case 'snapshot':
          await server.save();
          return OK;
        case 'add':
          return server.raftAdmin.changeMembership(p.as === 'voter' ? 'addVoter' : 'addLearner', p.node);
        case 'promote':
          return server.raftAdmin.changeMembership('promote', p.node);
        case 'remove':
          return server.raftAdmin.changeMembership('remove', p.node);
        case 'transfer':
          return server.raftAdmin.transferLeadership(p.node);
        case 'fault':
          return server.raftAdmin.fault(p.action, p.peers);
        case 'consistency':
          if (p.level === null) return bulk(consistencyOf(session));
          setConsistency(session, p.level);
          return OK;
        case 'help':
          return {
            type: 'array',
            items: [
              'RAFT <subcommand> [<arg> ...]. Subcommands are:', 'INFO', 'NODES', 'ADD <node-id> [LEARNER|VOTER]',
              '    (a learner is promoted automatically once caught up)', 'PROMOTE <node-id>', 'REMOVE <node-id>',
              'TRANSFER <node-id>', 'SNAPSHOT', 'CONSISTENCY [LINEARIZABLE|LEASE|STALE]  (reads of this connection)', 'FAULT DROP <node-id> [...] | FAULT HEAL  (only with --enable-fault-injection)', 'HELP',
            ].map(simple),
          };
        default: {
          const never: never = p;
          throw new Error(`unhandled RAFT ${JSON.stringify(never)}`);
        }
      }
    },
  },
});

export const raftCommands: readonly CommandSpec[] = [raft];
