// A real raftis cluster for tests and benchmarks: one nats-server and N raftis
// processes (src/main.ts under this Node), each node on a fixed port and data dir
// for its whole life so restarts keep both. Kills, pauses, restarts and wipes act on
// PIDs this harness started, never by name. Every wait has a deadline; nothing sleeps.

import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { ServerProcess, freePort, type TeardownOwner } from './processes.ts';
import { waitUntil, within } from './wait.ts';
import { startNats } from '../transport/nats_server.ts';

const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const NODE_START_MS = 20_000;
const NODE_STOP_MS = 10_000;
const ADMIN_TIMEOUT_MS = 1500;
const START_ATTEMPTS = 3;

export interface ClusterOptions {
  /** Founding voters; default n1..n3. */
  readonly ids?: readonly string[];
  readonly snapshotEntries?: number;
  readonly faultInjection?: boolean;
  readonly appendfsync?: 'always' | 'no';
  /** More flags for every node. */
  readonly flags?: readonly string[];
  /** Keep the data dirs and logs (print where) instead of deleting them. */
  readonly keep?: boolean;
  /** The raftis entry point to run (benchmarks compare trees); default this tree's src/main.ts. */
  readonly main?: string;
}

export interface RaftStatus {
  readonly id: string;
  readonly role: string;
  readonly leader: string;
  readonly term: number;
  readonly commit: number;
  readonly applied: number;
  readonly voters: readonly string[];
  readonly learners: readonly string[];
}

/** One node's identity: id, port (chosen again only if taken before its first start), dir, log file; `proc` is its current process. */
export class ClusterNode {
  readonly id: string;
  /** Fixed once a process listened on it. */
  port: number;
  readonly dir: string;
  readonly logFile: string;
  proc: ServerProcess | null = null;
  /** Whether a process of this node ever listened (its port is then its address). */
  started = false;
  paused = false;
  /** Set before the harness ends the process, so its exit is not taken for a crash. */
  stopping = false;
  #admin: Redis | null = null;

  constructor(id: string, port: number, dir: string, logFile: string) {
    this.id = id;
    this.port = port;
    this.dir = dir;
    this.logFile = logFile;
  }

  get running(): boolean {
    return this.proc !== null && this.proc.running;
  }

  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  /** A connection for admin commands: fails fast (no offline queue, no retries). */
  admin(): Redis {
    if (this.#admin === null) {
      this.#admin = new Redis({
        port: this.port,
        host: '127.0.0.1',
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        commandTimeout: ADMIN_TIMEOUT_MS,
        retryStrategy: () => 100,
      });
      this.#admin.on('error', () => {});
    }
    return this.#admin;
  }

  /** Sends a command on the admin connection once it is up (bounded). */
  async call(...args: Array<string | number>): Promise<unknown> {
    const r = this.admin();
    if (r.status !== 'ready') await waitUntil(() => r.status === 'ready', `admin connection to ${this.id}`, ADMIN_TIMEOUT_MS * 2);
    const [cmd, ...rest] = args;
    return r.call(String(cmd), ...rest.map(String));
  }

  closeAdmin(): void {
    this.#admin?.disconnect();
    this.#admin = null;
  }

  async status(): Promise<RaftStatus> {
    const text = String(await this.call('INFO', 'raft'));
    const f = new Map(text.split('\r\n').filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));
    const list = (k: string): string[] => (f.get(k) ?? '').split(',').filter((s) => s !== '');
    return {
      id: f.get('raft_node_id') ?? this.id,
      role: f.get('raft_role') ?? '',
      leader: f.get('raft_leader') ?? '',
      term: Number(f.get('raft_term') ?? 0),
      commit: Number(f.get('raft_commit_index') ?? 0),
      applied: Number(f.get('raft_applied_index') ?? 0),
      voters: list('raft_voters'),
      learners: list('raft_learners'),
    };
  }
}

export class Cluster {
  readonly root: string;
  readonly nats: ServerProcess;
  readonly natsUrl: string;
  readonly nodes = new Map<string, ClusterNode>();
  readonly #opts: ClusterOptions;
  readonly #owner: TeardownOwner;
  readonly #bootstrap: readonly string[];
  readonly #clients = new Set<Redis>();
  /** Processes that exited without being told to (crashes), with their last output. */
  readonly crashes: string[] = [];

