// A Redis Streams work queue driven against a real raftis process, and the model of
// what its clients know: producers XADD messages with unique payload ids, consumers in
// one group XREADGROUP `>` and XACK, a "crashed" consumer reads and vanishes without
// acking. The model records what the server acknowledged (XADD ids, XACKs) and what
// got no answer (fate unknown), so checks after a SIGKILL accept exactly what is allowed.
// Replies are parsed from `redis.call` and validated, never trusted by shape.

import type { Redis } from 'ioredis';

export const STREAM = 'jobs';
export const GROUP = 'workers';

/** One delivered entry: its stream ID and the payload id it carries. */
export interface Delivery {
  readonly id: string;
  readonly pid: string;
}

/** One XPENDING extended-form row. */
export interface PendingRow {
  readonly id: string;
  readonly consumer: string;
  readonly idleMs: number;
  readonly deliveries: number;
}

export class QueueModel {
  /** XADD answered: payload id → stream ID. */
  readonly produced = new Map<string, string>();
  /** XADD sent without an answer (the server died): may or may not be in the stream. */
  readonly producing = new Set<string>();
  /** Payload ids some consumer received in a reply (XREADGROUP or XAUTOCLAIM). */
  readonly received = new Set<string>();
  /** XACK answered for these payload ids (or, after a restart, found no longer pending). */
  readonly acked = new Set<string>();
  /** XACK sent without an answer: stream ID → payload id. */
  readonly acking = new Map<string, string>();
  /** Violations seen while running (a duplicate `>` delivery, an ID that changed...). */
  readonly problems: string[] = [];

  /** Records a reply's deliveries; `fresh` (a `>` read) must never return a payload a client already had. */
  receive(batch: readonly Delivery[], fresh: boolean, who: string): void {
    for (const { id, pid } of batch) {
      const known = this.produced.get(pid);
      if (known !== undefined && known !== id) this.problems.push(`${who}: payload ${pid} delivered as ${id}, but XADD answered ${known}`);
      if (known === undefined && !this.producing.has(pid)) this.problems.push(`${who}: payload ${pid} (${id}) was never sent`);
      if (fresh && this.received.has(pid)) this.problems.push(`${who}: payload ${pid} (${id}) delivered again by a '>' read`);
      this.received.add(pid);
    }
  }
}

/** The command's fate is unknown to the client: the connection broke under it. */
export const isConnectionError = (e: unknown): boolean =>
  e instanceof Error && /Connection is closed|ECONNRESET|ECONNREFUSED|EPIPE|Stream isn't writeable/.test(e.message);

const str = (x: unknown, what: string): string => {
  if (typeof x === 'string') return x;
  if (Buffer.isBuffer(x)) return x.toString('utf8');
  throw new Error(`${what}: expected a string, got ${JSON.stringify(x)}`);
};
const arr = (x: unknown, what: string): unknown[] => {
  if (Array.isArray(x)) return x;
  throw new Error(`${what}: expected an array, got ${JSON.stringify(x)}`);
};

/** `[id, [field, value, ...]]` entries → deliveries (the `pid` field). */
export function parseEntries(x: unknown, what: string): Delivery[] {
  return arr(x, what).map((e) => {
    const [id, fields] = arr(e, what);
    const f = arr(fields, `${what} fields`).map((v) => str(v, what));
    const i = f.indexOf('pid');
    if (i < 0 || i % 2 === 1 || i + 1 >= f.length) throw new Error(`${what}: entry ${String(id)} has no pid field: ${JSON.stringify(f)}`);
    return { id: str(id, what), pid: f[i + 1]! };
  });
}

