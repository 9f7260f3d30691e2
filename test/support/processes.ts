// Starts real server processes for integration tests: a raftis node (this repository's
// src/main.ts under the same Node) and a real redis-server as the oracle. Each gets a
// free port and its own temp dir, is ready before the promise resolves (bounded wait),
// keeps its stderr for failure messages, and is always ended by the test that started
// it, by PID only. No sleeps: readiness and exit are awaited with deadlines.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { within } from './wait.ts';

const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
const START_ATTEMPTS = 4;
const OUTPUT_BYTES_MAX = 64 * 1024;

/** Where cleanups go: an ava `t` (t.teardown) or a `Cleanups` run by `test.after.always`. */
export interface TeardownOwner {
  teardown(fn: () => unknown): void;
}

/** For processes shared by a file's tests (ava forbids t.teardown in hooks). */
export class Cleanups implements TeardownOwner {
  readonly #fns: Array<() => unknown> = [];
  teardown(fn: () => unknown): void {
    this.#fns.push(fn);
  }
  async run(): Promise<void> {
    const errors: unknown[] = [];
    for (const fn of this.#fns.splice(0).reverse()) {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
  }
}

// Safety net only: if the test worker exits without running teardowns (a crash), the
// children it started must not outlive it. Holds exactly the processes started here.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** A port that was free a moment ago (another process may still take it: callers retry). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await within(new Promise<void>((res, rej) => server.once('error', rej).listen(0, '127.0.0.1', res)), 'listen on port 0', 5000);
  const address = server.address();
  await new Promise<void>((res) => server.close(() => res()));
  if (address === null || typeof address === 'string') throw new Error('no port from listen(0)');
  return address.port;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A started server process. */
export class ServerProcess {
  readonly name: string;
  readonly port: number;
  readonly dir: string;
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  #stdout = '';
  #stderr = '';
  #exit: Exit | null = null;