  private constructor(owner: TeardownOwner, root: string, nats: ServerProcess, opts: ClusterOptions) {
    this.#owner = owner;
    this.root = root;
    this.nats = nats;
    this.natsUrl = `nats://127.0.0.1:${nats.port}`;
    this.#opts = opts;
    this.#bootstrap = opts.ids ?? ['n1', 'n2', 'n3'];
  }

  /** Starts nats-server and the founding nodes (in parallel); does not wait for a leader. */
  static async start(owner: TeardownOwner, opts: ClusterOptions = {}): Promise<Cluster> {
    const root = await mkdtemp(join(tmpdir(), 'raftis-cluster-'));
    owner.teardown(() => (opts.keep ? void process.stderr.write(`cluster kept in ${root}\n`) : rm(root, { recursive: true, force: true })));
    const nats = await startNats(owner);
    const c = new Cluster(owner, root, nats, opts);
    owner.teardown(() => c.#closeClients());
    await Promise.all(c.#bootstrap.map((id) => c.addNode(id)));
    return c;
  }

  /** The ids of the founding voters. */
  get founders(): readonly string[] {
    return this.#bootstrap;
  }

  node(id: string): ClusterNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id} in this cluster`);
    return n;
  }

  running(): ClusterNode[] {
    return [...this.nodes.values()].filter((n) => n.running && !n.paused);
  }

  /** Creates a node (new port and dir) and starts it; `join` for a node added later with RAFT ADD. */
  async addNode(id: string, options: { join?: boolean } = {}): Promise<ClusterNode> {
    if (this.nodes.has(id)) throw new Error(`node ${id} exists`);
    const node = new ClusterNode(id, await freePort(), join(this.root, id), join(this.root, `${id}.log`));
    this.nodes.set(id, node);
    this.#owner.teardown(async () => {
      node.closeAdmin();
      node.stopping = true;
      if (node.proc?.running) {
        if (node.paused) node.proc.child.kill('SIGCONT');
        await node.proc.kill();
      }
    });
    await this.startProcess(id, options);
    return node;
  }

  /** Starts (or restarts) the node's process on its port and dir. */
  async startProcess(id: string, options: { join?: boolean } = {}): Promise<ServerProcess> {
    const node = this.node(id);
    if (node.running) throw new Error(`${id} is already running (pid ${node.pid})`);
    mkdirSync(node.dir, { recursive: true });
    const args = [
      this.#opts.main ?? join(REPO_ROOT, 'src/main.ts'),
      '--port', String(node.port), '--bind', '127.0.0.1', '--dir', node.dir,
      '--node-id', id, '--bootstrap', this.#bootstrap.join(','), '--nats', this.natsUrl,
      '--appendfsync', this.#opts.appendfsync ?? 'always',
      ...(this.#opts.snapshotEntries ? ['--snapshot-entries', String(this.#opts.snapshotEntries)] : []),
      ...(this.#opts.faultInjection ? ['--enable-fault-injection'] : []),
      ...(options.join ? ['--join'] : []),
      ...(this.#opts.flags ?? []),
    ];
    let last: unknown = null;
    for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
      appendFileSync(node.logFile, `=== start ${id} ${new Date().toISOString()} ${args.slice(1).join(' ')}\n`);
      const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      const p = new ServerProcess(id, node.port, node.dir, child);
      const tee = (s: Buffer): void => appendFileSync(node.logFile, s);
      child.stdout?.on('data', tee);
      child.stderr?.on('data', tee);
      node.proc = p;
      node.paused = false;
      node.stopping = false;
      void p.exited.then((x) => {
        if (node.stopping || node.proc !== p) return;
        const line = `${id} (pid ${p.pid}) exited by itself: code ${x.code} signal ${x.signal}; log ${node.logFile}\n${p.stderr.slice(-3000)}`;
        this.crashes.push(line);
        appendFileSync(node.logFile, `=== ${line.split('\n')[0]}\n`);
      });
      try {
        await waitUntil(() => /^raftis \S+ listening on /m.test(p.stdout) || !p.running, `${id} to listen on ${node.port}`, NODE_START_MS, 20);
        if (p.running) {
          node.started = true;
          return p;
        }
        last = new Error(`${id} exited at start\n${p.describe()}`);
      } catch (e) {
        last = new Error(`${id} did not start\n${p.describe()}`, { cause: e });
        node.stopping = true;
        await p.kill();
      }
      // A restart right after a kill can find the port still taken by a lingering socket: retry.
      if (!/EADDRINUSE|address already in use/i.test(p.stderr)) break;
      // Never started: another process (etcd, nats-server in a bench) took the free port we
      // picked; a new one is as good (the node announces where it listens).
      if (!node.started) {
        node.port = await freePort();
        args[args.indexOf('--port') + 1] = String(node.port);
      }
    }
    throw last;
  }

  /** SIGKILL (a crash). */
  async kill(id: string): Promise<void> {
    const node = this.node(id);
    if (!node.proc || !node.running) return;
    node.stopping = true;
    node.proc.child.kill('SIGKILL');
    if (node.paused) node.proc.child.kill('SIGCONT');
    await within(node.proc.exited, `${id} to die after SIGKILL`, NODE_STOP_MS);
    node.paused = false;
  }

  /** SIGTERM and a bounded wait for a clean exit. */
  async stop(id: string): Promise<void> {
    const node = this.node(id);
    if (!node.proc || !node.running) return;
    node.stopping = true;
    if (node.paused) this.resume(id);
    await node.proc.stop(NODE_STOP_MS);
  }

  pause(id: string): void {
    const node = this.node(id);
    if (!node.running) throw new Error(`${id} is not running`);
    node.proc!.child.kill('SIGSTOP');
    node.paused = true;
  }

  resume(id: string): void {
    const node = this.node(id);
    if (!node.running) return;
    node.proc!.child.kill('SIGCONT');
    node.paused = false;
  }

  async restart(id: string, options: { join?: boolean } = {}): Promise<void> {
    await this.kill(id);
    await this.startProcess(id, options);
  }

  /** Deletes the node's data dir (the process must be down). */
  async wipe(id: string): Promise<void> {
    const node = this.node(id);
    if (node.running) throw new Error(`wipe ${id}: still running`);
    await rm(node.dir, { recursive: true, force: true });
  }

  /** RAFT FAULT DROP on `id`: drop its traffic to and from `peers`. */
  async drop(id: string, peers: readonly string[]): Promise<void> {
    const r = await this.node(id).call('RAFT', 'FAULT', 'DROP', ...peers);
    if (r !== 'OK') throw new Error(`RAFT FAULT DROP on ${id}: ${String(r)}`);
  }

  async heal(id: string): Promise<void> {
    const r = await this.node(id).call('RAFT', 'FAULT', 'HEAL');
    if (r !== 'OK') throw new Error(`RAFT FAULT HEAL on ${id}: ${String(r)}`);
  }

  /** Cuts `group` off from every other node (both sides drop, so it holds even for messages in flight). */
  async isolate(group: readonly string[]): Promise<void> {
    const ids = [...this.nodes.keys()];
    const others = ids.filter((i) => !group.includes(i));
    await Promise.all([
      ...group.filter((i) => this.node(i).running).map((i) => this.drop(i, others)),
      ...others.filter((i) => this.node(i).running).map((i) => this.drop(i, group)),
    ]);
  }

  async healAll(): Promise<void> {
    await Promise.all(this.running().map((n) => this.heal(n.id)));
  }

  /** Every responsive node's INFO raft (unreachable nodes left out). */
  async statuses(ids: readonly string[] = this.running().map((n) => n.id)): Promise<RaftStatus[]> {
    const out = await Promise.all(ids.map((id) => this.node(id).status().catch(() => null)));
    return out.filter((s): s is RaftStatus => s !== null);
  }

  /**
   * The leader as the nodes see it: a node that says it leads in term T, and a majority
   * of its voters (counting itself) that report it as leader in T. Null otherwise.
   */
  async leader(among?: readonly string[]): Promise<string | null> {
    const st = await this.statuses(among);
    const leaders = st.filter((s) => s.role === 'leader').sort((a, b) => b.term - a.term);
    for (const l of leaders) {
      const agree = st.filter((s) => s.leader === l.id && s.term === l.term && l.voters.includes(s.id)).length;
      if (agree > l.voters.length / 2) return l.id;
    }
    return null;
  }

  /** Polls until a leader (optionally not one of `exclude`) is agreed; returns it and how long that took. */
  async waitForLeader(timeoutMs = 10_000, opts: { exclude?: readonly string[]; among?: readonly string[] } = {}): Promise<{ id: string; ms: number }> {
    const t0 = performance.now();
    let found: string | null = null;
    await waitUntil(
      async () => {
        found = await this.leader(opts.among);
        return found !== null && !(opts.exclude ?? []).includes(found);
      },
      `a leader${opts.exclude?.length ? ` other than ${opts.exclude.join(',')}` : ''}`,
      timeoutMs,
      25,
    );
    return { id: found!, ms: performance.now() - t0 };
  }

  /**
   * A tracked ioredis client to one node, connected (bounded wait), closed at teardown.
   * Fails fast: no offline queue, no resend after a reconnect (a resend would be a second write).
   */
  async client(id: string, opts: { commandTimeoutMs?: number } = {}): Promise<Redis> {
    const r = new Redis({
      port: this.node(id).port,
      host: '127.0.0.1',
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: opts.commandTimeoutMs ?? 5000,
      retryStrategy: () => 100,
    });
    r.on('error', () => {});
    this.#clients.add(r);
    await waitUntil(() => r.status === 'ready', `a client connection to ${id}`, 5000);
    return r;
  }

  closeClient(r: Redis): void {
    r.disconnect();
    this.#clients.delete(r);
  }

  #closeClients(): void {
    for (const r of this.#clients) r.disconnect();
    this.#clients.clear();
    for (const n of this.nodes.values()) n.closeAdmin();
  }

  /**
   * A node's whole keyspace (db 0) through its own linearizable reads: sorted
   * `key=value` lines. Strings only (the tests write nothing else).
   */
  async dump(id: string): Promise<string> {
    const node = this.node(id);
    const keys = ((await node.call('KEYS', '*')) as string[]).slice().sort();
    const lines: string[] = [];
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const values = (await node.call('MGET', ...chunk)) as Array<string | null>;
      chunk.forEach((k, j) => lines.push(`${k}=${values[j] ?? '<nil>'}`));
    }
    return lines.join('\n');
  }

  /** Short digest of dump(). */
  async digest(id: string): Promise<string> {
    const { createHash } = await import('node:crypto');
    const d = await this.dump(id);
    return `${d === '' ? 0 : d.split('\n').length}:${createHash('sha256').update(d).digest('hex').slice(0, 16)}`;
  }

  /** Waits until every listed node applied as far as the leader committed and all dumps agree. */
  async waitConverged(ids: readonly string[] = this.running().map((n) => n.id), timeoutMs = 20_000): Promise<string> {
    let last = '';
    try {
      await waitUntil(
        async () => {
          try {
            const st = await this.statuses(ids);
            if (st.length < ids.length) return false;
            const commit = Math.max(...st.map((s) => s.commit));
            if (st.some((s) => s.applied < commit)) {
              last = st.map((s) => `${s.id}:applied=${s.applied}/commit=${s.commit}`).join(' ');
              return false;
            }
            const ds = await Promise.all(ids.map((id) => this.digest(id)));
            last = ids.map((id, i) => `${id}=${ds[i]}`).join(' ');
            return ds.every((d) => d === ds[0]);
          } catch (e) {
            last = String(e);
            return false;
          }
        },
        `nodes ${ids.join(',')} to converge`,
        timeoutMs,
        100,
      );
    } catch (e) {
      throw new Error(`${String(e)}; last: ${last}`, { cause: e });
    }
    return last;
  }

  /** The tail of each node's output, for failure messages. */
  describe(): string {
    return [...this.nodes.values()].map((n) => (n.proc ? n.proc.describe() : `${n.id}: never started`)).join('\n');
  }
}
