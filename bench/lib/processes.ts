// Server processes for benchmarks: raftis (this checkout, the Node running the
// bench) and a real redis-server, each on a fresh temp dir. Every child is tracked
// by its PID so `cleanup()` stops exactly what was started and removes the dirs,
// also when the bench fails or is interrupted.

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RAFTIS_MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const FLOOR_MAIN = fileURLToPath(new URL('./floor_server.ts', import.meta.url));
const CLUSTER_FLOOR_MAIN = fileURLToPath(new URL('./cluster_floor.ts', import.meta.url));
const START_MS_MAX = 20_000;
const STOP_MS_MAX = 15_000;

export interface Server {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  readonly dir: string;
  /** SIGTERM, then SIGKILL if it has not exited in time; resolves with the exit code. */
  stop(): Promise<number | null>;
}

const children = new Set<ChildProcess>();
const dirs = new Set<string>();

/**
 * Fails at once, naming the Debian package to install, unless every command is on PATH
 * (a bench otherwise dies mid-run on a spawn ENOENT, after starting other servers).
 */
export function requireCommands(commands: Readonly<Record<string, string>>): void {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/usr/bin']);
  const missing = Object.entries(commands).filter(([command]) => !dirs.some((d) => d !== '' && isExecutable(join(d, command))));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map(([, pkg]) => pkg))].join(' ');
  throw new Error(`missing ${missing.map(([c]) => c).join(', ')}: install with: sudo apt-get install ${packages}`);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(d);
  return d;
}

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** A port the OS just handed out (for redis-server, which has no "pick one and tell me"). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Waits for `pattern` in the child's stdout (or stderr, where nats-server logs). */
function waitForLine(child: ChildProcess, pattern: RegExp, what: string, stream: 'stdout' | 'stderr' = 'stdout'): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const seen = { stdout: '', stderr: '' };
    const timer = setTimeout(() => fail(new Error(`${what} did not start within ${START_MS_MAX} ms`)), START_MS_MAX);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      reject(new Error(`${e.message}\n${seen.stderr.slice(-2000)}`));
    };
    for (const name of ['stdout', 'stderr'] as const) {
      child[name]?.setEncoding('utf8').on('data', (s: string) => {
        seen[name] = (seen[name] + s).slice(-10_000);
        const m = name === stream ? pattern.exec(seen[name]) : null;
        if (m) {
          clearTimeout(timer);
          resolve(m);
        }
      });
    }
    child.on('exit', (code, signal) => fail(new Error(`${what} exited during start (code ${code}, signal ${signal})`)));
  });
}

function stopper(child: ChildProcess): () => Promise<number | null> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
      const kill = setTimeout(() => child.kill('SIGKILL'), STOP_MS_MAX);
      child.once('exit', (code) => {
        clearTimeout(kill);
        resolve(code);
      });
      child.kill('SIGTERM');
    });
}

export async function startRaftis(extraNodeFlags: readonly string[] = []): Promise<Server> {
  const dir = tempDir('raftis-bench-');
  const child = track(
    spawn(process.execPath, [...extraNodeFlags, RAFTIS_MAIN, '--port', '0', '--dir', join(dir, 'data'), '--appendfsync', 'always', '--loglevel', 'warning'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const m = await waitForLine(child, /listening on \S+:(\d+)/, 'raftis');
  return { name: 'raftis', pid: child.pid!, port: Number(m[1]), dir, stop: stopper(child) };
}

/** The floor server (floor_server.ts): the least Node work per SET and GET, durable or not. */
export async function startFloor(fsync: 'always' | 'no'): Promise<Server> {
  const dir = tempDir('floor-bench-');
  const child = track(spawn(process.execPath, [FLOOR_MAIN, '--dir', dir, '--fsync', fsync], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const m = await waitForLine(child, /listening on \S+:(\d+)/, 'floor server');
  return { name: fsync === 'always' ? 'floor' : 'floor-mem', pid: child.pid!, port: Number(m[1]), dir, stop: stopper(child) };
}

/** A started cluster floor: the leader as a Server, and each node (the leader first). */
export interface FloorCluster extends Server {
  readonly nodes: ReadonlyArray<{ readonly id: string; readonly child: ChildProcess; readonly dir: string }>;
}

/**
 * The cluster floor (cluster_floor.ts): its own nats-server and `size` nodes, the
 * followers first (subscribed before the leader sends). Returns the leader, on whose
 * port clients write; stopping it stops every process of the floor.
 */
export async function startFloorCluster(size = 3): Promise<FloorCluster> {
  const dir = tempDir('floor-cluster-bench-');
  const natsPort = await freePort();
  const nats = track(spawn('nats-server', ['-a', '127.0.0.1', '-p', String(natsPort)], { stdio: ['ignore', 'pipe', 'pipe'] }));
  await waitForLine(nats, /Server is ready/, 'nats-server for the cluster floor', 'stderr');
  const url = `nats://127.0.0.1:${natsPort}`;
  const ids = Array.from({ length: size }, (_, i) => `f${i + 1}`);
  const node = (id: string, role: string[]): { id: string; child: ChildProcess; dir: string } => {
    const nodeDir = join(dir, id);
    mkdirSync(nodeDir);
    const child = track(spawn(process.execPath, [CLUSTER_FLOOR_MAIN, '--id', id, '--dir', nodeDir, '--nats', url, ...role], { stdio: ['ignore', 'pipe', 'pipe'] }));
    return { id, child, dir: nodeDir };
  };
  const followers = ids.slice(1).map((f) => node(f, ['--leader', ids[0]!]));
  await Promise.all(followers.map((f) => waitForLine(f.child, /following/, 'cluster floor follower')));
  const leader = node(ids[0]!, ['--peers', ids.slice(1).join(',')]);
  const m = await waitForLine(leader.child, /listening on \S+:(\d+)/, 'cluster floor leader');
  const nodes = [leader, ...followers];
  return {
    name: 'floor cluster',
    pid: leader.child.pid!,
    port: Number(m[1]),
    dir,
    nodes,
    stop: async () => {
      const codes = await Promise.all([...nodes.map((n) => n.child), nats].map((c) => stopper(c)()));
      return codes[0] ?? null;
    },
  };
}

export async function startRedis(): Promise<Server> {
  const dir = tempDir('redis-bench-');
  const port = await freePort();
  const child = track(
    spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no', '--logfile', ''],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  await waitForLine(child, /Ready to accept connections/, 'redis-server');
  return { name: 'redis', pid: child.pid!, port, dir, stop: stopper(child) };
}

/** Stops every tracked child by its PID and removes the temp dirs. Idempotent. */
export async function cleanup(): Promise<void> {
  await Promise.all([...children].map((c) => stopper(c)()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}
