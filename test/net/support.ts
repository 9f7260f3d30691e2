// Test helpers for src/net: a toy executor, a raw TCP client that records bytes,
// a capturing logger, and bounded condition waits (never sleeps).
// Must not reach into net internals: tests observe through sockets, sessions and stats.

import { connect } from 'node:net';
import { waitUntil, within as withinDeadline } from '../support/wait.ts';
import type { Socket } from 'node:net';
import type { Reply } from '../../protocol/index.ts';
import { NoReply, RespServer } from '../../src/net/index.ts';
import type { ExecResult, Executor, Logger, ServerOptions, Session } from '../../src/net/index.ts';

const WAIT_MS_DEFAULT = 5000;
const POLL_MS = 2;

/** Polls `condition` until true; fails with `what` after `timeoutMs`. */
export const waitFor = (condition: () => boolean, what: string, timeoutMs = WAIT_MS_DEFAULT): Promise<void> =>
  waitUntil(condition, what, timeoutMs, 1);

export const within = <T>(promise: Promise<T>, what: string, timeoutMs = WAIT_MS_DEFAULT): Promise<T> =>
  withinDeadline(promise, what, timeoutMs);

export interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Record<string, unknown> | undefined;
}

export function captureLogger(): Logger & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (message, fields) => void lines.push({ level: 'info', message, fields }),
    warn: (message, fields) => void lines.push({ level: 'warn', message, fields }),
    error: (message, fields) => void lines.push({ level: 'error', message, fields }),
  };
}

const bulk = (value: string | Uint8Array): Reply => ({ type: 'bulk', value });
const ok: Reply = { type: 'simple', value: 'OK' };

/**
 * Commands: PING, ECHO x, ARGS a b… (array of args), DELAY key (a promise the test
 * settles with `release`), HELLO [2|3] (`nohello` answers NOPROTO), QUIT, SILENT
 * (NoReply), BIG i bytes, NULL, AUTH, THROW, REJECT, INFO, CLIENT/SELECT (+OK).
 */
export class ToyExecutor implements Executor {
  readonly calls: string[] = [];
  readonly closedSessions: number[] = [];
  readonly #delayed = new Map<string, (result: ExecResult) => void>();
  readonly #noHello: boolean;

  constructor(options: { readonly noHello?: boolean } = {}) {
    this.#noHello = options.noHello ?? false;
  }

  /** Keys of DELAY commands waiting for `release`. */
  get delayed(): string[] {
    return [...this.#delayed.keys()];
  }

  release(key: string, result: ExecResult = bulk(key)): void {
    const resolve = this.#delayed.get(key);
    if (resolve === undefined) throw new Error(`no DELAY ${key} pending`);
    this.#delayed.delete(key);
    resolve(result);
  }

  execute(session: Session, args: Buffer[]): ExecResult | Promise<ExecResult> {
    const name = args[0]!.toString().toLowerCase();
    const rest = args.slice(1).map((arg) => arg.toString());
    this.calls.push([name, ...rest].join(' '));
    switch (name) {
      case 'ping': return { type: 'simple', value: 'PONG' };
      case 'echo': return bulk(args[1] ?? '');
      case 'args': return { type: 'array', items: args.slice(1).map(bulk) };
      case 'delay': {
        const key = rest[0] ?? '';
        return new Promise((resolve) => this.#delayed.set(key, resolve));
      }
      case 'hello': return this.#hello(session, rest[0]);
      case 'quit':
        session.closeAfterReply();
        return ok;
      case 'silent': return NoReply;
      case 'big': {
        const bytes = Number(rest[1]);
        const value = Buffer.alloc(bytes, 0x2e);
        value.write(`${rest[0]}:`);
        return bulk(value);
      }
      case 'null': return { type: 'null' };
      case 'auth':
        session.authenticated = true;
        return ok;
      case 'throw': throw new Error('toy bug');
      case 'reject': return Promise.reject(new Error('toy async bug'));
      case 'info': return bulk('# Server\r\nloading:0\r\n');
      case 'client':
      case 'select':
        return ok;
      default: return { type: 'error', message: `ERR unknown command '${name}'` };
    }
  }

  sessionClosed(session: Session): void {
    this.closedSessions.push(session.id);
  }

  #hello(session: Session, version: string | undefined): ExecResult {
    if (this.#noHello) return { type: 'error', message: 'NOPROTO unsupported protocol version' };
    if (version === '3') session.protocol = 3;
    if (version === '2') session.protocol = 2;
    return {
      type: 'map',
      entries: [
        [bulk('server'), bulk('toy')],
        [bulk('proto'), { type: 'integer', value: session.protocol }],
      ],
    };
  }
}

/** A server on 127.0.0.1 with an ephemeral port. */
export async function startServer(
  options: Partial<ServerOptions> = {},
  executor: Executor = new ToyExecutor(),
): Promise<{ server: RespServer; port: number; logger: ReturnType<typeof captureLogger> }> {
  const logger = captureLogger();
  const server = new RespServer({ host: '127.0.0.1', ...options, port: 0 }, executor, logger);
  const { port } = await server.listen();
  return { server, port, logger };
}

/** A TCP client that records everything it receives. */
export class RawClient {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  #chunks: Buffer[] = [];
  #length = 0;
  #isClosed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#length += chunk.length;
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.#isClosed = true;
        resolve();
      });
    });
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port });
    await within(
      new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      }),
      'connect',
    );
    return new RawClient(socket);
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  get receivedBytes(): number {
    return this.#length;
  }

  received(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0] ?? Buffer.alloc(0);
  }

  text(): string {
    return this.received().toString('latin1');
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Waits until `bytes` bytes have arrived. */
  async waitForBytes(bytes: number, timeoutMs?: number): Promise<void> {
    await waitFor(() => this.#length >= bytes || this.#isClosed, `${bytes} bytes (have ${this.#length})`, timeoutMs);
  }

  /** Waits until at least as many bytes as `expected` arrived and returns what did. */
  async expect(expected: string, timeoutMs?: number): Promise<string> {
    await this.waitForBytes(Buffer.byteLength(expected, 'latin1'), timeoutMs);
    return this.text();
  }

  async waitClosed(timeoutMs?: number): Promise<void> {
    await within(this.closed, 'client socket to close', timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Encodes a command as a RESP multibulk. */
export function command(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** The one session of a server that has exactly one, once it is connected. */
export async function onlySession(server: RespServer): Promise<Session> {
  await waitFor(() => [...server.sessions()].length === 1, 'one session');
  return [...server.sessions()][0]!;
}
