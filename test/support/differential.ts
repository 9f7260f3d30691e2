// Differential testing against a real redis-server: the same command goes to both
// servers on parallel connections and the replies must be equal, after normalising
// only what is legitimately nondeterministic (TTLs within a tolerance, KEYS order,
// RANDOMKEY's choice, SCAN's paging). A mismatch throws with both replies and context.

import { RespConn } from './resp_conn.ts';
import { render, type Arg, type Reply } from './resp_reply.ts';

/**
 * How replies are compared: `exact`; `ttl-s`/`ttl-ms` (a remaining time or absolute
 * deadline set relative to each server's clock: non-negative values may differ by the
 * tolerance); `sorted` (an array compared as a multiset); `randomkey` (nil vs a key
 * that exists); `scan-full` (the command is a SCAN template: a full iteration starting
 * at its cursor, which must spell 0 or be invalid, compared as the set of keys returned); `type-only` (the reply
 * kinds only, e.g. HELLO whose client id differs).
 */
export type Norm = 'exact' | 'ttl-s' | 'ttl-ms' | 'sorted' | 'randomkey' | 'scan-full' | 'type-only';

export interface DiffCommand {
  readonly args: readonly Arg[];
  readonly norm?: Norm;
  /** Send on the second ("other") connection, e.g. to touch a WATCHed key. */
  readonly other?: boolean;
}

const TOLERANCE_S = 2n;
const TOLERANCE_MS = 2000n;
const SCAN_PAGES_MAX = 10_000;
const HISTORY_SHOWN = Number(process.env.RAFTIS_DIFF_HISTORY ?? 12);

export class DivergenceError extends Error {}

export const showArgs = (args: readonly Arg[]): string =>
  args.map((a) => (Buffer.isBuffer(a) ? JSON.stringify(a.toString('latin1')) : JSON.stringify(String(a)))).join(' ');

function closeInts(a: Reply, b: Reply, tolerance: bigint): boolean {
  if (a.t !== 'int' || b.t !== 'int') return render(a) === render(b);
  if (a.v < 0n || b.v < 0n) return a.v === b.v;
  const d = a.v - b.v;
  return d <= tolerance && -d <= tolerance;
}

const sortedItems = (r: Reply): string | null =>
  r.t === 'array' || r.t === 'set' ? r.v.map(render).sort().join(', ') : null;

/** Whether two replies agree under `norm` (scan-full is handled by the caller). */
export function agree(a: Reply, b: Reply, norm: Norm): boolean {
  switch (norm) {
    case 'exact':
    case 'scan-full':
      return render(a) === render(b);
    case 'ttl-s':
      return closeInts(a, b, TOLERANCE_S);
    case 'ttl-ms':
      return closeInts(a, b, TOLERANCE_MS);
    case 'sorted': {
      const sa = sortedItems(a);
      return sa !== null && a.t === b.t ? sa === sortedItems(b) : render(a) === render(b);
    }
    case 'type-only':
      return a.t === b.t;
    case 'randomkey':
      return a.t === 'bulk' && b.t === 'bulk' ? true : render(a) === render(b);
    default: {
      const never: never = norm;
      throw new Error(`unknown norm ${String(never)}`);
    }
  }
}

interface Side {
  readonly main: RespConn;
  readonly other: RespConn;
}

interface Step {
  readonly cmd: DiffCommand;
  readonly redis: string;
  readonly raftis: string;
}

/** One pair of connections per server; tracks MULTI so EXEC replies are normalised per queued command. */
export class DiffSession {
  readonly #redis: Side;
  readonly #raftis: Side;
  readonly #label: string;
  readonly #history: Step[] = [];
  #inMulti = false;
  #watching = false;
  #queuedNorms: Norm[] = [];
  #steps = 0;

  private constructor(redis: Side, raftis: Side, label: string) {
    this.#redis = redis;
    this.#raftis = raftis;
    this.#label = label;
  }

  static async open(redisPort: number, raftisPort: number, label: string): Promise<DiffSession> {
    const [rm, ro, am, ao] = await Promise.all([
      RespConn.open(redisPort), RespConn.open(redisPort), RespConn.open(raftisPort), RespConn.open(raftisPort),
    ]);
    return new DiffSession({ main: rm, other: ro }, { main: am, other: ao }, label);
  }

  get inMulti(): boolean {
    return this.#inMulti;
  }
  /** Whether the main connection may hold WATCHes (WATCH answered OK since the last EXEC/DISCARD/UNWATCH). */
  get watching(): boolean {
    return this.#watching;
  }
  get queued(): number {
    return this.#queuedNorms.length;
  }
  get steps(): number {
    return this.#steps;
  }

