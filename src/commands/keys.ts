// The generic keyspace family: DEL, EXISTS, TYPE, KEYS, SCAN, RANDOMKEY, RENAME,
// COPY, MOVE, the EXPIRE family, TTLs, PERSIST, TOUCH. Parsing mirrors Redis's
// order of checks; writes run at apply time with the entry's time and index.

import type { Reply } from '../../protocol/index.ts';
import { deadline } from '../state/deadline.ts';
import { intArg, is, parseInt64 } from './args.ts';
import { cText, errors, isRedisError, type RedisError } from './errors.ts';
import { array, bulk, bulks, int, nil, OK } from './replies.ts';
import { defineCommand, type CommandSpec, type ReadCtx } from './spec.ts';

export const DATABASES = 16;
const docs = (summary: string, since: string, complexity = 'O(1)') => ({ summary, since, group: 'generic', complexity });
const key1 = { first: 1, last: 1, step: 1 };
const allKeys = { first: 1, last: -1, step: 1 };
const keyList = (a: readonly Buffer[]): readonly Buffer[] => a.slice(1);

/**
 * A DB index argument as Redis's getIntFromObjectOrReply reads it: an int64 (else "not an
 * integer"), then an int32 (else its own range error), then in range (else "DB index is out of range").
 */
export function dbArg(b: Buffer): number | RedisError {
  const v = intArg(b);
  if (isRedisError(v)) return v;
  if (v < -2147483648 || v > 2147483647) return errors.custom('ERR value is out of range, value must between -2147483648 and 2147483647');
  return v < 0 || v >= DATABASES ? errors.dbIndexOutOfRange() : v;
}

export const del = defineCommand<readonly Buffer[]>({
  name: 'del', arity: -2, flags: ['write'], keys: allKeys, aclCategories: ['keyspace', 'write', 'slow'],
  docs: docs('Deletes one or more keys.', '1.0.0', 'O(N) where N is the number of keys that will be removed.'),
  parse: keyList,
  exec: { kind: 'write', run: (ctx, keys) => int(keys.filter((k) => ctx.ks.delete(ctx.db, k, ctx.nowMs, ctx.index)).length) },
});

export const unlink = defineCommand<readonly Buffer[]>({
  ...del,
  name: 'unlink', flags: ['write', 'fast'], aclCategories: ['keyspace', 'write', 'fast'],
  docs: docs('Asynchronously deletes one or more keys.', '4.0.0', 'O(1) for each key removed regardless of its size.'),
} as never);

export const exists = defineCommand<readonly Buffer[]>({
  name: 'exists', arity: -2, flags: ['readonly', 'fast'], keys: allKeys, aclCategories: ['keyspace', 'read', 'fast'],
  docs: docs('Determines whether one or more keys exist.', '1.0.0', 'O(N) where N is the number of keys to check.'),
  parse: keyList,
  exec: { kind: 'read', run: (ctx, keys) => int(keys.filter((k) => ctx.ks.exists(ctx.db, k, ctx.nowMs)).length) },
});

export const touch = defineCommand<readonly Buffer[]>({
  ...exists,
  name: 'touch',
  docs: docs('Returns the number of existing keys out of those specified after updating the time they were last accessed.', '3.2.1', 'O(N) where N is the number of keys that will be touched.'),
} as never);

export const type = defineCommand<Buffer>({
  name: 'type', arity: 2, flags: ['readonly', 'fast'], keys: key1, aclCategories: ['keyspace', 'read', 'fast'],
  docs: docs('Determines the type of value stored at a key.', '1.0.0'),
  parse: (a) => a[1]!,
  exec: { kind: 'read', run: (ctx, key) => ({ type: 'simple', value: ctx.ks.typeOf(ctx.db, key, ctx.nowMs) ?? 'none' }) },
});

export const keys = defineCommand<Buffer>({
  name: 'keys', arity: 2, flags: ['readonly'], keys: null, aclCategories: ['keyspace', 'read', 'slow', 'dangerous'],
  docs: docs('Returns all key names that match a pattern.', '1.0.0', 'O(N) with N being the number of keys in the database'),
  parse: (a) => a[1]!,
  exec: { kind: 'read', run: (ctx, pattern) => bulks(ctx.ks.keys(ctx.db, pattern, ctx.nowMs)) },
});

