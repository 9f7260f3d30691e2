// The HTTP listener of the admin API (node:http, no framework): routing by path and
// method, bounded JSON bodies, JSON errors with the right status, CORS on the
// read-only routes the dashboard fetches from other nodes, request metrics and a
// structured log line per failed request. Knows no route's meaning (see routes.ts).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Log } from '../log.ts';
import { HttpError } from './http_error.ts';
import type { AdminMetrics } from './metrics.ts';

export const BODY_BYTES_MAX = 1024 * 1024;

export type Method = 'GET' | 'POST' | 'DELETE';

export interface RequestCtx {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  /** The password from `Authorization: Bearer <pw>` or Basic auth, if any. */
  readonly password: string | null;
  /** Reads the body (bounded) and parses it as JSON. */
  json(): Promise<unknown>;
}

/** What a handler returns: a JSON document, or 'handled' when it wrote the response itself. */
export type Outcome = { readonly status: number; readonly body: unknown } | { readonly raw: string; readonly contentType: string } | 'handled';

export interface Route {
  readonly path: string;
  /** Sends `Access-Control-Allow-Origin: *` (read-only data other origins may read). */
  readonly cors?: boolean;
  readonly methods: Partial<Record<Method, (c: RequestCtx) => Promise<Outcome> | Outcome>>;
}

export class HttpListener {
  readonly #servers: Server[] = [];
  readonly #routes = new Map<string, Route>();
  readonly #log: Log;
  readonly #metrics: AdminMetrics;

  constructor(routes: readonly Route[], log: Log, metrics: AdminMetrics) {
    for (const r of routes) this.#routes.set(r.path, r);
    this.#log = log;
    this.#metrics = metrics;
  }

  /** Listens on every host, the first one deciding the port when `port` is 0. */
  async listen(hosts: readonly string[], port: number): Promise<number> {
    let bound = port;
    for (const host of hosts) {
      const server = createServer((req, res) => void this.#handle(req, res));
      server.headersTimeout = 10_000;
      server.requestTimeout = 60_000;
      // An SSE stream is a long response: only the idle keep-alive socket times out.
      server.keepAliveTimeout = 5_000;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(bound, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      bound = (server.address() as AddressInfo).port;
      this.#servers.push(server);
    }
    return bound;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.#servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = parseTarget(req.url ?? '/');
    if (url === null) {
      send(res, 400, JSON.stringify({ error: 'malformed request target' }), 'application/json; charset=utf-8');
      return;
    }
    const route = this.#routes.get(url.pathname);
    const label = route?.path ?? 'unknown';
    if (route?.cors) {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Vary', 'Origin');
    }
    let status = 500;
    try {
      const outcome = await this.#route(route, req, res, url);
      if (outcome === 'handled') status = res.statusCode;
      else if ('raw' in outcome) {
        status = 200;
        send(res, 200, outcome.raw, outcome.contentType);
      } else {
        status = outcome.status;
        send(res, status, JSON.stringify(outcome.body), 'application/json; charset=utf-8');
      }
    } catch (e) {
      if (e instanceof HttpError) {
        status = e.status;
        for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
      } else {
        this.#log.error('HTTP handler failed', { method: req.method, path: url.pathname, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      }
      const message = e instanceof HttpError ? e.message : 'internal error';
      if (!res.headersSent) send(res, status, JSON.stringify({ error: message }), 'application/json; charset=utf-8');
      else res.destroy();
      if (status >= 500) this.#log.warn('HTTP request failed', { method: req.method, path: url.pathname, status, error: message });
      else this.#log.debug('HTTP request refused', { method: req.method, path: url.pathname, status, error: message });
    }
    this.#metrics.httpRequests.inc({ route: label, method: req.method ?? '', status: String(status) });
    // Event streams last as long as the page: their duration says nothing.
    if (label !== '/api/events') this.#metrics.httpDuration.observe({ route: label }, (performance.now() - started) / 1000);
  }

  #route(route: Route | undefined, req: IncomingMessage, res: ServerResponse, url: URL): Promise<Outcome> | Outcome {
    if (!route) throw new HttpError(404, `no such route: ${url.pathname}`);
    const allowed = Object.keys(route.methods).join(', ');
    if (req.method === 'OPTIONS' && route.cors) {
      res.writeHead(204, { 'Access-Control-Allow-Methods': allowed, 'Access-Control-Max-Age': '600' });
      res.end();
      return 'handled';
    }
    const handler = route.methods[req.method as Method];
    if (!handler) throw new HttpError(405, `method ${req.method} not allowed on ${route.path} (allowed: ${allowed})`, { Allow: allowed });
    return handler({ req, res, url, password: passwordOf(req), json: () => readJson(req) });
  }
}

/** Concatenated, not resolved: a target like //host/x must not be read as another origin. */
function parseTarget(target: string): URL | null {
  if (!target.startsWith('/')) return null;
  try {
    return new URL(`http://localhost${target}`);
  } catch {
    return null;
  }
}

function send(res: ServerResponse, status: number, body: string, contentType: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}

function passwordOf(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  if (h === undefined) return null;
  const [scheme, value = ''] = h.split(' ', 2);
  if (scheme?.toLowerCase() === 'bearer') return value;
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? decoded : decoded.slice(colon + 1);
  }
  return null;
}

/** The request body as JSON; 413 past BODY_BYTES_MAX (without reading the rest), 415 if not JSON, 400 if malformed. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  // Requiring JSON also keeps cross-site "simple" requests (forms, text/plain) from writing.
  if (type !== 'application/json') throw new HttpError(415, 'the body must be JSON (Content-Type: application/json)');
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > BODY_BYTES_MAX) {
    req.resume();
    throw new HttpError(413, `the body is larger than ${BODY_BYTES_MAX} bytes`, { Connection: 'close' });
  }
  const body = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the cap the rest is drained and dropped, so the 413 can still be read.
      if (size > BODY_BYTES_MAX) reject(new HttpError(413, `the body is larger than ${BODY_BYTES_MAX} bytes`, { Connection: 'close' }));
      else chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new HttpError(400, `the body is not valid JSON: ${(e as Error).message}`);
  }
}
