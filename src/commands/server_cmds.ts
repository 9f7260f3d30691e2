// The server family: INFO, DBSIZE, FLUSHDB/FLUSHALL, TIME, CONFIG, LASTSAVE,
// SAVE/BGSAVE. INFO keeps Redis's section and field names so tools that parse it
// keep working, and adds a `raft` section.

import type { Reply } from '../../protocol/index.ts';
import { globMatch } from '../state/glob.ts';
import { StreamStore } from '../state/stream_store.ts';
import { is, lower } from './args.ts';
import { REDIS_VERSION } from './connection.ts';
import { consistencyOf } from './consistency.ts';
import { errors } from './errors.ts';
import { DATABASES } from './keys.ts';
import { bulk, int, OK, simple } from './replies.ts';
import type { ServerContext } from './server_context.ts';
import { defineCommand, type CommandSpec } from './spec.ts';
import { RAFTIS_VERSION } from '../version.ts';

const docs = (summary: string, since: string, complexity = 'O(1)') => ({ summary, since, group: 'server', complexity });

export const dbsize = defineCommand<null>({
  name: 'dbsize', arity: 1, flags: ['readonly', 'fast'], keys: null, aclCategories: ['keyspace', 'read', 'fast'],
  docs: docs('Returns the number of keys in the database.', '1.0.0'),
  parse: () => null,
  exec: { kind: 'read', run: (ctx) => int(ctx.ks.dbSize(ctx.db, ctx.nowMs)) },
});

function parseFlushMode(a: readonly Buffer[]): null | ReturnType<typeof errors.syntax> {
  if (a.length === 1) return null;
  return a.length === 2 && (is(a[1], 'async') || is(a[1], 'sync')) ? null : errors.syntax();
}

export const flushdb = defineCommand<null>({
  name: 'flushdb', arity: -1, flags: ['write'], keys: null, aclCategories: ['keyspace', 'write', 'slow', 'dangerous'],
  docs: docs('Remove all keys from the current database.', '1.0.0', 'O(N) where N is the number of keys in the selected database'),
  parse: parseFlushMode,
  exec: { kind: 'write', run: (ctx) => { ctx.ks.flushDb(ctx.db, ctx.index); return OK; } },
});

export const flushall = defineCommand<null>({
  name: 'flushall', arity: -1, flags: ['write'], keys: null, aclCategories: ['keyspace', 'write', 'slow', 'dangerous'],
  docs: docs('Removes all keys from all databases.', '1.0.0', 'O(N) where N is the total number of keys in all databases'),
  parse: parseFlushMode,
  exec: { kind: 'write', run: (ctx) => { ctx.ks.flushAll(ctx.index); return OK; } },
});

export const time = defineCommand<null>({
  name: 'time', arity: 1, flags: ['loading', 'stale', 'fast'], keys: null, aclCategories: ['fast'],
  docs: docs('Returns the server time.', '2.6.0'),
  parse: () => null,
  exec: {
    kind: 'local',
    run: () => {
      const us = BigInt(Date.now()) * 1000n + BigInt(Math.floor((performance.now() % 1) * 1000));
      return { type: 'array', items: [bulk(String(us / 1_000_000n)), bulk(String(us % 1_000_000n))] };
    },
  },
});

export const lastsave = defineCommand<null>({
  name: 'lastsave', arity: 1, flags: ['loading', 'stale', 'fast'], keys: null, aclCategories: ['admin', 'fast', 'dangerous'],
  docs: docs('Returns the Unix timestamp of the last successful save to disk.', '1.0.0'),
  parse: () => null,
  exec: { kind: 'local', run: ({ server }) => int(Math.floor(server.persistence().lastSaveMs / 1000)) },
});

