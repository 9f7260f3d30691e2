// `npm run cluster`: a local three-node raftis cluster for development. Starts nats-server
// on a free loopback port, then raftis n1..n3 (RESP on base-port+i, HTTP on http-base-port+i,
// data in <dir>/nX, output in <dir>/nX.log and on the terminal prefixed with the node id).
// On SIGINT/SIGTERM it stops only the processes it started, by PID: each raftis with SIGTERM
// and a bounded wait, then nats-server; it exits 0. Other flags are passed to every node.

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const NODE_IDS = ['n1', 'n2', 'n3'] as const;
const NATS_READY_MS = 10_000;
const NATS_START_ATTEMPTS = 3;
const RAFTIS_READY_MS = 15_000;
/** raftis drains connections for up to 5 s, then syncs and closes; allow more before SIGKILL. */
const RAFTIS_STOP_MS = 15_000;
const NATS_STOP_MS = 5_000;
/** Flags the script sets per node; passing them through would break the cluster layout. */
const MANAGED = new Set(['port', 'dir', 'node-id', 'nats', 'bootstrap', 'join', 'http-port', 'bind']);
const USAGE = `usage: npm run cluster -- [--base-port 6379] [--http-base-port 8080] [--dir ./data/cluster]
                          [--nats-server PATH] [raftis flags for every node, e.g. --appendfsync no]`;

interface Options {
  readonly basePort: number;
  readonly httpBasePort: number;
  readonly dir: string;
  readonly natsServer: string;
  readonly passThrough: readonly string[];
}

interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly log: WriteStream;
  readonly exited: Promise<void>;
  readonly output: string[];
  running: boolean;
  /** A line matched the `ready` pattern given to start(). */
  ready: boolean;
  stopRequested: boolean;
}

const repoRoot = resolve(import.meta.dirname, '..');
const colour = process.stdout.isTTY ? (i: number, s: string) => `\x1b[${31 + (i % 6)}m${s}\x1b[0m` : (_: number, s: string) => s;
const say = (line: string): void => void process.stdout.write(`[cluster] ${line}\n`);
const procs: Proc[] = [];
let stopping: Promise<never> | null = null;

function fail(message: string): never {
  process.stderr.write(`cluster: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseOptions(argv: readonly string[]): Options {
  let basePort = 6379;
  let httpBasePort = 8080;
  let dir = './data/cluster';
  let natsServer: string | null = null;
  const passThrough: string[] = [];
  const port = (name: string, raw: string | undefined): number => {
    const v = Number(raw);
    if (!Number.isInteger(v) || v < 1 || v > 65535 - NODE_IDS.length) fail(`--${name} needs a port number, got '${raw ?? ''}'`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = (): string => inline ?? argv[++i] ?? fail(`${flag} needs a value`);
    if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (flag === '--base-port') basePort = port('base-port', value());
    else if (flag === '--http-base-port') httpBasePort = port('http-base-port', value());
    else if (flag === '--dir') dir = value();
    else if (flag === '--nats-server') natsServer = value();
    else if (MANAGED.has(flag.replace(/^--/, ''))) fail(`${flag} is set by the script for each node`);
    else passThrough.push(argv[i]!);
  }
  return { basePort, httpBasePort, dir: resolve(dir), natsServer: natsServer ?? findNatsServer(), passThrough };
}

function findNatsServer(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), '/usr/sbin', '/usr/local/bin'];
  for (const d of dirs) {
    try {
      accessSync(join(d, 'nats-server'), constants.X_OK);
      return join(d, 'nats-server');
    } catch {
      // not in this directory
    }
  }
  return fail('nats-server not found on PATH or in /usr/sbin (apt-get install nats-server, or pass --nats-server PATH)');
}

function freePort(): Promise<number> {
  return new Promise((ok, ko) => {
    const s = createServer();
    s.once('error', ko);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

/** Starts a child and copies each line of its output to its log file and, with `prefix`, to the terminal. */
function start(name: string, command: string, args: readonly string[], logPath: string, prefix: string | null, ready: RegExp): Proc {
  const log = createWriteStream(logPath, { flags: 'a' });
  // Own process group: a terminal Ctrl-C reaches only this script, which stops the children in order.
  const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const output: string[] = [];
  // 'close' comes after the last output line, so the log can be ended then.
  const exited = new Promise<void>((ok) => child.once('close', () => ok()));
  const p: Proc = { name, child, log, output, exited, running: true, ready: false, stopRequested: false };
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      if (!log.writableEnded) log.write(`${line}\n`);
      if (output.push(line) > 50) output.shift();
      if (ready.test(line)) p.ready = true;
      if (prefix !== null) process.stdout.write(`${prefix} ${line}\n`);
    });
  }
  child.once('error', (e) => {
    p.running = false; // spawn failed: no 'exit' follows
    say(`${name}: cannot start ${command}: ${e.message}`);
  });
  child.once('exit', (code, signal) => {
    p.running = false;
    if (p.stopRequested || stopping !== null) return;
    const others = procs.some((q) => q !== p && q.running) ? ' The others keep running.' : '';
    say(`${name} exited unexpectedly (${signal ?? `code ${code}`}); see ${logPath}.${others}`);
  });
  procs.push(p);
  return p;
}

/** Resolves true once `proc` printed its ready line, false at the deadline or when it exits first. */
async function waitReady(proc: Proc, deadlineMs: number): Promise<boolean> {
  const until = Date.now() + deadlineMs;
  while (!proc.ready && proc.running && Date.now() < until) await new Promise((ok) => setTimeout(ok, 50));
  return proc.ready;
}

async function startNats(o: Options): Promise<{ proc: Proc; url: string }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const logPath = join(o.dir, 'nats.log');
    const proc = start('nats', o.natsServer, ['-a', '127.0.0.1', '-p', String(port)], logPath, null, /Server is ready/);
    if (await waitReady(proc, NATS_READY_MS)) {
      return { proc, url: `nats://127.0.0.1:${port}` };
    }
    // The free port may have been taken between probing and binding: try another.
    if (attempt >= NATS_START_ATTEMPTS || !proc.output.some((l) => /address already in use/i.test(l))) {
      throw new Error(`nats-server did not get ready (see ${logPath})`);
    }
    await stop(proc, NATS_STOP_MS);
  }
}

