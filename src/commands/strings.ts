// The string family: GET/SET and friends, counters, ranges. Parsing is separate
// from running; `run` of a write executes at apply time on every replica, so it
// depends only on its arguments, the keyspace, the entry's time and index.

import type { Reply } from '../../protocol/index.ts';
import { deadline } from '../state/deadline.ts';
import { STRING_TYPE } from '../state/key_rows.ts';
import type { ExpiryUpdate } from '../state/keyspace.ts';
import { bigIntArg, fitsInt64, intArg, is, parseInt64 } from './args.ts';
import { errors, isRedisError, RedisError } from './errors.ts';
import { formatIncrFloat, isLongDouble } from './long_double.ts';
import { bulk, int, nil, OK } from './replies.ts';
import { defineCommand, type CommandSpec, type ReadCtx, type WriteCtx } from './spec.ts';

export const STRING_BYTES_MAX = 512 * 1024 * 1024;

const docs = (summary: string, since: string, complexity = 'O(1)') => ({ summary, since, group: 'string', complexity });
const key1 = { first: 1, last: 1, step: 1 };

/** The string at `key`, null when absent, or WRONGTYPE. */
function getString(ctx: ReadCtx, key: Buffer): Buffer | null | RedisError {
  const e = ctx.ks.lookup(ctx.db, key, ctx.nowMs);
  if (e === null) return null;
  if (e.type !== STRING_TYPE) return errors.wrongType();
  return e.value ?? Buffer.alloc(0);
}

// ---- expiry options shared by SET and GETEX ----

type ExpiryOpt = { readonly unit: TimeUnit; readonly raw: Buffer } | { readonly unit: 'keepttl' | 'persist' } | null;

/** Redis getExpireMillisecondsOrReply: an absolute deadline in ms, or the error. */
function deadlineOf(opt: ExpiryOpt, nowMs: number, cmd: string): ExpiryUpdate | RedisError {
  if (opt === null) return null;
  if (!('raw' in opt)) return opt.unit === 'keepttl' ? 'keep' : null;
  const v = parseInt64(opt.raw);
  if (v === null) return errors.notInteger();
  if (v <= 0n) return errors.invalidExpire(cmd);
  const inSeconds = opt.unit === 'ex' || opt.unit === 'exat';
  if (inSeconds && v > 9223372036854775807n / 1000n) return errors.invalidExpire(cmd);
  let ms = inSeconds ? v * 1000n : v;
  if (opt.unit === 'ex' || opt.unit === 'px') {
    ms += BigInt(nowMs);
    if (!fitsInt64(ms)) return errors.invalidExpire(cmd);
  }
  return deadline(ms);
}

type TimeUnit = 'ex' | 'px' | 'exat' | 'pxat';

/** The expiry option `a` names, if any. */
function timeUnit(a: Buffer): TimeUnit | null {
  for (const u of ['ex', 'px', 'exat', 'pxat'] as const) if (is(a, u)) return u;
  return null;
}

/** Whether an expiry option of `unit` may follow `expiry`: none yet, or the same option again. */
const sameUnit = (expiry: ExpiryOpt, unit: TimeUnit | 'keepttl' | 'persist'): boolean => expiry === null || expiry.unit === unit;

/** Redis checkAlreadyExpired: a deadline not after now deletes the key instead. */
const alreadyExpired = (d: ExpiryUpdate, nowMs: number): boolean => d !== null && d !== 'keep' && d <= nowMs;

// ---- GET, SET and variants ----

interface SetArgs {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly cond: 'nx' | 'xx' | null;
  readonly get: boolean;
  readonly expiry: ExpiryOpt;
}

function parseSet(args: readonly Buffer[]): SetArgs | RedisError {
  let cond: SetArgs['cond'] = null;
  let get = false;
  let expiry: ExpiryOpt = null;
  for (let i = 3; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    // As Redis's parseExtendedStringArgumentsOrReply: an option may repeat (the last
    // value wins) but must not conflict with another one.
    if (is(a, 'nx') && cond !== 'xx') cond = 'nx';
    else if (is(a, 'xx') && cond !== 'nx') cond = 'xx';
    else if (is(a, 'get')) get = true;
    else if (is(a, 'keepttl') && sameUnit(expiry, 'keepttl')) expiry = { unit: 'keepttl' };
    else if (timeUnit(a) !== null && sameUnit(expiry, timeUnit(a)!) && next !== undefined) {
      expiry = { unit: timeUnit(a)!, raw: next };
      i++;
    } else return errors.syntax();
  }
  if (expiry !== null && expiry.unit !== 'keepttl') {
    // Validate the number now (not an integer / not positive); the deadline needs the entry's time.
    const check = deadlineOf(expiry, 0, 'set');
    if (isRedisError(check)) return check;
  }
  return { key: args[1]!, value: args[2]!, cond, get, expiry };
}