export const save = defineCommand<null>({
  name: 'save', arity: 1, flags: ['admin', 'noscript', 'no_multi'], keys: null, aclCategories: ['admin', 'slow', 'dangerous'],
  docs: docs('Synchronously saves the database(s) to disk.', '1.0.0', 'O(N) where N is the total number of keys in all databases'),
  parse: () => null,
  exec: {
    kind: 'local',
    run: async ({ server }) => {
      if (server.persistence().saveInProgress) return errors.custom('ERR Background save already in progress').reply();
      await server.save();
      return OK;
    },
  },
});

export const bgsave = defineCommand<boolean>({
  name: 'bgsave', arity: -1, flags: ['admin', 'noscript'], keys: null, aclCategories: ['admin', 'slow', 'dangerous'],
  docs: docs('Asynchronously saves the database(s) to disk.', '1.0.0', 'O(1)'),
  parse: (a) => (a.length === 1 ? false : a.length === 2 && is(a[1], 'schedule') ? true : errors.syntax()),
  exec: {
    kind: 'local',
    run: ({ server }, schedule) => {
      if (!server.bgsave()) {
        return schedule ? simple('Background saving scheduled') : errors.custom('ERR Background save already in progress').reply();
      }
      return simple('Background saving started');
    },
  },
});

// ---- CONFIG ----

type ConfigArgs = { readonly sub: 'get'; readonly patterns: readonly Buffer[] } | { readonly sub: 'resetstat' | 'help' } | { readonly sub: 'set' | 'rewrite'; readonly name: string };

export const config = defineCommand<ConfigArgs>({
  name: 'config', arity: -2, flags: [], keys: null, aclCategories: ['slow'],
  docs: docs('A container for server configuration commands.', '2.0.0', 'Depends on subcommand.'),
  parse: (a) => {
    const sub = lower(a[1]!);
    const wrong = errors.custom(`ERR wrong number of arguments for 'config|${sub}' command`);
    switch (sub) {
      case 'get': return a.length < 3 ? wrong : { sub, patterns: a.slice(2) };
      case 'resetstat': case 'help': return a.length !== 2 ? wrong : { sub };
      case 'set': return a.length < 4 || a.length % 2 !== 0 ? wrong : { sub, name: a[2]!.toString('latin1') };
      case 'rewrite': return a.length !== 2 ? wrong : { sub, name: '' };
      default: return errors.unknownSubcommand(a[1]!, 'config');
    }
  },
  exec: {
    kind: 'local',
    run: ({ session, server }, p) => {
      session.lastCommand = `config|${p.sub}`;
      switch (p.sub) {
        case 'get': {
          const entries: Array<[Reply, Reply]> = [];
          for (const [name, value] of server.config) {
            if (p.patterns.some((pat) => globMatch(pat, Buffer.from(name), true))) entries.push([bulk(name), bulk(value)]);
          }
          return { type: 'map', entries };
        }
        case 'resetstat': return OK;
        case 'set': return errors.custom(`ERR CONFIG SET is not supported by raftis (parameter '${p.name}'); restart with the flag instead`).reply();
        case 'rewrite': return errors.custom('ERR CONFIG REWRITE is not supported by raftis: configuration comes from flags and RAFTIS_* variables').reply();
        case 'help': return { type: 'array', items: ['CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:', 'GET <pattern>', 'RESETSTAT', 'HELP'].map(simple) };
        default: {
          const never: never = p;
          throw new Error(`unhandled CONFIG ${JSON.stringify(never)}`);
        }
      }
    },
  },
});

// ---- INFO ----

const DEFAULT_SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'keyspace', 'raft'];
const ALL_SECTIONS = [...DEFAULT_SECTIONS, 'commandstats', 'errorstats'];

function section(title: string, fields: ReadonlyArray<readonly [string, string | number]>): string {
  return `# ${title}\r\n${fields.map(([k, v]) => `${k}:${v}\r\n`).join('')}`;
}