async function stop(p: Proc, boundMs: number): Promise<void> {
  p.stopRequested = true;
  if (p.running && p.child.pid !== undefined) p.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([p.exited.then(() => true), new Promise<boolean>((ok) => (timer = setTimeout(() => ok(false), boundMs)))]);
  clearTimeout(timer);
  if (!inTime) {
    say(`${p.name} did not exit within ${boundMs} ms of SIGTERM; sending SIGKILL to PID ${p.child.pid}`);
    p.child.kill('SIGKILL');
    await p.exited;
  }
  await new Promise((ok) => p.log.end(ok));
}

function stopAll(reason: string, code: number): Promise<never> {
  stopping ??= stopInOrder(reason, code);
  return stopping;
}

async function stopInOrder(reason: string, code: number): Promise<never> {
  // raftis first (they finish in-flight writes and sync), then the NATS server they talk through.
  const [nats, nodes] = [procs.filter((p) => p.name === 'nats'), procs.filter((p) => p.name !== 'nats')];
  say(`${reason}: stopping ${[...nodes, ...nats].filter((p) => p.running).map((p) => p.name).join(', ') || 'nothing'}`);
  await Promise.all(nodes.map((p) => stop(p, RAFTIS_STOP_MS)));
  await Promise.all(nats.map((p) => stop(p, NATS_STOP_MS)));
  say('all stopped');
  process.exit(code);
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  mkdirSync(o.dir, { recursive: true });
  // npm forwards the signal as well as the terminal delivering it: handle it once.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stopAll(signal, 0));
  // Last resort if this script dies on an exception: do not leave detached children behind.
  process.on('exit', () => procs.forEach((p) => p.running && p.child.kill('SIGKILL')));

  const nats = await startNats(o);
  say(`nats-server  ${nats.url}  (PID ${nats.proc.child.pid}, log ${join(o.dir, 'nats.log')})`);
  const nodes = NODE_IDS.map((id, i) => {
    const port = o.basePort + i;
    const httpPort = o.httpBasePort + i;
    const dir = join(o.dir, id);
    const logPath = join(o.dir, `${id}.log`);
    const args = ['src/main.ts', '--node-id', id, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
      '--http-port', String(httpPort), '--nats', nats.url, '--bootstrap', NODE_IDS.join(','), ...o.passThrough];
    const proc = start(id, process.execPath, args, logPath, colour(i, `[${id}]`), /listening on/);
    say(`${id}  RESP 127.0.0.1:${port}  HTTP 127.0.0.1:${httpPort}  data ${dir}  log ${logPath}  (PID ${proc.child.pid})`);
    return { id, port, proc };
  });
  const ready = await Promise.all(nodes.map((n) => waitReady(n.proc, RAFTIS_READY_MS)));
  const up = nodes.filter((_, i) => ready[i]);
  const hint = up.length > 0 ? ` (${up.map((n) => n.id).join(', ')}); try: redis-cli -p ${up[0]!.port} ping` : '';
  say(`${up.length}/${nodes.length} nodes listening${hint}. Ctrl-C stops the cluster.`);
}

main().catch((e: unknown) => stopAll(`failed: ${e instanceof Error ? e.message : String(e)}`, 1));
