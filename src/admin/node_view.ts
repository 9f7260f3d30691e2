// What one node tells operators about itself: the `/api/stats` document and the
// `/health` verdict, computed from the ServerContext (no Raft or socket internals).
// Pure given the context and the clock; a node only ever reports its own view.

import type { ServerContext } from '../commands/server_context.ts';

/** The roles the API names; the core's pre-candidate shows as a candidate. */
export type ApiRole = 'leader' | 'follower' | 'candidate' | 'learner';

export interface NodeEntry {
  readonly id: string;
  readonly voter: boolean;
  readonly self: boolean;
  readonly leader: boolean;
  /** Highest log index known replicated there; only the leader knows (null elsewhere). */
  readonly match: number | null;
  /** Announced addresses ("" when not announced yet). */
  readonly resp: string;
  readonly http: string;
}

export interface NodeStats {
  readonly node_id: string;
  readonly state: ApiRole;
  /** The core's own role name (`preCandidate` included). */
  readonly raft_role: string;
  readonly leader: string | null;
  readonly term: number;
  readonly commit_index: number;
  readonly applied_index: number;
  readonly last_log_index: number;
  readonly first_log_index: number;
  readonly log_entries: number;
  readonly apply_lag: number;
  readonly nodes: readonly NodeEntry[];
  /** 'connected' | 'reconnecting' | 'disconnected' | 'closed', or 'none' on a single node. */
  readonly nats: string;
  readonly uptime_seconds: number;
  readonly connected_clients: number;
  readonly blocked_clients: number;
  readonly last_snapshot_index: number;
  readonly last_snapshot_age_seconds: number;
  /** Over the last second (the latest activity sample): commands per second and mean latency in µs. */
  readonly ops_per_sec: number;
  readonly latency_avg_us: number;
  readonly time_ms: number;
}

export const toApiRole = (role: string): ApiRole => {
  switch (role) {
    case 'leader':
    case 'follower':
    case 'learner':
      return role;
    case 'candidate':
    case 'preCandidate':
      return 'candidate';
    default:
      throw new Error(`unknown raft role ${role}`);
  }
};

export function nodeStats(server: ServerContext, nowMs: number, recent: { readonly ops_per_sec: number; readonly latency_avg_us: number } | null = null): NodeStats {
  const r = server.raftInfo();
  const net = server.netStats();
  const p = server.persistence();
  const addrs = new Map(server.raftAdmin.nodeAddresses().map((a) => [a.id, a]));
  const match = new Map(r.peers.map((x) => [x.id, x.match]));
  const entry = (id: string, voter: boolean): NodeEntry => ({
    id,
    voter,
    self: id === r.nodeId,
    leader: id === r.leader,
    match: r.role === 'leader' ? (id === r.nodeId ? r.lastLogIndex : (match.get(id) ?? 0)) : null,
    resp: addrs.get(id)?.resp ?? '',
    http: addrs.get(id)?.http ?? '',
  });
  return {
    node_id: r.nodeId,
    state: toApiRole(r.role),
    raft_role: r.role,
    leader: r.leader,
    term: r.term,
    commit_index: r.commitIndex,
    applied_index: r.appliedIndex,
    last_log_index: r.lastLogIndex,
    first_log_index: r.firstLogIndex,
    log_entries: Math.max(0, r.lastLogIndex - r.firstLogIndex + 1),
    apply_lag: Math.max(0, r.commitIndex - r.appliedIndex),
    nodes: [...r.voters.map((id) => entry(id, true)), ...r.learners.map((id) => entry(id, false))],
    nats: server.raftAdmin.transportState(),
    uptime_seconds: Math.floor((nowMs - server.startedAtMs) / 1000),
    connected_clients: net['connected_clients'] ?? 0,
    blocked_clients: net['blocked_clients'] ?? 0,
    last_snapshot_index: p.lastSnapshotIndex,
    last_snapshot_age_seconds: Math.max(0, (nowMs - p.lastSaveMs) / 1000),
    ops_per_sec: recent?.ops_per_sec ?? 0,
    latency_avg_us: recent?.latency_avg_us ?? 0,
    time_ms: nowMs,
  };
}

export type HealthReason = 'no leader known' | 'nats disconnected' | 'catching up';

export type Health =
  | { readonly status: 'ok'; readonly node_id: string; readonly state: ApiRole; readonly leader: string; readonly term: number; readonly apply_lag: number }
  | { readonly status: 'unavailable'; readonly reason: HealthReason; readonly node_id: string; readonly state: ApiRole; readonly leader: string | null; readonly term: number; readonly apply_lag: number };

/**
 * A node serves when the cluster transport is up (cluster mode), it knows a leader, and
 * it has applied all but at most `applyLagMax` of the entries it knows committed. The
 * transport is checked first: without it the remembered leader is stale news.
 */
export function healthOf(s: NodeStats, applyLagMax: number): Health {
  const base = { node_id: s.node_id, state: s.state, term: s.term, apply_lag: s.apply_lag };
  if (s.nats !== 'none' && s.nats !== 'connected') return { status: 'unavailable', reason: 'nats disconnected', leader: s.leader, ...base };
  if (s.leader === null) return { status: 'unavailable', reason: 'no leader known', leader: null, ...base };
  if (s.apply_lag > applyLagMax) return { status: 'unavailable', reason: 'catching up', leader: s.leader, ...base };
  return { status: 'ok', leader: s.leader, ...base };
}