/** XREADGROUP … STREAMS STREAM id: the entries, [] on a timeout (nil). */
export async function readGroup(redis: Redis, consumer: string, count: number, blockMs: number, start = '>'): Promise<Delivery[]> {
  // The typed method: ioredis 6 reshapes the reply of `call('XREADGROUP')` (one stream unwrapped).
  const r: unknown = await redis.xreadgroup('GROUP', GROUP, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', STREAM, start);
  if (r === null) return [];
  const streams = arr(r, 'XREADGROUP');
  if (streams.length !== 1) throw new Error(`XREADGROUP: one stream expected, got ${JSON.stringify(r)}`);
  const [key, entries] = arr(streams[0], 'XREADGROUP stream');
  if (str(key, 'XREADGROUP key') !== STREAM) throw new Error(`XREADGROUP: reply for ${String(key)}`);
  return parseEntries(entries, 'XREADGROUP entries');
}

/** XACK of a batch; records it in `model` (in flight until answered). Returns XACK's count. */
export async function ack(redis: Redis, model: QueueModel, batch: readonly Delivery[], who: string): Promise<number> {
  if (batch.length === 0) return 0;
  for (const d of batch) model.acking.set(d.id, d.pid);
  const n = Number(await redis.call('XACK', STREAM, GROUP, ...batch.map((d) => d.id)));
  for (const d of batch) {
    model.acking.delete(d.id);
    model.acked.add(d.pid);
  }
  if (n !== batch.length) model.problems.push(`${who}: XACK of ${batch.length} pending entries answered ${n}`);
  return n;
}

/** XPENDING extended form over the whole stream (optionally one consumer), paged. */
export async function pendingRows(redis: Redis, consumer?: string): Promise<PendingRow[]> {
  const rows: PendingRow[] = [];
  let start = '-';
  for (let page = 0; page < 1000; page++) {
    const r = arr(await redis.call('XPENDING', STREAM, GROUP, start, '+', 500, ...(consumer === undefined ? [] : [consumer])), 'XPENDING');
    for (const row of r) {
      const [id, c, idle, n] = arr(row, 'XPENDING row');
      rows.push({ id: str(id, 'XPENDING id'), consumer: str(c, 'XPENDING consumer'), idleMs: Number(idle), deliveries: Number(n) });
    }
    if (r.length < 500) return rows;
    start = `(${rows[rows.length - 1]!.id}`;
  }
  throw new Error('XPENDING: more than 500 000 pending entries');
}

/** XPENDING summary form: the count of pending entries. */
export async function pendingCount(redis: Redis): Promise<number> {
  const r = arr(await redis.call('XPENDING', STREAM, GROUP), 'XPENDING summary');
  return Number(r[0]);
}

/** XAUTOCLAIM every pending entry (min idle `minIdleMs`) for `consumer`, following the cursor. */
export async function autoclaimAll(redis: Redis, consumer: string, minIdleMs: number): Promise<{ claimed: Delivery[]; deleted: string[] }> {
  const claimed: Delivery[] = [];
  const deleted: string[] = [];
  let cursor = '0-0';
  for (let page = 0; page < 10_000; page++) {
    const [next, entries, gone] = arr(await redis.call('XAUTOCLAIM', STREAM, GROUP, consumer, minIdleMs, cursor, 'COUNT', 100), 'XAUTOCLAIM');
    claimed.push(...parseEntries(entries, 'XAUTOCLAIM entries'));
    deleted.push(...arr(gone, 'XAUTOCLAIM deleted').map((x) => str(x, 'XAUTOCLAIM deleted id')));
    cursor = str(next, 'XAUTOCLAIM cursor');
    if (cursor === '0-0') return { claimed, deleted };
  }
  throw new Error('XAUTOCLAIM: cursor did not come back to 0-0 within 10 000 pages');
}

/** Every entry of the stream, in pages. */
export async function allEntries(redis: Redis): Promise<Delivery[]> {
  const out: Delivery[] = [];
  let start = '-';
  for (let page = 0; page < 1000; page++) {
    const batch = parseEntries(await redis.call('XRANGE', STREAM, start, '+', 'COUNT', 1000), 'XRANGE');
    out.push(...batch);
    if (batch.length < 1000) return out;
    start = `(${batch[batch.length - 1]!.id}`;
  }
  throw new Error('XRANGE: more than 1 000 000 entries');
}

/** A producer: sequential XADDs (one in flight) until stopped or the connection breaks. */
export async function produce(redis: Redis, model: QueueModel, prefix: string, body: string, stop: () => boolean): Promise<void> {
  for (let i = 0; !stop(); i++) {
    const pid = `${prefix}.${i}`;
    model.producing.add(pid);
    let id: string;
    try {
      id = str(await redis.call('XADD', STREAM, '*', 'pid', pid, 'body', body), 'XADD');
    } catch (e) {
      if (isConnectionError(e)) return; // stays in `producing`: may or may not exist
      throw e;
    }
    model.producing.delete(pid);
    model.produced.set(pid, id);
  }
}

/** A consumer that processes and acks every batch until stopped or the connection breaks. */
export async function consume(redis: Redis, model: QueueModel, consumer: string, count: number, blockMs: number, stop: () => boolean): Promise<void> {
  try {
    while (!stop()) {
      const batch = await readGroup(redis, consumer, count, blockMs);
      model.receive(batch, true, consumer);
      await ack(redis, model, batch, consumer);
    }
  } catch (e) {
    if (!isConnectionError(e)) throw e;
  }
}

/**
 * The consumer that will crash: reads and acks until it has processed `ackFirst`
 * entries, then reads one more non-empty batch, does not ack it, and returns it
 * (the caller then drops the connection). Nothing is in flight when it returns.
 */
export async function consumeThenHold(
  redis: Redis,
  model: QueueModel,
  consumer: string,
  count: number,
  blockMs: number,
  ackFirst: number,
  stop: () => boolean,
): Promise<Delivery[]> {
  let processed = 0;
  while (!stop()) {
    const batch = await readGroup(redis, consumer, count, blockMs);
    model.receive(batch, true, consumer);
    if (batch.length === 0) continue;
    if (processed >= ackFirst) return batch;
    await ack(redis, model, batch, consumer);
    processed += batch.length;
  }
  throw new Error(`${consumer} stopped before holding a batch (processed ${processed})`);
}
