// Fills a RESP server with `SET <prefix><i> <value(i)>` for i in [0, keys) as fast as
// it takes them: a few raw sockets, each with a bounded window of pipelined SETs in
// flight, written in batches. Only for commands whose every reply is one line (`+OK`
// or an error), so replies are counted by line ends, not parsed. Stops at its deadline
// or when the caller says it has enough (then reports how many were acknowledged), or
// at the first error reply.
// Bounded: connections × windowCommands SETs in flight, one batch buffer per write.

import { connect, type Socket } from 'node:net';

export interface FillOptions {
  readonly port: number;
  readonly keys: number;
  readonly keyOf: (i: number) => string;
  /** ASCII only: its length is its byte length. */
  readonly valueOf: (i: number) => string;
  readonly connections?: number;
  /** SETs in flight per connection. */
  readonly windowCommands?: number;
  /** SETs per socket write. */
  readonly batchCommands?: number;
  readonly deadlineMs: number;
  /** Called about once a second with the keys acknowledged so far. */
  readonly onProgress?: (acked: number, elapsedMs: number) => void;
  /** Polled about once a second: true stops sending (e.g. the state reached a target size). */
  readonly enough?: () => boolean;
}

export interface FillResult {
  /** +OK replies received (an error reply makes fill() throw). Equals `sent` on return: keys 0 .. sent-1 are set. */
  readonly acked: number;
  readonly sent: number;
  readonly elapsedMs: number;
  readonly valueBytes: number;
  readonly completed: boolean;
}

const CONNECT_MS_MAX = 5000;

export async function fill(opts: FillOptions): Promise<FillResult> {
  const connections = opts.connections ?? 4;
  const window = opts.windowCommands ?? 512;
  const batch = Math.min(opts.batchCommands ?? 64, window);
  let next = 0;
  let acked = 0;
  let valueBytes = 0;
  const t0 = performance.now();
  const stopAt = t0 + opts.deadlineMs;
  let enough = false;
  const progress = setInterval(() => {
    opts.onProgress?.(acked, performance.now() - t0);
    enough ||= opts.enough?.() ?? false;
  }, 1000);
  const encode = (i: number): string => {
    const k = opts.keyOf(i);
    const v = opts.valueOf(i);
    valueBytes += v.length;
    return `*3\r\n$3\r\nSET\r\n$${Buffer.byteLength(k)}\r\n${k}\r\n$${v.length}\r\n${v}\r\n`;
  };

  const run = async (): Promise<void> => {
    const socket = await open(opts.port);
    let inFlight = 0;
    let tail = '';
    let failure: Error | null = null;
    let wake: (() => void) | null = null;
    const signal = (): void => {
      const w = wake;
      wake = null;
      w?.();
    };
    socket.setEncoding('latin1');
    socket.on('data', (s: string) => {
      const text = tail + s;
      let start = 0;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
        if (text.charCodeAt(start) === 0x2d /* - */ && failure === null) failure = new Error(`error reply: ${text.slice(start, nl).trim()}`);
        inFlight--;
        acked++;
        start = nl + 1;
      }
      tail = text.slice(start);
      signal();
    });
    socket.on('close', () => {
      failure ??= new Error('connection closed');
      signal();
    });
    socket.on('error', (e) => (failure ??= e));
    try {
      for (;;) {
        if (failure !== null) throw failure;
        const done = enough || next >= opts.keys || performance.now() > stopAt;
        if (done && inFlight === 0) return;
        if (!done && inFlight + batch <= window) {
          let chunk = '';
          for (let n = 0; n < batch && next < opts.keys; n++, inFlight++) chunk += encode(next++);
          if (!socket.write(chunk, 'latin1')) await new Promise<void>((r) => socket.once('drain', () => r()));
          continue;
        }
        // Wait for replies; the deadline check above bounds the waiting for new work only.
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 1000).unref();
        });
        if (done && performance.now() > stopAt + 30_000) throw new Error(`${inFlight} SETs unanswered 30 s after the deadline`);
      }
    } finally {
      socket.destroy();
    }
  };

  try {
    await Promise.all(Array.from({ length: connections }, run));
  } finally {
    clearInterval(progress);
  }
  return { acked, sent: next, elapsedMs: performance.now() - t0, valueBytes, completed: next >= opts.keys };
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no connection to 127.0.0.1:${port} within ${CONNECT_MS_MAX} ms`));
    }, CONNECT_MS_MAX);
    s.once('connect', () => {
      clearTimeout(timer);
      s.setNoDelay(true);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
