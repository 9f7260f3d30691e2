// The admin HTTP server of one node (`--http-port`): /health, /api/*, /metrics and the
// dashboard. Owns its listener, its metrics registry and a once-a-second ticker that
// samples activity, refreshes stream-group figures and feeds the dashboard's event
// streams. Must not bypass the command path: key/value requests are dispatched
// commands, so writes go through Raft like any client's.

import type { ServerContext } from '../commands/server_context.ts';
import type { Log } from '../log.ts';
import type { Observers } from '../observe.ts';
import type { Executor } from '../net/types.ts';
import { EventHub } from './events.ts';
import { HttpListener } from './http_server.ts';
import { CommandRunner } from './kv.ts';
import { AdminMetrics } from './metrics.ts';
import { nodeStats, type NodeStats } from './node_view.ts';
import { adminRoutes } from './routes.ts';
import { SampleRing, totalsOf } from './samples.ts';
import { StreamWatch, type GroupLag } from './stream_watch.ts';

export { healthOf, nodeStats, type Health, type NodeStats } from './node_view.ts';

export const TICK_MS = 1000;

export interface AdminOptions {
  readonly hosts: readonly string[];
  /** 0 = any free port. */
  readonly port: number;
  readonly server: ServerContext;
  /** The dispatcher: HTTP key/value requests run through it. */
  readonly executor: Executor;
  readonly log: Log;
  /** True when the node talks to peers over NATS (its state then matters to /health). */
  readonly clusterMode: boolean;
  /** Observation points of the node and dispatcher; the metrics install themselves here. */
  readonly observers?: Observers;
}

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startAdmin(opts: AdminOptions): Promise<AdminServer> {
  const events = new EventHub();
  const samples = new SampleRing();
  const streams = new StreamWatch();
  let groups: readonly GroupLag[] = [];
  const metrics = new AdminMetrics({ server: opts.server, groups: () => groups, sseClients: () => events.size, clusterMode: opts.clusterMode });
  if (opts.observers) metrics.observe(opts.observers);
  const stats = (): NodeStats => nodeStats(opts.server, Date.now(), samples.all().at(-1) ?? null);
  /** A dashboard event: the whole sample ring when a stream opens, then only the newest sample. */
  const snapshot = (full: boolean): unknown => ({ stats: stats(), full, samples: full ? samples.all() : samples.all().slice(-1), streams: groups });
  const tick = (): void => {
    const now = Date.now();
    const r = opts.server.raftInfo();
    samples.record(now, totalsOf(opts.server.commandStats()), r.commitIndex, r.appliedIndex);
    const ks = opts.server.keyspace();
    streams.refresh(ks, now);
    groups = streams.groups(ks, now);
    if (events.size > 0) events.broadcast(JSON.stringify(snapshot(false)));
  };
  const runner = new CommandRunner(opts.executor, opts.server.requirePass);
  const http = new HttpListener(adminRoutes({ server: opts.server, runner, metrics, events, stats, snapshot }), opts.log, metrics);
  const port = await http.listen(opts.hosts, opts.port);
  tick();
  const timer = setInterval(() => {
    try {
      tick();
    } catch (e) {
      // The state may be closing under us at shutdown; anything else is worth a line.
      opts.log.warn('admin sampling failed', { error: String(e) });
    }
  }, TICK_MS);
  timer.unref();
  opts.log.info('HTTP API listening', { port, hosts: opts.hosts.join(',') });
  let closing: Promise<void> | null = null;
  return {
    port,
    close: () => {
      closing ??= (async () => {
        clearInterval(timer);
        events.closeAll();
        await http.close();
      })();
      return closing;
    },
  };
}