function runSet(ctx: WriteCtx, p: SetArgs): Reply {
  const deadline = deadlineOf(p.expiry, ctx.nowMs, 'set');
  if (isRedisError(deadline)) return deadline.reply();
  if (!p.get && p.cond === null) {
    // The common SET: nothing depends on the old value, so skip looking it up here.
    if (alreadyExpired(deadline, ctx.nowMs)) ctx.ks.delete(ctx.db, p.key, ctx.nowMs, ctx.index);
    else ctx.ks.setString(ctx.db, p.key, p.value, deadline, ctx.nowMs, ctx.index);
    return OK;
  }
  const old = ctx.ks.lookup(ctx.db, p.key, ctx.nowMs);
  if (p.get && old !== null && old.type !== STRING_TYPE) return errors.wrongType().reply();
  const oldReply = p.get ? (old === null ? nil : bulk(old.value ?? Buffer.alloc(0))) : null;
  if ((p.cond === 'nx' && old !== null) || (p.cond === 'xx' && old === null)) return oldReply ?? nil;
  if (alreadyExpired(deadline, ctx.nowMs)) ctx.ks.delete(ctx.db, p.key, ctx.nowMs, ctx.index);
  else ctx.ks.setString(ctx.db, p.key, p.value, deadline, ctx.nowMs, ctx.index);
  return oldReply ?? OK;
}

const keyOnly = (args: readonly Buffer[]): Buffer => args[1]!;

export const get = defineCommand<Buffer>({
  name: 'get', arity: 2, flags: ['readonly', 'fast'], keys: key1, aclCategories: ['read', 'string', 'fast'],
  docs: docs('Returns the string value of a key.', '1.0.0'),
  parse: keyOnly,
  exec: { kind: 'read', run: (ctx, key) => { const v = getString(ctx, key); return isRedisError(v) ? v.reply() : v === null ? nil : bulk(v); } },
});

export const set = defineCommand<SetArgs>({
  name: 'set', arity: -3, flags: ['write', 'denyoom'], keys: key1, aclCategories: ['write', 'string', 'slow'],
  docs: docs('Sets the string value of a key, ignoring its type. The key is created if it doesn\'t exist.', '1.0.0'),
  parse: parseSet,
  exec: { kind: 'write', run: runSet },
});

interface SetWithTtl { readonly key: Buffer; readonly value: Buffer; readonly raw: Buffer }

function setWithTtl(name: 'setex' | 'psetex', unit: 'ex' | 'px'): CommandSpec {
  return defineCommand<SetWithTtl>({
    name, arity: 4, flags: ['write', 'denyoom'], keys: key1, aclCategories: ['write', 'string', 'slow'],
    docs: docs(`Sets the string value and expiration time of a key. Creates the key if it doesn't exist.`, name === 'setex' ? '2.0.0' : '2.6.0'),
    parse: (args) => {
      const check = deadlineOf({ unit, raw: args[2]! }, 0, name);
      return isRedisError(check) ? check : { key: args[1]!, raw: args[2]!, value: args[3]! };
    },
    exec: {
      kind: 'write',
      run: (ctx, p) => {
        const d = deadlineOf({ unit, raw: p.raw }, ctx.nowMs, name);
        if (isRedisError(d)) return d.reply();
        ctx.ks.setString(ctx.db, p.key, p.value, d, ctx.nowMs, ctx.index);
        return OK;
      },
    },
  });
}

export const setex = setWithTtl('setex', 'ex');
export const psetex = setWithTtl('psetex', 'px');

export const setnx = defineCommand<{ key: Buffer; value: Buffer }>({
  name: 'setnx', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: key1, aclCategories: ['write', 'string', 'fast'],
  docs: docs('Set the string value of a key only when the key doesn\'t exist.', '1.0.0'),
  parse: (a) => ({ key: a[1]!, value: a[2]! }),
  exec: {
    kind: 'write',
    run: (ctx, p) => {
      if (ctx.ks.exists(ctx.db, p.key, ctx.nowMs)) return int(0);
      ctx.ks.setString(ctx.db, p.key, p.value, null, ctx.nowMs, ctx.index);
      return int(1);
    },
  },
});

