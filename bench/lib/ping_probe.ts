// Watches whether a RESP server keeps answering: one raw connection sends PING, waits
// for +PONG, pauses `gapMs`, and repeats, recording each round trip. A stalled event
// loop shows as one long round trip (the PING in flight waits for the stall to end).
// Bounded: one PING in flight; latencies kept as a count, a max and a fixed histogram.

import { connect, type Socket } from 'node:net';

export interface PingStats {
  readonly pings: number;
  readonly maxMs: number;
  readonly p99Ms: number;
  /** PINGs whose round trip exceeded 100 ms. */
  readonly over100Ms: number;
  /** When the slowest PING was sent (performance.now(), ms): places a stall in time. */
  readonly maxSentAtMs: number;
  /** The first reply that was not +PONG (e.g. -LOADING), if any. */
  readonly unexpected: string | null;
}

/** Histogram buckets of 1 ms up to 10 s; slower round trips land in the last one. */
const BUCKETS = 10_000;

export class PingProbe {
  readonly #socket: Socket;
  readonly #gapMs: number;
  readonly #hist = new Uint32Array(BUCKETS + 1);
  #pings = 0;
  #maxMs = 0;
  #sentAt = 0;
  #outstanding = false;
  #maxSentAtMs = NaN;
  #unexpected: string | null = null;
  #stopped = false;
  #timer: NodeJS.Timeout | null = null;
  #buffer = '';

  private constructor(socket: Socket, gapMs: number) {
    this.#socket = socket;
    this.#gapMs = gapMs;
    socket.setEncoding('latin1');
    socket.on('data', (s: string) => this.#onData(s));
    socket.on('error', () => {}); // 'close' follows; stop() reports what was measured
  }

  static start(port: number, gapMs = 10): Promise<PingProbe> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1' });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`no connection to 127.0.0.1:${port} within 5000 ms`));
      }, 5000);
      s.once('connect', () => {
        clearTimeout(timer);
        s.setNoDelay(true);
        const p = new PingProbe(s, gapMs);
        p.#send();
        resolve(p);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  #send(): void {
    if (this.#stopped) return;
    this.#sentAt = performance.now();
    this.#outstanding = true;
    this.#socket.write('*1\r\n$4\r\nPING\r\n');
  }

  #onData(s: string): void {
    this.#buffer += s;
    for (let nl = this.#buffer.indexOf('\n'); nl !== -1; nl = this.#buffer.indexOf('\n')) {
      const line = this.#buffer.slice(0, nl).trim();
      this.#buffer = this.#buffer.slice(nl + 1);
      if (line !== '+PONG') this.#unexpected ??= line.slice(0, 200);
      this.#outstanding = false;
      this.#record(performance.now() - this.#sentAt);
      this.#timer = setTimeout(() => this.#send(), this.#gapMs);
    }
  }

  #record(ms: number): void {
    this.#pings++;
    if (ms > this.#maxMs) this.#maxSentAtMs = this.#sentAt;
    this.#maxMs = Math.max(this.#maxMs, ms);
    this.#hist[Math.min(BUCKETS, Math.floor(ms))]!++;
  }

  /** Stops probing; a PING still unanswered counts with its age so far (a stall in progress). */
  stop(): PingStats {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#outstanding) this.#record(performance.now() - this.#sentAt);
    this.#socket.destroy();
    let seen = 0;
    let p99 = NaN;
    for (let b = 0; b <= BUCKETS; b++) {
      seen += this.#hist[b]!;
      if (seen >= this.#pings * 0.99) {
        p99 = b + 1; // the bucket's upper edge
        break;
      }
    }
    let over100 = 0;
    for (let b = 100; b <= BUCKETS; b++) over100 += this.#hist[b]!;
    return { pings: this.#pings, maxMs: this.#maxMs, p99Ms: p99, over100Ms: over100, maxSentAtMs: this.#maxSentAtMs, unexpected: this.#unexpected };
  }
}
