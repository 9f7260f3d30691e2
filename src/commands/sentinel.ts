// SENTINEL: just enough of the Redis Sentinel API for stock clients (ioredis's
// SentinelConnector, redis-cli) to find the Raft leader: every raftis node answers as
// a sentinel for one master, the cluster, named by --cluster-id (or "raftis").
// Read-only and local: answers from this node's view of the leader and the announced
// addresses. +switch-master is published by the server on leader changes (pubsub.ts).

import type { Reply } from '../../protocol/index.ts';
import { lower } from './args.ts';
import { errors } from './errors.ts';
import { bulk, nilArray, simple } from './replies.ts';
import type { ServerContext } from './server_context.ts';
import { defineCommand, type CommandSpec } from './spec.ts';

/** The master name every node accepts besides its configured cluster id. */
export const SENTINEL_DEFAULT_NAME = 'raftis';

type SentinelArgs =
  | { readonly sub: 'get-master-addr-by-name' | 'master' | 'sentinels' | 'replicas'; readonly name: string }
  | { readonly sub: 'masters' | 'myid' | 'help' };

function parse(a: readonly Buffer[]): SentinelArgs | ReturnType<typeof errors.syntax> {
  const sub = lower(a[1]!);
  const wrong = errors.custom(`ERR wrong number of arguments for 'sentinel|${sub}' command`);
  switch (sub) {
    case 'get-master-addr-by-name': case 'master': case 'sentinels':
      return a.length === 3 ? { sub, name: a[2]!.toString() } : wrong;
    case 'replicas': case 'slaves':
      return a.length === 3 ? { sub: 'replicas', name: a[2]!.toString() } : wrong;
    case 'masters': case 'myid': case 'help':
      return a.length === 2 ? { sub } : wrong;
    default:
      return errors.unknownSubcommand(a[1]!, 'sentinel');
  }
}

interface Member {
  readonly id: string;
  readonly host: string;
  readonly port: string;
}

/** The cluster as this node sees it: members with an announced RESP address, and the leader among them. */
function view(server: ServerContext): { readonly name: string; readonly leader: Member | null; readonly others: readonly Member[]; readonly all: readonly Member[] } {
  const r = server.raftInfo();
  const addrs = new Map(server.raftAdmin.nodeAddresses().map((x) => [x.id, x.resp]));
  const all: Member[] = [];
  for (const id of [...r.voters, ...r.learners]) {
    const resp = addrs.get(id) ?? '';
    const at = resp.lastIndexOf(':');
    if (at > 0) all.push({ id, host: resp.slice(0, at), port: resp.slice(at + 1) });
  }
  const leader = all.find((m) => m.id === r.leader) ?? null;
  return { name: server.config.get('cluster-id') ?? SENTINEL_DEFAULT_NAME, leader, others: all.filter((m) => m !== leader), all };
}

function knows(server: ServerContext, name: string): boolean {
  return name === SENTINEL_DEFAULT_NAME || name === server.config.get('cluster-id');
}

/** A Sentinel instance description: a flat list of field/value bulk strings (a map in RESP3), as Redis sends it. */
function instance(fields: ReadonlyArray<readonly [string, string]>): Reply {
  return { type: 'map', entries: fields.map(([k, v]) => [bulk(k), bulk(v)] as const) };
}

function masterReply(name: string, leader: Member | null, replicas: number, sentinels: number): Reply {
  return instance([
    ['name', name], ['ip', leader?.host ?? ''], ['port', leader?.port ?? '0'], ['runid', leader?.id ?? ''],
    ['flags', leader ? 'master' : 'master,s_down,o_down'], ['num-slaves', String(replicas)],
    ['num-other-sentinels', String(sentinels)], ['quorum', String(Math.floor((sentinels + 1) / 2) + 1)],
  ]);
}

function replicaReply(m: Member, leader: Member | null): Reply {
  return instance([
    ['name', `${m.host}:${m.port}`], ['ip', m.host], ['port', m.port], ['runid', m.id], ['flags', 'slave'],
    ['master-link-status', leader ? 'ok' : 'err'], ['master-host', leader?.host ?? '?'], ['master-port', leader?.port ?? '0'],
  ]);
}

function sentinelReply(m: Member): Reply {
  return instance([['name', m.id], ['ip', m.host], ['port', m.port], ['runid', m.id], ['flags', 'sentinel']]);
}

const noSuchMaster = (): Reply => errors.custom('ERR No such master with that name').reply();

function run(server: ServerContext, p: SentinelArgs): Reply {
  const v = view(server);
  const self = server.raftInfo().nodeId;
  switch (p.sub) {
    case 'get-master-addr-by-name':
      // Redis answers an unknown name with a null array too; ioredis then tries the next sentinel.
      if (!knows(server, p.name) || v.leader === null) return nilArray;
      return { type: 'array', items: [bulk(v.leader.host), bulk(v.leader.port)] };
    case 'master':
      return knows(server, p.name) ? masterReply(v.name, v.leader, v.others.length, v.all.length - 1) : noSuchMaster();
    case 'masters':
      return { type: 'array', items: [masterReply(v.name, v.leader, v.others.length, v.all.length - 1)] };
    case 'replicas':
      return knows(server, p.name) ? { type: 'array', items: v.others.map((m) => replicaReply(m, v.leader)) } : noSuchMaster();
    case 'sentinels':
      // Every node is a sentinel; like Redis, the one answering is not in its own list.
      return knows(server, p.name) ? { type: 'array', items: v.all.filter((m) => m.id !== self).map(sentinelReply) } : noSuchMaster();
    case 'myid':
      return bulk(self);
    case 'help':
      return {
        type: 'array',
        items: [
          'SENTINEL <subcommand> [<arg> ...]. raftis answers as a sentinel of its own cluster. Subcommands are:',
          'GET-MASTER-ADDR-BY-NAME <name>', '    the Raft leader\'s client address (null while there is no leader)',
          'MASTER <name>', 'MASTERS', 'REPLICAS <name>  (also SLAVES)', 'SENTINELS <name>', 'MYID', 'HELP',
          `<name> is the cluster id (--cluster-id) or "${SENTINEL_DEFAULT_NAME}".`,
        ].map(simple),
      };
    default: {
      const never: never = p;
      throw new Error(`unhandled SENTINEL ${JSON.stringify(never)}`);
    }
  }
}

export const sentinel = defineCommand<SentinelArgs>({
  name: 'sentinel', arity: -2, flags: ['admin', 'loading', 'stale'], keys: null, aclCategories: ['admin', 'slow', 'dangerous'],
  docs: { summary: 'Sentinel API for stock clients: where the Raft leader (the master) and the other nodes are.', since: '0.1.0', group: 'sentinel', complexity: 'O(N) where N is the number of nodes' },
  parse,
  exec: {
    kind: 'local',
    run: ({ session, server }, p) => {
      session.lastCommand = `sentinel|${p.sub}`;
      return run(server, p);
    },
  },
});

export const sentinelCommands: readonly CommandSpec[] = [sentinel];