export const getset = defineCommand<{ key: Buffer; value: Buffer }>({
  name: 'getset', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: key1, aclCategories: ['write', 'string', 'fast'],
  docs: docs('Returns the previous string value of a key after setting it to a new value.', '1.0.0'),
  parse: (a) => ({ key: a[1]!, value: a[2]! }),
  exec: {
    kind: 'write',
    run: (ctx, p) => {
      const old = getString(ctx, p.key);
      if (isRedisError(old)) return old.reply();
      ctx.ks.setString(ctx.db, p.key, p.value, null, ctx.nowMs, ctx.index);
      return old === null ? nil : bulk(old);
    },
  },
});

export const getdel = defineCommand<Buffer>({
  name: 'getdel', arity: 2, flags: ['write', 'fast'], keys: key1, aclCategories: ['write', 'string', 'fast'],
  docs: docs('Returns the string value of a key after deleting the key.', '6.2.0'),
  parse: keyOnly,
  exec: {
    kind: 'write',
    run: (ctx, key) => {
      const old = getString(ctx, key);
      if (isRedisError(old)) return old.reply();
      if (old === null) return nil;
      ctx.ks.delete(ctx.db, key, ctx.nowMs, ctx.index);
      return bulk(old);
    },
  },
});

export const getex = defineCommand<{ key: Buffer; expiry: ExpiryOpt }>({
  name: 'getex', arity: -2, flags: ['write', 'fast'], keys: key1, aclCategories: ['write', 'string', 'fast'],
  docs: docs('Returns the string value of a key after setting its expiration time.', '6.2.0'),
  parse: (args) => {
    let expiry: ExpiryOpt = null;
    for (let i = 2; i < args.length; i++) {
      const a = args[i]!;
      const next = args[i + 1];
      if (is(a, 'persist') && sameUnit(expiry, 'persist')) expiry = { unit: 'persist' };
      else if (timeUnit(a) !== null && sameUnit(expiry, timeUnit(a)!) && next !== undefined) {
        expiry = { unit: timeUnit(a)!, raw: next };
        i++;
      } else return errors.syntax();
    }
    // Unlike SET, Redis validates GETEX's time only after finding the key (a missing key
    // answers nil even for "EX abc"), so the value is checked at apply time.
    return { key: args[1]!, expiry };
  },
  exec: {
    kind: 'write',
    run: (ctx, p) => {
      const v = getString(ctx, p.key);
      if (isRedisError(v)) return v.reply();
      if (v === null || p.expiry === null) return v === null ? nil : bulk(v);
      const d = deadlineOf(p.expiry, ctx.nowMs, 'getex');
      if (isRedisError(d)) return d.reply();
      if (alreadyExpired(d, ctx.nowMs)) ctx.ks.delete(ctx.db, p.key, ctx.nowMs, ctx.index);
      else ctx.ks.setExpiry(ctx.db, p.key, d === 'keep' ? null : d, ctx.nowMs, ctx.index);
      return bulk(v);
    },
  },
});

export const mget = defineCommand<readonly Buffer[]>({
  name: 'mget', arity: -2, flags: ['readonly', 'fast'], keys: { first: 1, last: -1, step: 1 }, aclCategories: ['read', 'string', 'fast'],
  docs: docs('Atomically returns the string values of one or more keys.', '1.0.0', 'O(N) where N is the number of keys to retrieve.'),
  parse: (a) => a.slice(1),
  exec: {
    kind: 'read',
    run: (ctx, keys) => ({
      type: 'array',
      items: keys.map((k) => {
        const e = ctx.ks.lookup(ctx.db, k, ctx.nowMs);
        return e === null || e.type !== STRING_TYPE ? nil : bulk(e.value ?? Buffer.alloc(0));
      }),
    }),
  },
});

function parsePairs(name: string) {
  return (args: readonly Buffer[]): Array<[Buffer, Buffer]> | RedisError => {
    if (args.length % 2 === 0) return errors.wrongArity(name);
    const out: Array<[Buffer, Buffer]> = [];
    for (let i = 1; i < args.length; i += 2) out.push([args[i]!, args[i + 1]!]);
    return out;
  };
}