function renderSection(name: string, server: ServerContext, consistency: string): string | null {
  const now = Date.now();
  const raft = server.raftInfo();
  const stats = server.netStats();
  switch (name) {
    case 'server':
      return section('Server', [
        ['redis_version', REDIS_VERSION], ['redis_git_sha1', 0], ['redis_git_dirty', 0], ['redis_build_id', 0],
        ['redis_mode', 'standalone'], ['os', `${process.platform} ${process.arch}`], ['arch_bits', 64],
        ['multiplexing_api', 'epoll'], ['process_id', process.pid], ['process_supervised', 'no'], ['run_id', server.runId],
        ['tcp_port', server.tcpPort], ['server_time_usec', now * 1000], ['uptime_in_seconds', Math.floor((now - server.startedAtMs) / 1000)],
        ['uptime_in_days', Math.floor((now - server.startedAtMs) / 86_400_000)], ['hz', 10], ['configured_hz', 10],
        ['executable', process.execPath], ['config_file', ''], ['raftis_version', RAFTIS_VERSION], ['node_version', process.version],
      ]);
    case 'clients':
      return section('Clients', [
        ['connected_clients', stats['connected_clients'] ?? 0], ['cluster_connections', 0],
        ['maxclients', Number(server.config.get('maxclients') ?? 10000)], ['client_recent_max_input_buffer', 0],
        ['client_recent_max_output_buffer', 0], ['blocked_clients', stats['blocked_clients'] ?? 0],
        ['tracking_clients', 0], ['clients_in_timeout_table', 0],
      ]);
    case 'memory': {
      const mem = process.memoryUsage();
      return section('Memory', [
        ['used_memory', mem.heapUsed + mem.external], ['used_memory_human', human(mem.heapUsed + mem.external)],
        ['used_memory_rss', mem.rss], ['used_memory_rss_human', human(mem.rss)], ['used_memory_peak', mem.rss],
        ['used_memory_dataset', server.stateBytes()], ['maxmemory', 0], ['maxmemory_human', '0B'],
        ['maxmemory_policy', 'noeviction'], ['mem_allocator', 'v8'],
        // Released streams whose rows are still being removed (stream_store.ts, lazy free).
        ['lazyfree_pending_objects', StreamStore.of(server.keyspace().state).garbageCount()],
      ]);
    }
    case 'persistence': {
      const p = server.persistence();
      return section('Persistence', [
        ['loading', 0], ['async_loading', 0], ['rdb_changes_since_last_save', p.changesSinceSave],
        ['rdb_bgsave_in_progress', p.saveInProgress ? 1 : 0], ['rdb_last_save_time', Math.floor(p.lastSaveMs / 1000)],
        ['rdb_last_bgsave_status', p.lastSaveOk ? 'ok' : 'err'], ['aof_enabled', 1], ['aof_rewrite_in_progress', 0],
        ['aof_last_write_status', 'ok'], ['raft_log_first_index', raft.firstLogIndex], ['raft_log_last_index', raft.lastLogIndex],
        ['raft_snapshot_index', p.lastSnapshotIndex],
      ]);
    }
    case 'stats':
      return section('Stats', [
        ['total_connections_received', stats['total_connections_received'] ?? 0],
        ['total_commands_processed', stats['total_commands_processed'] ?? 0],
        ['instantaneous_ops_per_sec', stats['instantaneous_ops_per_sec'] ?? 0],
        ['total_net_input_bytes', stats['total_net_input_bytes'] ?? 0], ['total_net_output_bytes', stats['total_net_output_bytes'] ?? 0],
        ['rejected_connections', stats['rejected_connections'] ?? 0], ['expired_keys', stats['expired_keys'] ?? 0],
        ['evicted_keys', 0], ['keyspace_hits', 0], ['keyspace_misses', 0], ['pubsub_channels', 0], ['pubsub_patterns', 0],
        ['total_error_replies', stats['total_error_replies'] ?? 0],
      ]);
    case 'replication': {
      const leader = raft.role === 'leader';
      const addrs = new Map(server.raftAdmin.nodeAddresses().map((a) => [a.id, a.resp]));
      const hostPort = (id: string | null): [string, string] => {
        const a = id === null ? undefined : addrs.get(id);
        const at = a?.lastIndexOf(':') ?? -1;
        return a === undefined || at < 0 ? ['', '0'] : [a.slice(0, at), a.slice(at + 1)];
      };
      const fields: Array<[string, string | number]> = [['role', leader ? 'master' : 'slave']];
      if (leader) {
        const peers = raft.peers.filter((p) => p.id !== raft.nodeId);
        fields.push(['connected_slaves', peers.length]);
        peers.forEach((p, i) => {
          const [ip, port] = hostPort(p.id);
          fields.push([`slave${i}`, `ip=${ip},port=${port},state=${p.mode === 'replicate' ? 'online' : 'wait_bgsave'},offset=${p.match},lag=0`]);
        });
      } else {
        const [host, port] = hostPort(raft.leader);
        fields.push(['master_host', host], ['master_port', port], ['master_link_status', raft.leader ? 'up' : 'down']);
      }
      fields.push(['master_repl_offset', raft.appliedIndex]);
      return section('Replication', fields);
    }
    case 'cpu': {
      const u = process.cpuUsage();
      return section('CPU', [['used_cpu_sys', (u.system / 1e6).toFixed(6)], ['used_cpu_user', (u.user / 1e6).toFixed(6)]]);
    }
    case 'keyspace': {
      const rows = server.keyspace().keyspaceInfo(now).filter((r) => r.keys > 0);
      return section('Keyspace', rows.map((r) => [`db${r.db}`, `keys=${r.keys},expires=${r.expires},avg_ttl=${Math.round(r.avgTtlMs)}`] as const));
    }
    case 'raft':
      return section('Raft', [
        ['raft_node_id', raft.nodeId], ['raft_role', raft.role], ['raft_term', raft.term], ['raft_leader', raft.leader ?? ''],
        ['raft_commit_index', raft.commitIndex], ['raft_applied_index', raft.appliedIndex], ['raft_last_log_index', raft.lastLogIndex],
        ['raft_first_log_index', raft.firstLogIndex], ['raft_log_fsyncs', raft.logFsyncs],
        ['raft_state_commits', raft.stateCommits],
        ['raft_voters', raft.voters.join(',')], ['raft_learners', raft.learners.join(',')],
        ...raft.peers.map((p) => [`raft_peer_${p.id}`, `match=${p.match},mode=${p.mode}`] as const),
        ['raft_read_consistency', consistency],
        ['raft_transport', server.raftAdmin.transportState()],
      ]);
    case 'commandstats':
      return section('Commandstats', [...server.commandStats()].map(([n, s]) => [
        `cmdstat_${n}`, `calls=${s.calls},usec=${Math.round(s.usec)},usec_per_call=${s.calls ? (s.usec / s.calls).toFixed(2) : '0.00'},rejected_calls=0,failed_calls=${s.failed}`,
      ] as const));
    case 'errorstats':
      return section('Errorstats', []);
    default:
      return null;
  }
}

function human(bytes: number): string {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v}B` : `${v.toFixed(2)}${units[u]}`;
}

export const info = defineCommand<readonly string[]>({
  name: 'info', arity: -1, flags: ['loading', 'stale'], keys: null, aclCategories: ['slow', 'dangerous'],
  docs: docs('Returns information and statistics about the server.', '1.0.0'),
  parse: (a) => a.slice(1).map(lower),
  exec: {
    kind: 'local',
    run: ({ session, server }, asked) => {
      let names = asked.length === 0 || asked.includes('default') ? DEFAULT_SECTIONS : asked;
      if (asked.includes('all') || asked.includes('everything')) names = ALL_SECTIONS;
      const parts = [...new Set(names)].map((n) => renderSection(n, server, consistencyOf(session))).filter((s): s is string => s !== null);
      return { type: 'verbatim', value: parts.join('\r\n'), format: 'txt' };
    },
  },
});

export const serverCommands: readonly CommandSpec[] = [dbsize, flushdb, flushall, time, lastsave, save, bgsave, config, info];

export { DATABASES };
