// Runs redis-benchmark once with an arbitrary command (redis-benchmark 7 takes the
// command and its arguments after the options; `__rand_int__` in an argument is
// replaced by a 12-digit random number, so the argument keeps its length) and
// parses its `--csv` line with the same parser as the -t runs.

import { runRedisBenchmark, type BenchResult } from './redis_benchmark.ts';

export interface CommandRun {
  readonly port: number;
  readonly requests: number;
  readonly clients: number;
  readonly pipeline: number;
  readonly keyspace: number;
  readonly command: readonly string[];
}

export function runCommandBenchmark(r: CommandRun): Promise<BenchResult> {
  const args = ['-h', '127.0.0.1', '-p', String(r.port), '-n', String(r.requests), '-c', String(r.clients)];
  args.push('-P', String(r.pipeline), '-r', String(r.keyspace), '--csv', ...r.command);
  return runRedisBenchmark(args);
}