export const mset = defineCommand<Array<[Buffer, Buffer]>>({
  name: 'mset', arity: -3, flags: ['write', 'denyoom'], keys: { first: 1, last: -1, step: 2 }, aclCategories: ['write', 'string', 'slow'],
  docs: docs('Atomically creates or modifies the string values of one or more keys.', '1.0.1', 'O(N) where N is the number of keys to set.'),
  parse: parsePairs('mset'),
  exec: {
    kind: 'write',
    run: (ctx, pairs) => {
      for (const [k, v] of pairs) ctx.ks.setString(ctx.db, k, v, null, ctx.nowMs, ctx.index);
      return OK;
    },
  },
});

export const msetnx = defineCommand<Array<[Buffer, Buffer]>>({
  name: 'msetnx', arity: -3, flags: ['write', 'denyoom'], keys: { first: 1, last: -1, step: 2 }, aclCategories: ['write', 'string', 'slow'],
  docs: docs('Atomically modifies the string values of one or more keys only when all keys don\'t exist.', '1.0.1', 'O(N) where N is the number of keys to set.'),
  parse: parsePairs('msetnx'),
  exec: {
    kind: 'write',
    run: (ctx, pairs) => {
      if (pairs.some(([k]) => ctx.ks.exists(ctx.db, k, ctx.nowMs))) return int(0);
      for (const [k, v] of pairs) ctx.ks.setString(ctx.db, k, v, null, ctx.nowMs, ctx.index);
      return int(1);
    },
  },
});

// ---- counters ----

function incrBy(ctx: WriteCtx, key: Buffer, by: bigint): Reply {
  const cur = getString(ctx, key);
  if (isRedisError(cur)) return cur.reply();
  const base = cur === null ? 0n : parseInt64(cur);
  if (base === null) return errors.notInteger().reply();
  const next = base + by;
  if (!fitsInt64(next)) return errors.overflow().reply();
  ctx.ks.setString(ctx.db, key, Buffer.from(next.toString(), 'latin1'), 'keep', ctx.nowMs, ctx.index);
  return int(next);
}

function counter(name: string, summary: string, since: string, by: ((a: readonly Buffer[]) => bigint | RedisError) | bigint): CommandSpec {
  return defineCommand<{ key: Buffer; by: bigint }>({
    name, arity: typeof by === 'bigint' ? 2 : 3, flags: ['write', 'denyoom', 'fast'], keys: key1, aclCategories: ['write', 'string', 'fast'],
    docs: docs(summary, since),
    parse: (a) => {
      const v = typeof by === 'bigint' ? by : by(a);
      return isRedisError(v) ? v : { key: a[1]!, by: v };
    },
    exec: { kind: 'write', run: (ctx, p) => incrBy(ctx, p.key, p.by) },
  });
}

export const incr = counter('incr', 'Increments the integer value of a key by one. Uses 0 as initial value if the key doesn\'t exist.', '1.0.0', 1n);
export const decr = counter('decr', 'Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn\'t exist.', '1.0.0', -1n);
export const incrby = counter('incrby', 'Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn\'t exist.', '1.0.0', (a) => bigIntArg(a[2]!));
export const decrby = counter('decrby', 'Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn\'t exist.', '1.0.0', (a) => {
  const v = bigIntArg(a[2]!);
  if (isRedisError(v)) return v;
  return v === -9223372036854775808n ? errors.custom('ERR decrement would overflow') : -v;
});

export const incrbyfloat = defineCommand<{ key: Buffer; by: Buffer }>({
  name: 'incrbyfloat', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: key1, aclCategories: ['write', 'string', 'fast'],
  docs: docs('Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn\'t exist.', '2.6.0'),
  // Redis checks the key's type before parsing the increment, so both checks happen at apply.
  parse: (a) => ({ key: a[1]!, by: a[2]! }),
  exec: {
    kind: 'write',
    run: (ctx, p) => {
      const cur = getString(ctx, p.key);
      if (isRedisError(cur)) return cur.reply();
      if (cur !== null && !isLongDouble(cur)) return errors.notFloat().reply();
      if (!isLongDouble(p.by)) return errors.notFloat().reply();
      const out = formatIncrFloat(cur === null ? '0' : cur.toString('latin1'), p.by.toString('latin1'));
      if (out === null) return errors.nanOrInfinity().reply();
      const value = Buffer.from(out, 'latin1');
      ctx.ks.setString(ctx.db, p.key, value, 'keep', ctx.nowMs, ctx.index);
      return bulk(value);
    },
  },
});