  constructor(name: string, port: number, dir: string, child: ChildProcess) {
    this.name = name;
    this.port = port;
    this.dir = dir;
    this.child = child;
    live.add(child);
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (this.#stdout = keepTail(this.#stdout + s)));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (this.#stderr = keepTail(this.#stderr + s)));
    this.exited = new Promise((res) => {
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        live.delete(child);
        res(this.#exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }
  get stdout(): string {
    return this.#stdout;
  }
  get stderr(): string {
    return this.#stderr;
  }
  get running(): boolean {
    return this.#exit === null;
  }
  get exit(): Exit | null {
    return this.#exit;
  }

  /** Last output, for failure messages. */
  describe(): string {
    const status = this.#exit ? `exited code=${this.#exit.code} signal=${this.#exit.signal}` : 'running';
    return `${this.name} pid ${this.pid} port ${this.port} (${status})\n--- stdout ---\n${this.#stdout.slice(-4000)}\n--- stderr ---\n${this.#stderr.slice(-4000)}`;
  }

  /** SIGTERM, then waits for the exit (bounded); SIGKILL and throws if it does not come. */
  async stop(timeoutMs = STOP_TIMEOUT_MS): Promise<Exit> {
    if (this.#exit) return this.#exit;
    this.child.kill('SIGTERM');
    try {
      return await within(this.exited, `${this.name} to exit after SIGTERM`, timeoutMs);
    } catch (e) {
      this.child.kill('SIGKILL');
      await within(this.exited, `${this.name} to exit after SIGKILL`, timeoutMs);
      throw new Error(`${this.describe()}`, { cause: e });
    }
  }

  /** SIGKILL (a crash), waiting for the exit. */
  async kill(timeoutMs = STOP_TIMEOUT_MS): Promise<Exit> {
    if (this.#exit) return this.#exit;
    this.child.kill('SIGKILL');
    return within(this.exited, `${this.name} to exit after SIGKILL`, timeoutMs);
  }
}

function keepTail(s: string): string {
  return s.length > OUTPUT_BYTES_MAX ? s.slice(-OUTPUT_BYTES_MAX) : s;
}

interface Launch {
  readonly name: string;
  readonly command: string;
  args(port: number, dir: string): string[];
  /** Resolves when ready; rejects when the process died or did not get ready. */
  ready(p: ServerProcess): Promise<void>;
}

async function launch(owner: TeardownOwner, spec: Launch, dirOption: string | undefined): Promise<ServerProcess> {
  const dir = dirOption ?? (await mkdtemp(join(tmpdir(), `${spec.name}-`)));
  if (dirOption === undefined) owner.teardown(() => rm(dir, { recursive: true, force: true }));
  let lastError: unknown = null;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const port = await freePort();
    const child = spawn(spec.command, spec.args(port, dir), { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const p = new ServerProcess(spec.name, port, dir, child);
    // Registered before waiting, so a failed start is cleaned up too (kill is a no-op once exited).
    owner.teardown(() => p.kill());
    const spawnError = new Promise<never>((_, rej) => child.once('error', rej));
    try {
      await within(Promise.race([spec.ready(p), spawnError]), `${spec.name} to get ready on port ${port}`, START_TIMEOUT_MS);
      return p;
    } catch (e) {
      lastError = new Error(`${spec.name} did not start: ${String(e)}\n${p.describe()}`, { cause: e });
      await p.kill();
      // Another process took the port between freePort and bind: try another one.
      if (!/EADDRINUSE|already in use/i.test(p.stderr + p.stdout)) break;
    }
  }
  throw lastError;
}

/** Resolves when `p` writes a stdout line matching `re`; rejects if it exits first. */
function stdoutLine(p: ServerProcess, re: RegExp): Promise<void> {
  return new Promise((res, rej) => {
    const check = (): void => {
      if (re.test(p.stdout)) {
        p.child.stdout?.off('data', check);
        res();
      }
    };
    p.child.stdout?.on('data', check);
    check();
    void p.exited.then((x) => rej(new Error(`exited before ready (code ${x.code}, signal ${x.signal})`)));
  });
}

/** Resolves when a PING on a fresh connection answers +PONG; retries refused connects until `p` exits. */
async function pingAnswers(p: ServerProcess): Promise<void> {
  for (let attempt = 0; p.running && attempt < 2000; attempt++) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect(p.port, '127.0.0.1');
      let buf = '';
      const done = (v: boolean): void => {
        s.destroy();
        res(v);
      };
      s.setTimeout(1000, () => done(false));
      s.once('error', () => done(false));
      s.once('connect', () => s.write('PING\r\n'));
      s.on('data', (d) => {
        buf += d.toString('latin1');
        if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
      });
    });
    if (ok) return;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(p.running ? 'PING never answered' : 'exited before answering PING');
}

export interface RaftisOptions {
  /** Reuse a data dir (e.g. a restart); the caller owns it. Default: a fresh temp dir. */
  readonly dir?: string;
  readonly appendfsync?: 'always' | 'no';
  /** More flags, e.g. ['--requirepass', 'pw']. */
  readonly flags?: readonly string[];
}

/** Starts `node src/main.ts` and waits for its "raftis … listening on" line. */
export function startRaftis(owner: TeardownOwner, options: RaftisOptions = {}): Promise<ServerProcess> {
  return launch(
    owner,
    {
      name: 'raftis',
      command: process.execPath,
      args: (port, dir) => [
        join(REPO_ROOT, 'src/main.ts'),
        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
        '--appendfsync', options.appendfsync ?? 'no',
        ...(options.flags ?? []),
      ],
      ready: (p) => stdoutLine(p, /^raftis \S+ listening on /m),
    },
    options.dir,
  );
}

export interface RedisOptions {
  /** AOF with fsync always in `dir` (default: no persistence at all). */
  readonly appendonly?: boolean;
  readonly dir?: string;
  readonly flags?: readonly string[];
}

/** Starts a real redis-server in the foreground and waits until PING answers. */
export function startRedis(owner: TeardownOwner, options: RedisOptions = {}): Promise<ServerProcess> {
  return launch(
    owner,
    {
      name: 'redis-server',
      command: 'redis-server',
      args: (port, dir) => [
        '--port', String(port), '--bind', '127.0.0.1', '--daemonize', 'no', '--save', '', '--dir', dir,
        ...(options.appendonly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
        ...(options.flags ?? []),
      ],
      ready: pingAnswers,
    },
    options.dir,
  );
}