  close(): void {
    for (const c of [this.#redis.main, this.#redis.other, this.#raftis.main, this.#raftis.other]) c.close();
  }

  /** Sends `cmd` to both servers and checks the replies agree; returns redis's reply. */
  async run(cmd: DiffCommand): Promise<Reply> {
    this.#steps++;
    const norm = cmd.norm ?? 'exact';
    if (norm === 'scan-full' && !this.#inMulti) return this.#fullScan(cmd);
    const side = (s: Side): RespConn => (cmd.other ? s.other : s.main);
    const [a, b] = await Promise.all([side(this.#redis).call(...cmd.args), side(this.#raftis).call(...cmd.args)]);
    this.#record(cmd, a, b);
    const ok = this.#execReply(cmd, a, b) ?? agree(a, b, norm);
    if (!ok) this.#fail(cmd, a, b);
    if (norm === 'randomkey' && a.t === 'bulk' && !cmd.other && !this.#inMulti) {
      await this.#checkMember(this.#redis.main, a, 'redis-server');
      await this.#checkMember(this.#raftis.main, b, 'raftis');
    }
    this.#track(cmd, a, norm);
    return a;
  }

  /** For EXEC: compares an array reply element-wise with the queued commands' norms (null if not EXEC). */
  #execReply(cmd: DiffCommand, a: Reply, b: Reply): boolean | null {
    if (cmd.other || !this.#inMulti || !isName(cmd.args[0], 'exec')) return null;
    if (a.t !== 'array' || b.t !== 'array' || a.v.length !== b.v.length || a.v.length !== this.#queuedNorms.length) return null;
    return a.v.every((x, i) => agree(x, b.v[i]!, this.#queuedNorms[i]!));
  }

  #track(cmd: DiffCommand, a: Reply, norm: Norm): void {
    if (cmd.other) return;
    const name = String(cmd.args[0]).toLowerCase();
    if (name === 'watch' && a.t === 'simple') this.#watching = true;
    if (name === 'unwatch' || (this.#inMulti && (name === 'exec' || name === 'discard'))) this.#watching = false;
    if (!this.#inMulti) {
      if (name === 'multi' && a.t === 'simple' && a.v === 'OK') {
        this.#inMulti = true;
        this.#queuedNorms = [];
      }
      return;
    }
    if (name === 'exec' || name === 'discard') {
      this.#inMulti = false;
      this.#queuedNorms = [];
    } else if (a.t === 'simple' && a.v === 'QUEUED') this.#queuedNorms.push(norm === 'scan-full' ? 'exact' : norm);
  }

  async #checkMember(conn: RespConn, key: Reply, who: string): Promise<void> {
    if (key.t !== 'bulk') return;
    const r = await conn.call('EXISTS', key.v);
    if (r.t !== 'int' || r.v !== 1n) {
      throw new DivergenceError(`${this.#label}: RANDOMKEY on ${who} returned ${render(key)}, which does not exist (EXISTS → ${render(r)})${this.#context()}`);
    }
  }

  async #fullScan(cmd: DiffCommand): Promise<Reply> {
    const [a, b] = await Promise.all([this.#scanAll(this.#redis.main, cmd), this.#scanAll(this.#raftis.main, cmd)]);
    this.#record(cmd, a, b);
    if (render(a) !== render(b)) this.#fail(cmd, a, b);
    return a;
  }

  /** Iterates SCAN from cursor 0 to 0; the set of keys as a sorted array, or the first error. */
  async #scanAll(conn: RespConn, cmd: DiffCommand): Promise<Reply> {
    const keys = new Map<string, Reply>();
    // The first call uses the command's own cursor argument (another spelling of 0, or invalid).
    let cursor: Arg = cmd.args[1] ?? '0';
    for (let page = 0; page < SCAN_PAGES_MAX; page++) {
      const r = await conn.call('SCAN', cursor, ...cmd.args.slice(2));
      if (r.t === 'error') return r;
      if (r.t !== 'array' || r.v.length !== 2 || r.v[0]!.t !== 'bulk' || r.v[1]!.t !== 'array') {
        return { t: 'error', v: `malformed SCAN page ${render(r)}` };
      }
      for (const k of r.v[1].v) keys.set(render(k), k);
      cursor = r.v[0].v.toString('latin1');
      if (cursor === '0') return { t: 'array', v: [...keys.keys()].sort().map((k) => keys.get(k)!) };
    }
    return { t: 'error', v: `SCAN did not finish within ${SCAN_PAGES_MAX} pages` };
  }

  #record(cmd: DiffCommand, a: Reply, b: Reply): void {
    this.#history.push({ cmd, redis: render(a), raftis: render(b) });
    if (this.#history.length > HISTORY_SHOWN) this.#history.shift();
  }

  #context(): string {
    const lines = this.#history.map((s) => `  ${s.cmd.other ? '(other) ' : ''}${showArgs(s.cmd.args)}  → redis ${clip(s.redis)} | raftis ${clip(s.raftis)}`);
    return `\nlast commands (oldest first):\n${lines.join('\n')}`;
  }

  #fail(cmd: DiffCommand, a: Reply, b: Reply): never {
    throw new DivergenceError(
      `${this.#label}, step ${this.#steps}: ${cmd.other ? '(other connection) ' : ''}${showArgs(cmd.args)}` +
        `${this.#inMulti ? ' (inside MULTI)' : ''}\n  redis-server: ${clip(render(a))}\n  raftis:       ${clip(render(b))}${this.#context()}`,
    );
  }
}

const clip = (s: string): string => (s.length > 600 ? `${s.slice(0, 600)}…(${s.length} chars)` : s);

function isName(a: Arg | undefined, name: string): boolean {
  return a !== undefined && String(a).toLowerCase() === name;
}

/**
 * Sends `bytes` on a fresh connection (then half-closes it if `endInput`) and returns
 * every byte received until they end with `until` (a marker reply) or the server closes; bounded.
 */
export async function transcript(port: number, bytes: Buffer, until: Buffer | 'close', timeoutMs = 5000, endInput = false): Promise<Buffer> {
  const conn = await RespConn.open(port);
  try {
    conn.sendRaw(bytes);
    if (endInput) conn.endInput();
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const got = conn.received;
      if (until !== 'close' && got.length >= until.length && got.subarray(got.length - until.length).equals(until)) return got;
      if (conn.isClosed) return got;
      if (performance.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${until === 'close' ? 'the close' : JSON.stringify(until.toString('latin1'))}; got ${JSON.stringify(got.toString('latin1'))}`);
      }
      await Promise.race([conn.closed, new Promise((res) => setTimeout(res, 5))]);
    }
  } finally {
    conn.close();
  }
}
