// End-to-end latency of a Redis Streams queue on one server: an open-loop producer
// XADDs at a fixed schedule (message i is due at t0 + i/rate, whatever the replies do)
// with its send time (performance.now(), ms) in the entry; one consumer loops
// XREADGROUP … BLOCK 1000 COUNT 100 STREAMS s > and XACKs each batch (awaited, or sent
// back to back with the next read on the same connection, so still after it). Latency is
// delivery time − send time (same process, same monotonic clock). The first `warmupS`
// seconds run the same way but are not measured (JIT, caches: both servers get them).
// Bounded: the run ends when every message is delivered or `durationS + DRAIN_S_MAX` has passed.

import { Redis } from 'ioredis';

export interface E2eRun {
  readonly port: number;
  readonly ratePerS: number;
  readonly durationS: number;
  readonly valueBytes: number;
  readonly stream: string;
  /** 'wait': XACK, await it, then read again; 'pipeline': send XACK and the next read back to back on the connection. */
  readonly ack: 'wait' | 'pipeline';
  /** Seconds at the rate before the measured `durationS`, not counted (default 0). */
  readonly warmupS?: number;
}

export interface E2eResult {
  /** Every message, the warm-up's included (as are added, delivered and acked). */
  readonly scheduled: number;
  /** XADDs answered with an ID. */
  readonly added: number;
  readonly delivered: number;
  readonly acked: number;
  /** Measured messages delivered per second, from the first measured send to the last delivery. */
  readonly deliveredPerS: number;
  /** Sends per second actually achieved by the producer. */
  readonly sentPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /** How late the producer was against its schedule (client-side backlog), p99 and max. */
  readonly sendLagP99Ms: number;
  readonly sendLagMaxMs: number;
  /** p99 latency of the messages sent in each second of the run (where in the run the tail is). */
  readonly p99BySecondMs: readonly number[];
}

const GROUP = 'bench';
const READ_COUNT = 100;
const BLOCK_MS = 1000;
const DRAIN_S_MAX = 15;
const IN_FLIGHT_MAX = 100_000;
const START_DELAY_MS = 50;

function client(port: number): Redis {
  return new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

export async function runE2e(r: E2eRun): Promise<E2eResult> {
  const producer = client(r.port);
  const consumer = client(r.port);
  try {
    await Promise.all([producer.connect(), consumer.connect()]);
    await producer.call('DEL', r.stream);
    await producer.call('XGROUP', 'CREATE', r.stream, GROUP, '$', 'MKSTREAM');
    const warmup = Math.round(r.ratePerS * (r.warmupS ?? 0));
    const total = warmup + Math.round(r.ratePerS * r.durationS);
    const body = 'x'.repeat(r.valueBytes);
    const lags = new Float64Array(total);
    const latencies = new Float64Array(total);
    const sentAt = new Float64Array(total);
    const t0 = performance.now() + START_DELAY_MS;
    /** Messages sent from here on are measured. */
    const measureFrom = t0 + (warmup * 1000) / r.ratePerS;
    let sent = 0;
    let added = 0;
    let failure: unknown = null;
    let sendEnd = t0;

    const produced = new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        while (sent < total && t0 + (sent * 1000) / r.ratePerS <= now) {
          if (sent - added > IN_FLIGHT_MAX) failure ??= new Error(`more than ${IN_FLIGHT_MAX} XADDs in flight`);
          const at = performance.now();
          lags[sent] = at - (t0 + (sent * 1000) / r.ratePerS);
          producer.call('XADD', r.stream, '*', 'ts', at.toFixed(4), 'body', body).then(
            () => void added++,
            (e: unknown) => void (failure ??= e),
          );
          sent++;
        }
        if (sent < total && failure === null) setTimeout(tick, 1);
        else {
          sendEnd = performance.now();
          resolve();
        }
      };
      setTimeout(tick, START_DELAY_MS);
    });

    let delivered = 0;
    let measured = 0;
    let acked = 0;
    const acks: Promise<void>[] = [];
    let lastDelivery = t0;
    const deadline = t0 + (r.durationS + DRAIN_S_MAX) * 1000;
    let producing = true;
    void produced.then(() => (producing = false));
    while (failure === null && delivered < total && performance.now() < deadline) {
      const reply = (await consumer.xreadgroup('GROUP', GROUP, 'c1', 'COUNT', READ_COUNT, 'BLOCK', BLOCK_MS, 'STREAMS', r.stream, '>')) as
        | [string, [string, string[]][]][]
        | null;
      const now = performance.now();
      const entries = reply?.[0]?.[1] ?? [];
      if (entries.length === 0 && !producing && added === sent) break; // nothing more will come
      for (const [, fields] of entries) {
        const i = fields.indexOf('ts');
        const at = Number(fields[i + 1]);
        delivered++;
        if (at < measureFrom) continue;
        sentAt[measured] = at;
        latencies[measured++] = now - at;
      }
      if (entries.length > 0) {
        lastDelivery = now;
        const acking = consumer.call('XACK', r.stream, GROUP, ...entries.map(([id]) => id)).then((n) => void (acked += Number(n)));
        if (r.ack === 'wait') await acking;
        else acks.push(acking.catch((e: unknown) => void (failure ??= e)));
      }
    }
    await produced;
    await Promise.all(acks);
    if (failure !== null) throw failure;
    const p99BySecondMs = bySecond(measureFrom, sentAt.subarray(0, measured), latencies.subarray(0, measured), r.durationS);
    const lat = latencies.subarray(0, measured).sort();
    const lag = lags.subarray(Math.min(warmup, sent), sent).sort();
    return {
      scheduled: total,
      added,
      delivered,
      acked,
      deliveredPerS: measured / ((lastDelivery - measureFrom) / 1000),
      sentPerS: (sent - Math.min(warmup, sent)) / ((sendEnd - measureFrom) / 1000),
      p50Ms: percentile(lat, 0.5),
      p99Ms: percentile(lat, 0.99),
      p999Ms: percentile(lat, 0.999),
      maxMs: lat.length === 0 ? Number.NaN : lat[lat.length - 1]!,
      sendLagP99Ms: percentile(lag, 0.99),
      sendLagMaxMs: lag.length === 0 ? Number.NaN : lag[lag.length - 1]!,
      p99BySecondMs,
    };
  } finally {
    producer.disconnect();
    consumer.disconnect();
  }
}

/** p99 of `latencies` grouped by the second of the run their message was sent in. */
function bySecond(t0: number, sentAt: Float64Array, latencies: Float64Array, seconds: number): number[] {
  const groups: number[][] = Array.from({ length: Math.max(1, Math.ceil(seconds)) }, () => []);
  for (let i = 0; i < latencies.length; i++) {
    const s = Math.min(groups.length - 1, Math.max(0, Math.floor((sentAt[i]! - t0) / 1000)));
    groups[s]!.push(latencies[i]!);
  }
  return groups.map((g) => percentile(Float64Array.from(g).sort(), 0.99));
}
