// The admin API's routes: what each path answers, its argument checks and their
// errors. Key/value routes run commands through the dispatcher (kv.ts); the others
// report this node's own view (node_view.ts) or its metrics.

import { readFileSync } from 'node:fs';
import type { ServerContext } from '../commands/server_context.ts';
import type { EventHub } from './events.ts';
import { HttpError } from './http_error.ts';
import type { RequestCtx, Route } from './http_server.ts';
import { kvDelete, kvGet, kvList, kvSet, LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, type CommandRunner } from './kv.ts';
import type { AdminMetrics } from './metrics.ts';
import { healthOf, nodeStats, type NodeStats } from './node_view.ts';

/** A node this many committed entries behind on applying is still healthy. */
export const HEALTH_APPLY_LAG_MAX = 100;

const DASHBOARD_HTML = readFileSync(new URL('./dashboard.html', import.meta.url), 'utf8');

export interface RouteDeps {
  readonly server: ServerContext;
  readonly runner: CommandRunner;
  readonly metrics: AdminMetrics;
  readonly events: EventHub;
  /** This node's stats with its latest activity sample. */
  stats(): NodeStats;
  /** The document a dashboard event carries (stats, samples, streams); `full` for the first one. */
  snapshot(full: boolean): unknown;
}

function param(c: RequestCtx, name: string): string {
  const v = c.url.searchParams.get(name);
  if (v === null) throw new HttpError(400, `missing query parameter '${name}'`);
  return v;
}

function limitParam(c: RequestCtx): number {
  const raw = c.url.searchParams.get('limit');
  if (raw === null) return LIST_LIMIT_DEFAULT;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > LIST_LIMIT_MAX) {
    throw new HttpError(400, `'limit' must be an integer from 1 to ${LIST_LIMIT_MAX}`);
  }
  return Number(raw);
}

function stringField(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  if (v === undefined) throw new HttpError(400, `missing field '${name}'`);
  if (typeof v !== 'string') throw new HttpError(400, `field '${name}' must be a string`);
  return v;
}

/** Runs `fn` on a session made for this request, released afterwards. */
async function withSession<T>(d: RouteDeps, c: RequestCtx, fn: (s: ReturnType<CommandRunner['session']>) => Promise<T>): Promise<{ status: number; body: T }> {
  const s = d.runner.session(c.password, `${c.req.socket.remoteAddress ?? ''}:${c.req.socket.remotePort ?? 0}`);
  try {
    return { status: 200, body: await fn(s) };
  } finally {
    d.runner.close(s);
  }
}

export function adminRoutes(d: RouteDeps): Route[] {
  return [
    { path: '/', methods: { GET: () => ({ raw: DASHBOARD_HTML, contentType: 'text/html; charset=utf-8' }) } },
    {
      path: '/health',
      cors: true,
      methods: {
        GET: () => {
          const h = healthOf(nodeStats(d.server, Date.now()), HEALTH_APPLY_LAG_MAX);
          return { status: h.status === 'ok' ? 200 : 503, body: h };
        },
      },
    },
    { path: '/api/stats', cors: true, methods: { GET: () => ({ status: 200, body: d.stats() }) } },
    {
      path: '/api/events',
      methods: {
        GET: (c) => {
          d.events.open(c.req, c.res, JSON.stringify(d.snapshot(true)));
          return 'handled';
        },
      },
    },
    { path: '/metrics', methods: { GET: async () => ({ raw: await d.metrics.text(), contentType: d.metrics.contentType }) } },
    {
      path: '/api/set',
      methods: {
        POST: async (c) => {
          const body = await c.json();
          if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object {"key": "...", "value": "..."}');
          const key = stringField(body as Record<string, unknown>, 'key');
          const value = stringField(body as Record<string, unknown>, 'value');
          return withSession(d, c, (s) => kvSet(d.runner, s, key, value));
        },
      },
    },
    { path: '/api/get', methods: { GET: (c) => withSession(d, c, (s) => kvGet(d.runner, s, param(c, 'key'))) } },
    {
      path: '/api/list',
      methods: {
        GET: (c) => {
          const prefix = c.url.searchParams.get('prefix') ?? '';
          const limit = limitParam(c);
          return withSession(d, c, (s) => kvList(d.runner, s, prefix, limit));
        },
      },
    },
    { path: '/api/delete', methods: { DELETE: (c) => withSession(d, c, (s) => kvDelete(d.runner, s, param(c, 'key'))) } },
  ];
}