interface ScanArgs {
  readonly cursor: number;
  readonly match: Buffer | null;
  readonly count: number;
  readonly type: string | null;
}

const UINT64_MAX = 18446744073709551615n;

/**
 * Redis parseScanCursorOrReply: strtoul without leading space and with nothing after
 * the digits, so "" is cursor 0, "+5" is 5 and "-1" wraps to 2^64-1; out of range is an error.
 */
function scanCursor(b: Buffer): number | RedisError {
  const s = b.toString('latin1');
  if (s === '') return 0;
  const m = /^([+-]?)(\d+)$/.exec(s);
  if (!m) return errors.invalidCursor();
  const v = BigInt(m[2]!);
  if (v > UINT64_MAX) return errors.invalidCursor();
  const cursor = m[1] === '-' && v !== 0n ? UINT64_MAX + 1n - v : v;
  return Number(cursor > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : cursor);
}

export const scan = defineCommand<ScanArgs>({
  name: 'scan', arity: -2, flags: ['readonly'], keys: null, aclCategories: ['keyspace', 'read', 'slow'],
  docs: docs('Iterates over the key names in the database.', '2.8.0', 'O(1) for every call. O(N) for a complete iteration.'),
  parse: (a) => {
    const cursor = scanCursor(a[1]!);
    if (isRedisError(cursor)) return cursor;
    let match: Buffer | null = null;
    let count = 10;
    let type: string | null = null;
    for (let i = 2; i < a.length; i += 2) {
      const opt = a[i]!;
      const v = a[i + 1];
      if (v === undefined) return errors.syntax();
      if (is(opt, 'count')) {
        const n = intArg(v);
        if (isRedisError(n)) return n;
        if (n < 1) return errors.syntax();
        count = n;
      } else if (is(opt, 'match')) match = v;
      else if (is(opt, 'type')) type = v.toString('latin1').toLowerCase();
      else return errors.syntax();
    }
    return { cursor, match, count, type };
  },
  exec: {
    kind: 'read',
    run: (ctx, p) => {
      // Redis matches "*" without the glob engine; so do we (same result, less work).
      const match = p.match !== null && !(p.match.length === 1 && p.match[0] === 42) ? p.match : null;
      const page = ctx.ks.scan(ctx.db, p.cursor, p.count, match, p.type, ctx.nowMs);
      return array([bulk(String(page.cursor)), bulks(page.keys)]);
    },
  },
});

export const randomkey = defineCommand<null>({
  name: 'randomkey', arity: 1, flags: ['readonly'], keys: null, aclCategories: ['keyspace', 'read', 'slow'],
  docs: docs('Returns a random key name from the database.', '1.0.0'),
  parse: () => null,
  exec: { kind: 'read', run: (ctx) => { const k = ctx.ks.randomKey(ctx.db, ctx.nowMs, ctx.random()); return k === null ? nil : bulk(k); } },
});

function renameCommand(name: 'rename' | 'renamenx'): CommandSpec {
  return defineCommand<{ src: Buffer; dst: Buffer }>({
    name, arity: 3, flags: name === 'rename' ? ['write'] : ['write', 'fast'], keys: { first: 1, last: 2, step: 1 },
    aclCategories: ['keyspace', 'write', name === 'rename' ? 'slow' : 'fast'],
    docs: docs(name === 'rename' ? 'Renames a key and overwrites the destination.' : 'Renames a key only when the target key name doesn\'t exist.', '1.0.0'),
    parse: (a) => ({ src: a[1]!, dst: a[2]! }),
    exec: {
      kind: 'write',
      run: (ctx, p) => {
        const r = ctx.ks.rename(ctx.db, p.src, p.dst, name === 'rename' ? 'replace' : 'nx', ctx.nowMs, ctx.index);
        switch (r) {
          case 'no_such_key':
            return errors.noSuchKey().reply();
          case 'same_key':
            return name === 'rename' ? OK : int(0);
          case 'target_exists':
            return int(0);
          case 'renamed':
            return name === 'rename' ? OK : int(1);
          default: {
            const never: never = r;
            throw new Error(`unexpected rename result ${String(never)}`);
          }
        }
      },
    },
  });
}

