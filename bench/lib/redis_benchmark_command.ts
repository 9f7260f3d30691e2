// Runs redis-benchmark once with an arbitrary command (redis-benchmark 7 takes the
// command and its arguments after the options; `__rand_int__` in an argument is
// replaced by a 12-digit random number, so the argument keeps its length) and
// parses its `--csv` line with the same parser as the -t runs.

import { spawn } from 'node:child_process';
import { track } from './processes.ts';
import { parseCsv, type BenchResult } from './redis_benchmark.ts';

export interface CommandRun {
  readonly port: number;
  readonly requests: number;
  readonly clients: number;
  readonly pipeline: number;
  readonly keyspace: number;
  readonly command: readonly string[];
}

const RUN_MS_MAX = 300_000;

export function runCommandBenchmark(r: CommandRun): Promise<BenchResult> {
  const args = ['-h', '127.0.0.1', '-p', String(r.port), '-n', String(r.requests), '-c', String(r.clients)];
  args.push('-P', String(r.pipeline), '-r', String(r.keyspace), '--csv', ...r.command);
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
