// Runs redis-benchmark once against a port and parses its `--csv` line
// (redis-benchmark 7: test, rps, avg/min/p50/p95/p99/max latency in ms).

import { spawn } from 'node:child_process';
import { track } from './processes.ts';

export interface BenchResult {
  readonly test: string;
  readonly rps: number;
  readonly avgMs: number;
  readonly minMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface BenchRun {
  readonly port: number;
  readonly test: 'set' | 'get';
  readonly requests: number;
  readonly clients: number;
  readonly pipeline: number;
  readonly valueBytes: number;
  readonly keyspace: number;
}

const RUN_MS_MAX = 300_000;

export function parseCsv(text: string): BenchResult {
  const lines = text.trim().split('\n').map((l) => l.split(',').map((c) => c.replace(/^"|"$/g, '')));
  const header = lines[0]!;
  const want = ['test', 'rps', 'avg_latency_ms', 'min_latency_ms', 'p50_latency_ms', 'p95_latency_ms', 'p99_latency_ms', 'max_latency_ms'];
  if (header.join() !== want.join() || lines.length < 2) throw new Error(`unexpected redis-benchmark --csv output:\n${text}`);
  const row = lines[1]!;
  const n = (i: number): number => {
    const v = Number(row[i]);
    if (!Number.isFinite(v)) throw new Error(`bad number in column ${want[i]}: ${row[i]}`);
    return v;
  };
  return { test: row[0]!, rps: n(1), avgMs: n(2), minMs: n(3), p50Ms: n(4), p95Ms: n(5), p99Ms: n(6), maxMs: n(7) };
}

export function runBenchmark(r: BenchRun): Promise<BenchResult> {
  const args = ['-h', '127.0.0.1', '-p', String(r.port), '-t', r.test, '-n', String(r.requests), '-c', String(r.clients)];
  args.push('-P', String(r.pipeline), '-d', String(r.valueBytes), '-r', String(r.keyspace), '--csv');
  return runRedisBenchmark(args);
}

/**
 * Runs redis-benchmark with `args` (which must include --csv) and parses its CSV line;
 * bounded in time. Long arguments are shortened in the error message.
 */
export function runRedisBenchmark(args: readonly string[]): Promise<BenchResult> {
  const shown = args.map((a) => (a.length > 40 ? `<${a.length} bytes>` : a)).join(' ');
  return new Promise((resolve, reject) => {
    const child = track(spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_MS_MAX);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`redis-benchmark ${shown} failed (code ${code}, signal ${signal}):\n${err}${out.slice(0, 2000)}`));
      try {
        resolve(parseCsv(out));
      } catch (e) {
        reject(e);
      }
    });
  });
}