export const rename = renameCommand('rename');
export const renamenx = renameCommand('renamenx');

export const copy = defineCommand<{ src: Buffer; dst: Buffer; db: number | null; replace: boolean }>({
  name: 'copy', arity: -3, flags: ['write', 'denyoom'], keys: { first: 1, last: 2, step: 1 }, aclCategories: ['keyspace', 'write', 'slow'],
  docs: docs('Copies the value of a key to a new key.', '6.2.0', 'O(N) worst case for collections, where N is the number of nested items. O(1) for string values.'),
  parse: (a) => {
    let db: number | null = null;
    let replace = false;
    for (let i = 3; i < a.length; i++) {
      if (is(a[i], 'replace')) replace = true;
      else if (is(a[i], 'db') && a[i + 1] !== undefined) {
        const v = dbArg(a[++i]!);
        if (isRedisError(v)) return v;
        db = v;
      } else return errors.syntax();
    }
    return { src: a[1]!, dst: a[2]!, db, replace };
  },
  exec: {
    kind: 'write',
    run: (ctx, p) => {
      const r = ctx.ks.copy(ctx.db, p.src, p.db ?? ctx.db, p.dst, p.replace, ctx.nowMs, ctx.index);
      if (r === 'same_object') return errors.sameObject().reply();
      return int(r === 'copied' ? 1 : 0);
    },
  },
});

export const move = defineCommand<{ key: Buffer; db: number }>({
  name: 'move', arity: 3, flags: ['write', 'fast'], keys: key1, aclCategories: ['keyspace', 'write', 'fast'],
  docs: docs('Moves a key to another database.', '1.0.0'),
  parse: (a) => {
    const db = dbArg(a[2]!);
    return isRedisError(db) ? db : { key: a[1]!, db };
  },
  exec: {
    kind: 'write',
    run: (ctx, p) => {
      const r = ctx.ks.move(ctx.db, p.key, p.db, ctx.nowMs, ctx.index);
      if (r === 'same_object') return errors.sameObject().reply();
      return int(r === 'moved' ? 1 : 0);
    },
  },
});

// ---- expiry ----

type ExpireCond = 'nx' | 'xx' | 'gt' | 'lt' | null;

interface ExpireArgs {
  readonly key: Buffer;
  readonly when: bigint;
  readonly conds: ReadonlySet<Exclude<ExpireCond, null>>;
}

function expireCommand(name: string, unit: 's' | 'ms', absolute: boolean, summary: string, since: string): CommandSpec {
  return defineCommand<ExpireArgs>({
    name, arity: -3, flags: ['write', 'fast'], keys: key1, aclCategories: ['keyspace', 'write', 'fast'],
    docs: docs(summary, since),
    parse: (a) => {
      const conds = new Set<Exclude<ExpireCond, null>>();
      for (let i = 3; i < a.length; i++) {
        const o = a[i]!;
        if (is(o, 'nx')) conds.add('nx');
        else if (is(o, 'xx')) conds.add('xx');
        else if (is(o, 'gt')) conds.add('gt');
        else if (is(o, 'lt')) conds.add('lt');
        else return errors.custom(`ERR Unsupported option ${cText(o)}`);
      }
      if (conds.has('nx') && (conds.has('xx') || conds.has('gt') || conds.has('lt'))) {
        return errors.custom('ERR NX and XX, GT or LT options at the same time are not compatible');
      }
      if (conds.has('gt') && conds.has('lt')) return errors.custom('ERR GT and LT options at the same time are not compatible');
      const when = parseInt64(a[2]!);
      if (when === null) return errors.notInteger();
      if (unit === 's' && (when > 9223372036854775807n / 1000n || when < -9223372036854775808n / 1000n)) return errors.invalidExpire(name);
      return { key: a[1]!, when, conds };
    },
    exec: {
      kind: 'write',
      run: (ctx, p) => {
        let when = unit === 's' ? p.when * 1000n : p.when;
        if (!absolute) {
          if (when > 9223372036854775807n - BigInt(ctx.nowMs)) return errors.invalidExpire(name).reply();
          when += BigInt(ctx.nowMs);
        }
        const e = ctx.ks.lookup(ctx.db, p.key, ctx.nowMs);
        if (e === null) return int(0);
        const cur = e.expiresAtMs;
        // A deadline not after now deletes the key (setExpiry), whatever it is.
        const w = when > 0n ? deadline(when) : Number(when);
        if (p.conds.has('nx') && cur !== null) return int(0);
        if (p.conds.has('xx') && cur === null) return int(0);
        if (p.conds.has('gt') && (cur === null || w <= cur)) return int(0);
        if (p.conds.has('lt') && cur !== null && w >= cur) return int(0);
        ctx.ks.setExpiry(ctx.db, p.key, w, ctx.nowMs, ctx.index);
        return int(1);
      },
    },
  });
}

