// A raw RESP connection for integration tests: sends exact bytes or encoded commands,
// hands back typed replies in order, and records every received byte (bounded) so a
// test can compare two servers' answers byte for byte. Every read has a deadline.

import { connect, type Socket } from 'node:net';
import { decodeReply, encodeCommand, type Arg, type Reply } from './resp_reply.ts';
import { within } from './wait.ts';

const READ_TIMEOUT_MS = 10_000;
const RECORD_BYTES_MAX = 1024 * 1024;

export class RespConn {
  readonly port: number;
  readonly #socket: Socket;
  readonly #replies: Reply[] = [];
  #waiter: (() => void) | null = null;
  #buf: Buffer = Buffer.alloc(0);
  #chunks: Buffer[] = [];
  #buffered = 0;
  #need = 0;
  #recorded: Buffer[] = [];
  #recordedBytes = 0;
  #closed = false;
  #decodeError: Error | null = null;
  readonly closed: Promise<void>;

  private constructor(port: number, socket: Socket) {
    this.port = port;
    this.#socket = socket;
    socket.on('data', (d: Buffer) => this.#onData(d));
    this.closed = new Promise((res) => {
      socket.once('close', () => {
        this.#closed = true;
        this.#wake();
        res();
      });
    });
    socket.on('error', () => {
      // ECONNRESET and friends end up as 'close'; the reading side reports it.
    });
  }

  static async open(port: number, timeoutMs = 5000): Promise<RespConn> {
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await within(
      new Promise<void>((res, rej) => {
        socket.once('connect', res);
        socket.once('error', rej);
      }),
      `connect to port ${port}`,
      timeoutMs,
    );
    return new RespConn(port, socket);
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Everything received so far (up to 1 MiB). */
  get received(): Buffer {
    return Buffer.concat(this.#recorded);
  }

  send(...args: Arg[]): void {
    this.#socket.write(encodeCommand(args));
  }

  sendRaw(bytes: Buffer | string): void {
    this.#socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /** The next reply; rejects after `timeoutMs` or when the connection closes first. */
  async read(timeoutMs = READ_TIMEOUT_MS): Promise<Reply> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.#decodeError) throw this.#decodeError;
      const r = this.#replies.shift();
      if (r !== undefined) return r;
      if (this.#closed) throw new ConnectionClosedError(`connection to port ${this.port} closed while waiting for a reply`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for a reply from port ${this.port}`);
      await new Promise<void>((res) => {
        const timer = setTimeout(res, left);
        this.#waiter = () => {
          clearTimeout(timer);
          res();
        };
      });
      this.#waiter = null;
    }
  }

  async call(...args: Arg[]): Promise<Reply> {
    this.send(...args);
    return this.read();
  }

  /** True when no reply is buffered (use after a marker reply to check nothing else came). */
  get pendingReplies(): number {
    return this.#replies.length;
  }

  /** Waits until the server closes the connection (bounded). */
  async waitClosed(timeoutMs = READ_TIMEOUT_MS): Promise<void> {
    await within(this.closed, `port ${this.port} to close the connection`, timeoutMs);
  }

  /** Half-close: the server sees end of input after the bytes sent so far. */
  endInput(): void {
    this.#socket.end();
  }

  close(): void {
    this.#socket.destroy();
  }

  #onData(d: Buffer): void {
    if (this.#recordedBytes < RECORD_BYTES_MAX) {
      this.#recorded.push(d);
      this.#recordedBytes += d.length;
    }
    this.#chunks.push(d);
    this.#buffered += d.length;
    if (this.#buffered < this.#need) return;
    this.#buf = Buffer.concat([this.#buf, ...this.#chunks]);
    this.#chunks = [];
    let pos = 0;
    try {
      for (;;) {
        if (pos >= this.#buf.length) break;
        const step = decodeReply(this.#buf, pos);
        if ('need' in step) {
          this.#need = step.need - pos;
          break;
        }
        this.#replies.push(step.reply);
        pos = step.end;
      }
    } catch (e) {
      this.#decodeError = e as Error;
    }
    this.#buf = this.#buf.subarray(pos);
    this.#buffered = this.#buf.length;
    if (this.#buf.length === 0) this.#need = 0;
    this.#wake();
  }

  #wake(): void {
    this.#waiter?.();
  }
}

export class ConnectionClosedError extends Error {}