// ---- byte ranges ----

export const append = defineCommand<{ key: Buffer; value: Buffer }>({
  name: 'append', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: key1, aclCategories: ['write', 'string', 'fast'],
  docs: docs('Appends a string to the value of a key. Creates the key if it doesn\'t exist.', '2.0.0'),
  parse: (a) => ({ key: a[1]!, value: a[2]! }),
  exec: {
    kind: 'write',
    run: (ctx, p) => {
      const cur = getString(ctx, p.key);
      if (isRedisError(cur)) return cur.reply();
      const len = (cur?.length ?? 0) + p.value.length;
      if (len > STRING_BYTES_MAX) return errors.stringTooLong().reply();
      ctx.ks.setString(ctx.db, p.key, cur === null ? p.value : Buffer.concat([cur, p.value]), 'keep', ctx.nowMs, ctx.index);
      return int(len);
    },
  },
});

export const strlen = defineCommand<Buffer>({
  name: 'strlen', arity: 2, flags: ['readonly', 'fast'], keys: key1, aclCategories: ['read', 'string', 'fast'],
  docs: docs('Returns the length of a string value.', '2.2.0'),
  parse: keyOnly,
  exec: { kind: 'read', run: (ctx, key) => { const v = getString(ctx, key); return isRedisError(v) ? v.reply() : int(v?.length ?? 0); } },
});

export const getrange = defineCommand<{ key: Buffer; start: number; end: number }>({
  name: 'getrange', arity: 4, flags: ['readonly'], keys: key1, aclCategories: ['read', 'string', 'slow'],
  docs: docs('Returns a substring of the string stored at a key.', '2.4.0', 'O(N) where N is the length of the returned string.'),
  parse: (a) => {
    const start = intArg(a[2]!);
    if (isRedisError(start)) return start;
    const end = intArg(a[3]!);
    return isRedisError(end) ? end : { key: a[1]!, start, end };
  },
  exec: {
    kind: 'read',
    run: (ctx, p) => {
      const v = getString(ctx, p.key);
      if (isRedisError(v)) return v.reply();
      const s = v ?? Buffer.alloc(0);
      let { start, end } = p;
      const n = s.length;
      if (start < 0 && end < 0 && start > end) return bulk(Buffer.alloc(0));
      if (start < 0) start = n + start;
      if (end < 0) end = n + end;
      if (start < 0) start = 0;
      if (end < 0) end = 0;
      if (end >= n) end = n - 1;
      if (start > end || n === 0) return bulk(Buffer.alloc(0));
      return bulk(s.subarray(start, end + 1));
    },
  },
});

export const setrange = defineCommand<{ key: Buffer; offset: number; value: Buffer }>({
  name: 'setrange', arity: 4, flags: ['write', 'denyoom'], keys: key1, aclCategories: ['write', 'string', 'slow'],
  docs: docs('Overwrites a part of a string value with another by an offset. Creates the key if it doesn\'t exist.', '2.2.0'),
  parse: (a) => {
    const offset = intArg(a[2]!);
    if (isRedisError(offset)) return offset;
    if (offset < 0) return errors.offsetOutOfRange();
    return { key: a[1]!, offset, value: a[3]! };
  },
  exec: {
    kind: 'write',
    run: (ctx, p) => {
      const cur = getString(ctx, p.key);
      if (isRedisError(cur)) return cur.reply();
      const curLen = cur?.length ?? 0;
      if (p.value.length === 0) return int(curLen);
      if (p.offset + p.value.length > STRING_BYTES_MAX) return errors.stringTooLong().reply();
      const out = Buffer.alloc(Math.max(curLen, p.offset + p.value.length));
      cur?.copy(out);
      p.value.copy(out, p.offset);
      ctx.ks.setString(ctx.db, p.key, out, 'keep', ctx.nowMs, ctx.index);
      return int(out.length);
    },
  },
});

export const stringCommands: readonly CommandSpec[] = [
  get, set, setnx, setex, psetex, getset, getdel, getex, mget, mset, msetnx,
  incr, decr, incrby, decrby, incrbyfloat, append, strlen, getrange, setrange,
];