export const expire = expireCommand('expire', 's', false, 'Sets the expiration time of a key in seconds.', '1.0.0');
export const pexpire = expireCommand('pexpire', 'ms', false, 'Sets the expiration time of a key in milliseconds.', '2.6.0');
export const expireat = expireCommand('expireat', 's', true, 'Sets the expiration time of a key to a Unix timestamp.', '1.2.0');
export const pexpireat = expireCommand('pexpireat', 'ms', true, 'Sets the expiration time of a key to a Unix milliseconds timestamp.', '2.6.0');

function ttlCommand(name: string, summary: string, since: string, render: (ctx: ReadCtx, expiresAtMs: bigint) => bigint): CommandSpec {
  return defineCommand<Buffer>({
    name, arity: 2, flags: ['readonly', 'fast'], keys: key1, aclCategories: ['keyspace', 'read', 'fast'],
    docs: docs(summary, since),
    parse: (a) => a[1]!,
    exec: {
      kind: 'read',
      run: (ctx, key): Reply => {
        const e = ctx.ks.lookup(ctx.db, key, ctx.nowMs);
        if (e === null) return int(-2);
        if (e.expiresAtMs === null) return int(-1);
        // In int64 arithmetic, as Redis's, so deadlines beyond 2^53 ms come out exact.
        const r = render(ctx, BigInt(e.expiresAtMs));
        return int(r <= MAX_SAFE ? Number(r) : r);
      },
    },
  });
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const remaining = (ctx: ReadCtx, at: bigint): bigint => {
  const left = at - BigInt(ctx.nowMs);
  return left > 0n ? left : 0n;
};
export const ttl = ttlCommand('ttl', 'Returns the expiration time in seconds of a key.', '1.0.0', (ctx, at) => (remaining(ctx, at) + 500n) / 1000n);
export const pttl = ttlCommand('pttl', 'Returns the expiration time in milliseconds of a key.', '2.6.0', remaining);
// Rounded to the nearest second, as Redis's ttlGenericCommand does for EXPIRETIME too.
export const expiretime = ttlCommand('expiretime', 'Returns the expiration time of a key as a Unix timestamp.', '7.0.0', (_ctx, at) => (at + 500n) / 1000n);
export const pexpiretime = ttlCommand('pexpiretime', 'Returns the expiration time of a key as a Unix milliseconds timestamp.', '7.0.0', (_ctx, at) => at);

export const persist = defineCommand<Buffer>({
  name: 'persist', arity: 2, flags: ['write', 'fast'], keys: key1, aclCategories: ['keyspace', 'write', 'fast'],
  docs: docs('Removes the expiration time of a key.', '2.2.0'),
  parse: (a) => a[1]!,
  exec: { kind: 'write', run: (ctx, key) => int(ctx.ks.setExpiry(ctx.db, key, null, ctx.nowMs, ctx.index) ? 1 : 0) },
});

export const keyCommands: readonly CommandSpec[] = [
  del, unlink, exists, touch, type, keys, scan, randomkey, rename, renamenx, copy, move,
  expire, pexpire, expireat, pexpireat, ttl, pttl, expiretime, pexpiretime, persist,
];
