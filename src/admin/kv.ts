// The key/value half of the HTTP API: /api/set, /api/get, /api/list, /api/delete.
// Every operation is an ordinary command run through the dispatcher on a session made
// for the request, exactly as a RESP client's would be: writes are proposed to Raft
// (forwarded by a follower), reads wait for a linearizable read point.

import type { Reply } from '../../protocol/index.ts';
import { NoReply, type ExecResult, type Executor } from '../net/types.ts';
import { Session } from '../net/session.ts';
import { HttpError } from './http_error.ts';

/** A command that takes longer gets 504 (its fate, for a write, is then unknown). */
export const COMMAND_TIMEOUT_MS = 15_000;
export const LIST_LIMIT_DEFAULT = 1000;
export const LIST_LIMIT_MAX = 10_000;
/** Keys examined per SCAN round trip of /api/list. */
const LIST_SCAN_COUNT = 1000;
const MGET_BATCH = 500;

export class CommandRunner {
  readonly #executor: Executor;
  readonly #requirePass: string | null;
  /**
   * Session ids for HTTP requests, far above the ids net gives connections (which count
   * from 1), so the two never meet; each request gets a fresh one.
   */
  #nextSessionId = 2 ** 40;

  constructor(executor: Executor, requirePass: string | null) {
    this.#executor = executor;
    this.#requirePass = requirePass;
  }

  /** A session for one request; authenticated when no password is set or the request carries it. */
  session(password: string | null, addr: string): Session {
    return new Session({
      id: this.#nextSessionId++,
      addr,
      createdAtMs: Date.now(),
      authenticated: this.#requirePass === null || password === this.#requirePass,
    });
  }

  /** Runs one command; an error reply becomes an HttpError with a status that says what to do. */
  async run(session: Session, args: readonly (string | Buffer)[]): Promise<Reply> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HttpError(504, `${String(args[0])} did not complete within ${COMMAND_TIMEOUT_MS} ms; a write's outcome is unknown`)), COMMAND_TIMEOUT_MS);
    });
    let r: ExecResult;
    try {
      r = await Promise.race([Promise.resolve(this.#executor.execute(session, args.map((a) => (typeof a === 'string' ? Buffer.from(a) : a)))), timeout]);
    } finally {
      clearTimeout(timer);
    }
    if (r === NoReply) throw new Error(`${String(args[0])} produced no reply`);
    if (r.type === 'error') throw new HttpError(statusOfError(r.message), r.message);
    return r;
  }

  close(session: Session): void {
    this.#executor.sessionClosed?.(session);
  }
}

/** TRYAGAIN / CLUSTERDOWN / LOADING: retry later (503); NOAUTH: 401; WRONGTYPE: 409; the rest 500. */
export function statusOfError(message: string): number {
  const code = message.split(' ', 1)[0];
  switch (code) {
    case 'TRYAGAIN':
    case 'CLUSTERDOWN':
    case 'LOADING':
      return 503;
    case 'NOAUTH':
      return 401;
    case 'WRONGTYPE':
      return 409;
    default:
      return 500;
  }
}

const text = (r: Reply): string | null => {
  switch (r.type) {
    case 'null':
      return null;
    case 'bulk':
      return typeof r.value === 'string' ? r.value : Buffer.from(r.value).toString('utf8');
    case 'simple':
      return r.value;
    default:
      throw new Error(`expected a bulk reply, got ${r.type}`);
  }
};

const integer = (r: Reply): number => {
  if (r.type !== 'integer') throw new Error(`expected an integer reply, got ${r.type}`);
  return Number(r.value);
};

const items = (r: Reply): readonly Reply[] => {
  if (r.type !== 'array') throw new Error(`expected an array reply, got ${r.type}`);
  return r.items;
};

export async function kvSet(c: CommandRunner, s: Session, key: string, value: string): Promise<{ success: true }> {
  await c.run(s, ['SET', key, value]);
  return { success: true };
}

export async function kvGet(c: CommandRunner, s: Session, key: string): Promise<{ value: string | null; found: boolean }> {
  const value = text(await c.run(s, ['GET', key]));
  return { value, found: value !== null };
}

export async function kvDelete(c: CommandRunner, s: Session, key: string): Promise<{ success: true; deleted: number }> {
  return { success: true, deleted: integer(await c.run(s, ['DEL', key])) };
}

/** Escapes glob specials so the prefix matches only itself. */
export const globEscape = (s: string): string => s.replace(/[*?[\]\\]/g, (ch) => `\\${ch}`);

/**
 * String keys starting with `prefix`, with their values, sorted by key: SCAN (MATCH
 * prefix*, TYPE string) until `limit` keys are found or the keyspace is done, then
 * MGET. Not one atomic snapshot: a key deleted between the two steps is left out.
 */
export async function kvList(c: CommandRunner, s: Session, prefix: string, limit: number): Promise<{ pairs: Array<{ key: string; value: string }>; truncated: boolean }> {
  const match = `${globEscape(prefix)}*`;
  const keys: Buffer[] = [];
  let cursor = '0';
  let truncated = false;
  do {
    const page = items(await c.run(s, ['SCAN', cursor, 'MATCH', match, 'COUNT', String(LIST_SCAN_COUNT), 'TYPE', 'string']));
    cursor = text(page[0]!) ?? '0';
    for (const k of items(page[1]!)) {
      if (keys.length === limit) {
        truncated = true;
        break;
      }
      if (k.type === 'bulk') keys.push(Buffer.from(k.value));
    }
  } while (cursor !== '0' && !truncated);
  if (cursor !== '0') truncated = true;
  const pairs: Array<{ key: string; value: string }> = [];
  for (let i = 0; i < keys.length; i += MGET_BATCH) {
    const chunk = keys.slice(i, i + MGET_BATCH);
    const values = items(await c.run(s, ['MGET', ...chunk]));
    chunk.forEach((k, j) => {
      const v = text(values[j]!);
      if (v !== null) pairs.push({ key: k.toString('utf8'), value: v });
    });
  }
  pairs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { pairs, truncated };
}
