// The Prometheus exposition of one node (`GET /metrics`), with prom-client on a
// Registry owned by this server instance (never the global one, so several servers in
// one process do not mix). Values are read from the ServerContext when scraped;
// cumulative figures kept elsewhere (command stats, log growth) are mirrored as counters.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Observers } from '../observe.ts';
import type { ServerContext } from '../commands/server_context.ts';
import type { GroupLag } from './stream_watch.ts';

const ROLES = ['leader', 'follower', 'candidate', 'preCandidate', 'learner'] as const;
const NATS_STATES = ['connected', 'reconnecting', 'disconnected', 'closed'] as const;

export interface MetricsSources {
  readonly server: ServerContext;
  /** The latest per-group figures (refreshed once a second). */
  groups(): readonly GroupLag[];
  sseClients(): number;
  clusterMode: boolean;
}

export class AdminMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'route' | 'method' | 'status'>;
  readonly httpDuration: Histogram<'route'>;

  constructor(src: MetricsSources) {
    const reg = [this.registry];
    const s = src.server;
    collectDefaultMetrics({ register: this.registry });
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({ name, help, registers: reg, collect() { this.set(read()); } });
    };
    new Gauge({
      name: 'raftis_raft_role', help: 'Raft role of this node: 1 for the current role, 0 for the others', labelNames: ['role'], registers: reg,
      collect() {
        const role = s.raftInfo().role;
        for (const r of ROLES) this.set({ role: r }, r === role ? 1 : 0);
      },
    });
    gauge('raftis_raft_is_leader', '1 when this node is the leader', () => (s.raftInfo().role === 'leader' ? 1 : 0));
    gauge('raftis_raft_leader_known', '1 when this node knows a leader', () => (s.raftInfo().leader === null ? 0 : 1));
    gauge('raftis_raft_term', 'Current Raft term', () => s.raftInfo().term);
    gauge('raftis_raft_commit_index', 'Highest log index known committed', () => s.raftInfo().commitIndex);
    gauge('raftis_raft_applied_index', 'Highest log index applied to the state', () => s.raftInfo().appliedIndex);
    gauge('raftis_raft_last_log_index', 'Last index in the local log', () => s.raftInfo().lastLogIndex);
    gauge('raftis_raft_first_log_index', 'First index still in the local log (after compaction)', () => s.raftInfo().firstLogIndex);
    gauge('raftis_raft_log_entries', 'Entries held in the local log (last - first + 1)', () => {
      const r = s.raftInfo();
      return Math.max(0, r.lastLogIndex - r.firstLogIndex + 1);
    });
    gauge('raftis_raft_apply_lag_entries', 'Committed entries not yet applied (commit - applied)', () => {
      const r = s.raftInfo();
      return Math.max(0, r.commitIndex - r.appliedIndex);
    });
    gauge('raftis_raft_voters', 'Voters in the current membership', () => s.raftInfo().voters.length);
    gauge('raftis_raft_learners', 'Learners in the current membership', () => s.raftInfo().learners.length);
    new Gauge({
      name: 'raftis_raft_peer_match_index', help: 'On the leader: highest index known replicated on each peer', labelNames: ['peer'], registers: reg,
      collect() {
        this.reset();
        for (const p of s.raftInfo().peers) this.set({ peer: p.id }, p.match);
      },
    });
    let lastIndexSeen: number | null = null;
    new Counter({
      name: 'raftis_raft_log_appended_entries_total', help: 'Entries appended to the local log (growth of the last index, observed at scrape time)', registers: reg,
      collect() {
        const last = s.raftInfo().lastLogIndex;
        if (lastIndexSeen !== null && last > lastIndexSeen) this.inc(last - lastIndexSeen);
        lastIndexSeen = last;
      },
    });
    gauge('raftis_snapshot_index', 'Log index of the last snapshot', () => s.persistence().lastSnapshotIndex);
    gauge('raftis_snapshot_age_seconds', 'Seconds since the last snapshot was taken or installed (since start if none)', () => Math.max(0, (Date.now() - s.persistence().lastSaveMs) / 1000));
    gauge('raftis_snapshot_in_progress', '1 while a snapshot is being written', () => (s.persistence().saveInProgress ? 1 : 0));
    gauge('raftis_snapshot_last_ok', '1 if the last snapshot succeeded', () => (s.persistence().lastSaveOk ? 1 : 0));
    gauge('raftis_state_bytes', 'Size of state.db in bytes', () => s.stateBytes());
    gauge('raftis_connected_clients', 'Open RESP client connections', () => s.netStats()['connected_clients'] ?? 0);
    gauge('raftis_blocked_clients', 'Clients blocked in XREAD/XREADGROUP BLOCK', () => s.netStats()['blocked_clients'] ?? 0);
    gauge('raftis_rejected_connections', 'Connections refused at the maxclients limit', () => s.netStats()['rejected_connections'] ?? 0);
    gauge('raftis_sse_clients', 'Dashboard event streams open on this node', () => src.sseClients());
    gauge('raftis_uptime_seconds', 'Seconds since this server started', () => Math.floor((Date.now() - s.startedAtMs) / 1000));
    new Gauge({
      name: 'raftis_nats_state', help: 'NATS transport state: 1 for the current state (absent on a single node)', labelNames: ['state'], registers: reg,
      collect() {
        if (!src.clusterMode) return;
        const st = s.raftAdmin.transportState();
        for (const x of NATS_STATES) this.set({ state: x }, x === st ? 1 : 0);
      },
    });
    gauge('raftis_nats_connected', '1 when connected to NATS (always 1 on a single node, which needs none)', () =>
      !src.clusterMode || s.raftAdmin.transportState() === 'connected' ? 1 : 0);
    const commandCounter = (name: string, help: string, pick: (c: { calls: number; usec: number; failed: number }) => number): void => {
      new Counter({
        name, help, labelNames: ['cmd'], registers: reg,
        collect() {
          // Mirrors the dispatcher's cumulative stats (which may be reset).
          this.reset();
          for (const [cmd, c] of s.commandStats()) this.inc({ cmd }, pick(c));
        },
      });
    };
    commandCounter('raftis_commands_total', 'Commands executed, by command (RESP and HTTP)', (c) => c.calls);
    commandCounter('raftis_commands_failed_total', 'Commands answered with an error, by command', (c) => c.failed);
    commandCounter('raftis_commands_duration_seconds_total', 'Total time from dispatch to reply, by command (a write includes its commit)', (c) => c.usec / 1e6);
    const groupGauge = (name: string, help: string, pick: (g: GroupLag) => number | null): void => {
      new Gauge({
        name, help, labelNames: ['db', 'stream', 'group'], registers: reg,
        collect() {
          this.reset();
          for (const g of src.groups()) {
            const v = pick(g);
            if (v !== null) this.set({ db: String(g.db), stream: g.stream, group: g.group }, v);
          }
        },
      });
    };
    groupGauge('raftis_stream_group_pending', 'Entries delivered to a consumer group and not acknowledged (PEL size)', (g) => g.pending);
    groupGauge('raftis_stream_group_lag', 'Entries of the stream not yet delivered to the group (XINFO GROUPS lag; absent when unknown)', (g) => g.lag);
    groupGauge('raftis_stream_group_consumers', 'Consumers in the group', (g) => g.consumers);
    groupGauge('raftis_stream_length', 'Entries in the stream (one series per group of the stream)', (g) => g.length);
    this.httpRequests = new Counter({ name: 'raftis_http_requests_total', help: 'HTTP API requests by route, method and status', labelNames: ['route', 'method', 'status'], registers: reg });
    this.httpDuration = new Histogram({
      name: 'raftis_http_request_duration_seconds', help: 'HTTP API request latency by route (an /api/set includes its commit)', labelNames: ['route'], registers: reg,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
  }

  /** Installs histogram and counter updates at the node's and dispatcher's observation points. */
  observe(o: Observers): void {
    const reg = [this.registry];
    const buckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
    const fsync = new Histogram({ name: 'raftis_wal_fsync_seconds', help: 'Latency of one fsync of the Raft log (one per batch of entries)', registers: reg, buckets });
    const proposals = new Counter({ name: 'raftis_raft_proposals_total', help: 'Entries proposed by this node (as leader)', registers: reg });
    const forwards = new Counter({ name: 'raftis_forwarded_writes_total', help: 'Writes forwarded to the leader: sent and re-sent by this follower, received by this leader', labelNames: ['event'], registers: reg });
    const commands = new Histogram({ name: 'raftis_command_duration_seconds', help: 'Command latency by command (a write until its reply)', labelNames: ['command'], registers: reg, buckets });
    o.fsyncSeconds = (s) => fsync.observe(s);
    o.proposed = (n) => proposals.inc(n);
    o.forwarded = (event) => forwards.inc({ event });
    o.command = (name, s) => commands.observe({ command: name }, s);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
