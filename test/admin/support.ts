// Helpers for the admin API tests: an in-process server with the HTTP API on a free
// port (fresh data dir, removed afterwards), a small fetch wrapper, and a parser for
// the Prometheus text exposition. Every wait is bounded.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config.ts';
import { createLog, type Log } from '../../src/log.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import type { TeardownOwner } from '../support/processes.ts';
import { waitUntil } from '../support/wait.ts';

export const quiet: Log = createLog('test', 'error', () => {});

export interface HttpNode {
  readonly server: RunningServer;
  readonly base: string;
  readonly dir: string;
}

/** Starts a node in this process with `--http-port 0`; stopped and deleted at teardown. */
export async function startHttpNode(owner: TeardownOwner, flags: readonly string[] = [], log: Log = quiet): Promise<HttpNode> {
  const dir = await mkdtemp(join(tmpdir(), 'raftis-admin-'));
  owner.teardown(() => rm(dir, { recursive: true, force: true }));
  const server = await startServer(parseConfig(['--port', '0', '--http-port', '0', '--dir', dir, '--appendfsync', 'no', ...flags], {}), log);
  owner.teardown(() => server.stop());
  if (server.httpPort === null) throw new Error('no HTTP port');
  return { server, base: `http://127.0.0.1:${server.httpPort}`, dir };
}

/** Waits until the single node leads (it elects itself at once, but asynchronously). */
export async function waitLeader(n: HttpNode): Promise<void> {
  await waitUntil(() => n.server.node.raft.role.kind === 'leader', 'the node to lead', 10_000);
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: any;
}

export async function http(base: string, method: string, path: string, init: { body?: string | Uint8Array; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  const r = await fetch(`${base}${path}`, { method, body: init.body, headers: init.headers, signal: AbortSignal.timeout(20_000) });
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, json };
}

export const postJson = (base: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> =>
  http(base, 'POST', path, { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } });

/** One sample line of the exposition: name, labels and value. */
export interface Series {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses the Prometheus text format (the subset prom-client writes); throws on a line it cannot read. */
export function parseMetrics(text: string): { series: Series[]; types: Map<string, string> } {
  const series: Series[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unreadable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    // prom-client writes NaN as 'Nan'; Prometheus parses it case-insensitively.
    if (Number.isNaN(value) && m[3]!.toLowerCase() !== 'nan') throw new Error(`bad value in: ${line}`);
    series.push({ name: m[1]!, labels, value });
  }
  return { series, types };
}

/** The value of the series `name` whose labels include `labels`; undefined if absent. */
export function valueOf(series: readonly Series[], name: string, labels: Record<string, string> = {}): number | undefined {
  return series.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

export async function scrape(base: string): Promise<Series[]> {
  const r = await http(base, 'GET', '/metrics');
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  return parseMetrics(r.text).series;
}
