// The stream family, entries half: XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID.
// Parsing follows Redis 7.0's order of checks (argument errors Redis reports before
// looking at the key are answered at parse time; later ones travel to apply time as
// values). `*` IDs come from the entry's time and the stream's last ID.

import type { Reply } from '../../protocol/index.ts';
import { compareIds, incrId, isZeroId, U64_MAX, type StreamId, type TrimArgs, type TrimStrategy } from '../state/index.ts';
import { is } from './args.ts';
import { errors, isRedisError, RedisError } from './errors.ts';
import { int, nil, nilArray, OK, array } from './replies.ts';
import { defineCommand, type CommandSpec, type WriteCtx } from './spec.ts';
import {
  createStream, entriesReply, idReply, llArg, lookupStream, parseId, rangeEnd, rangeStart, strictId, touched,
} from './stream_args.ts';

const docs = (summary: string, since: string, complexity = 'O(1)') => ({ summary, since, group: 'stream', complexity });
const key1 = { first: 1, last: 1, step: 1 };
const APPROX_LIMIT_DEFAULT = 100 * 100;

// ---- MAXLEN / MINID / LIMIT (streamParseAddOrTrimArgsOrReply) ----

interface AddOrTrim {
  readonly trim: TrimArgs | null;
  readonly noMkStream: boolean;
  /** XADD: the explicit ID (null for `*`), and whether its sequence was given. */
  readonly id: { readonly id: StreamId; readonly seqGiven: boolean } | null;
  /** Index of the first field (XADD) or argc (XTRIM). */
  readonly next: number;
}

function parseAddOrTrim(a: readonly Buffer[], xadd: boolean): AddOrTrim | RedisError {
  let strategy: TrimStrategy | null = null;
  let approx = false;
  let limit = 0n;
  let limitGiven = false;
  let noMkStream = false;
  let id: AddOrTrim['id'] = null;
  let i = 2;
  for (; i < a.length; i++) {
    const more = a.length - 1 - i;
    const opt = a[i]!;
    if (xadd && opt.length === 1 && opt[0] === 0x2a) break;
    const maxlen = is(opt, 'maxlen');
    if ((maxlen || is(opt, 'minid')) && more > 0) {
      if (strategy !== null) return errors.custom('ERR syntax error, MAXLEN and MINID options at the same time are not compatible');
      approx = false;
      const next = a[i + 1]!;
      if (more >= 2 && next.length === 1 && (next[0] === 0x7e || next[0] === 0x3d)) {
        approx = next[0] === 0x7e;
        i++;
      }
      if (maxlen) {
        const n = llArg(a[i + 1]!);
        if (isRedisError(n)) return n;
        if (n < 0n) return errors.custom('ERR The MAXLEN argument must be >= 0.');
        strategy = { kind: 'maxlen', maxlen: n };
      } else {
        const m = strictId(a[i + 1]!);
        if (isRedisError(m)) return m;
        strategy = { kind: 'minid', minid: m };
      }
      i++;
    } else if (is(opt, 'limit') && more > 0) {
      const n = llArg(a[i + 1]!);
      if (isRedisError(n)) return n;
      if (n < 0n) return errors.custom('ERR The LIMIT argument must be >= 0.');
      limit = n;
      limitGiven = true;
      i++;
    } else if (xadd && is(opt, 'nomkstream')) {
      noMkStream = true;
    } else if (xadd) {
      const p = parseId(opt, 0n, true, true);
      if (isRedisError(p)) return p;
      id = p;
      break;
    } else {
      return errors.syntax();
    }
  }
  if (limit !== 0n && strategy === null) return errors.custom('ERR syntax error, LIMIT cannot be used without specifying a trimming strategy');
  if (!xadd && strategy === null) return errors.custom('ERR syntax error, XTRIM must be called with a trimming strategy');
  if (limitGiven && !approx) return errors.custom('ERR syntax error, LIMIT cannot be used without the special ~ option');
  const effectiveLimit = limitGiven ? Number(limit > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : limit) : approx ? APPROX_LIMIT_DEFAULT : 0;
  const trim = strategy === null ? null : { strategy, approx, limit: effectiveLimit };
  return { trim, noMkStream, id, next: xadd ? i + 1 : i };
}

// ---- XADD ----

interface XaddArgs {
  readonly key: Buffer;
  readonly opts: AddOrTrim;
  readonly fields: readonly Buffer[];
}

const topItemError = (): RedisError => errors.custom('ERR The ID specified in XADD is equal or smaller than the target stream top item');

/** The new entry's ID (streamAppendItem), or the EDOM error. */
function nextId(last: StreamId, given: AddOrTrim['id'], nowMs: number): StreamId | RedisError {
  let id: StreamId;
  if (given === null) {
    const ms = BigInt(nowMs);
    id = last.ms >= ms ? incrId(last)! : { ms, seq: 0n };
  } else if (given.seqGiven) {
    id = given.id;
  } else if (last.ms === given.id.ms) {
    if (last.seq === U64_MAX) return topItemError();
    id = { ms: last.ms, seq: last.seq + 1n };
  } else {
    id = given.id;
  }
  return compareIds(id, last) <= 0 ? topItemError() : id;
}

function runXadd(ctx: WriteCtx, p: XaddArgs): Reply {
  const found = lookupStream(ctx, p.key);
  if (isRedisError(found)) return found.reply();
  if (found === null && p.opts.noMkStream) return nil;
  const s = found ?? createStream(ctx, p.key);
  const m = s.meta();
  if (m.lastId.ms === U64_MAX && m.lastId.seq === U64_MAX) {
    return errors.custom('ERR The stream has exhausted the last possible ID, unable to add more items').reply();
  }
  const id = nextId(m.lastId, p.opts.id, ctx.nowMs);
  if (isRedisError(id)) return id.reply();
  s.store.append(s.ref, id, p.fields);
  if (p.opts.trim !== null) s.store.trim(s.ref, p.opts.trim);
  touched(ctx, p.key);
  return idReply(id);
}

export const xadd = defineCommand<XaddArgs>({
  name: 'xadd', arity: -5, flags: ['write', 'denyoom', 'fast'], keys: key1, aclCategories: ['write', 'stream', 'fast'],
  docs: docs('Appends a new message to a stream. Creates the key if it doesn\'t exist.', '5.0.0', 'O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.'),
  parse: (a) => {
    const opts = parseAddOrTrim(a, true);
    if (isRedisError(opts)) return opts;
    const rest = a.length - opts.next;
    if (rest < 2 || rest % 2 === 1) return errors.wrongArity('xadd');
    if (opts.id !== null && opts.id.seqGiven && isZeroId(opts.id.id)) return errors.custom('ERR The ID specified in XADD must be greater than 0-0');
    return { key: a[1]!, opts, fields: a.slice(opts.next) };
  },
  exec: { kind: 'write', run: runXadd },
});

// ---- XTRIM ----

export const xtrim = defineCommand<{ key: Buffer; opts: AddOrTrim | RedisError }>({
  name: 'xtrim', arity: -4, flags: ['write'], keys: key1, aclCategories: ['write', 'stream', 'slow'],
  docs: docs('Deletes messages from the beginning of a stream.', '5.0.0', 'O(N), with N being the number of evicted entries.'),
  // Redis looks the key up before parsing: a missing key answers 0 even for bad options.
  parse: (a) => ({ key: a[1]!, opts: parseAddOrTrim(a, false) }),
  exec: {
    kind: 'write',
    run: (ctx, p) => {
      const s = lookupStream(ctx, p.key);
      if (isRedisError(s)) return s.reply();
      if (s === null) return int(0);
      if (isRedisError(p.opts)) return p.opts.reply();
      const n = s.store.trim(s.ref, p.opts.trim!);
      if (n > 0) touched(ctx, p.key);
      return int(n);
    },
  },
});

// ---- XLEN, XRANGE, XREVRANGE ----

export const xlen = defineCommand<Buffer>({
  name: 'xlen', arity: 2, flags: ['readonly', 'fast'], keys: key1, aclCategories: ['read', 'stream', 'fast'],
  docs: docs('Return the number of messages in a stream.', '5.0.0'),
  parse: (a) => a[1]!,
  exec: {
    kind: 'read',
    run: (ctx, key) => {
      const s = lookupStream(ctx, key);
      if (isRedisError(s)) return s.reply();
      return int(s === null ? 0 : s.meta().length);
    },
  },
});

interface RangeArgs {
  readonly key: Buffer;
  readonly start: StreamId;
  readonly end: StreamId;
  /** -1: no COUNT. */
  readonly count: number;
}

function parseRange(a: readonly Buffer[], rev: boolean): RangeArgs | RedisError {
  const start = rangeStart(rev ? a[3]! : a[2]!);
  if (isRedisError(start)) return start;
  const end = rangeEnd(rev ? a[2]! : a[3]!);
  if (isRedisError(end)) return end;
  let count = -1;
  for (let j = 4; j < a.length; j++) {
    if (is(a[j], 'count') && j + 1 < a.length) {
      const n = llArg(a[++j]!);
      if (isRedisError(n)) return n;
      count = n < 0n ? 0 : n > 1_000_000_000n ? 1_000_000_000 : Number(n);
    } else return errors.syntax();
  }
  return { key: a[1]!, start, end, count };
}

function rangeCommand(name: 'xrange' | 'xrevrange'): CommandSpec {
  const rev = name === 'xrevrange';
  return defineCommand<RangeArgs>({
    name, arity: -4, flags: ['readonly'], keys: key1, aclCategories: ['read', 'stream', 'slow'],
    docs: docs(rev ? 'Returns the messages from a stream within a range of IDs in reverse order.' : 'Returns the messages from a stream within a range of IDs.', '5.0.0', 'O(N) with N being the number of elements being returned.'),
    parse: (a) => parseRange(a, rev),
    exec: {
      kind: 'read',
      run: (ctx, p) => {
        if (p.count === 0) return nilArray;
        const s = lookupStream(ctx, p.key);
        if (isRedisError(s)) return s.reply();
        if (s === null) return array([]);
        return entriesReply(s.store.range(s.ref, p.start, p.end, Math.max(p.count, 0), rev));
      },
    },
  });
}

export const xrange = rangeCommand('xrange');
export const xrevrange = rangeCommand('xrevrange');

// ---- XDEL ----

export const xdel = defineCommand<{ key: Buffer; ids: readonly StreamId[] | RedisError }>({
  name: 'xdel', arity: -3, flags: ['write', 'fast'], keys: key1, aclCategories: ['write', 'stream', 'fast'],
  docs: docs('Returns the number of messages after removing them from a stream.', '5.0.0', 'O(1) for each single item to delete in the stream, regardless of the stream size.'),
  parse: (a) => {
    const ids: StreamId[] = [];
    for (const x of a.slice(2)) {
      const id = strictId(x);
      if (isRedisError(id)) return { key: a[1]!, ids: id };
      ids.push(id);
    }
    return { key: a[1]!, ids };
  },
  exec: {
    kind: 'write',
    run: (ctx, p) => {
      const s = lookupStream(ctx, p.key);
      if (isRedisError(s)) return s.reply();
      if (s === null) return int(0);
      if (isRedisError(p.ids)) return p.ids.reply();
      let n = 0;
      for (const id of p.ids) if (s.store.delete(s.ref, id)) n++;
      if (n > 0) touched(ctx, p.key);
      return int(n);
    },
  },
});

// ---- XSETID ----

interface XsetidArgs {
  readonly key: Buffer;
  readonly id: StreamId;
  readonly entriesAdded: bigint | null;
  readonly maxDeleted: StreamId | null;
}

export const xsetid = defineCommand<XsetidArgs>({
  name: 'xsetid', arity: -3, flags: ['write', 'denyoom', 'fast'], keys: key1, aclCategories: ['write', 'stream', 'fast'],
  docs: docs('An internal command for replicating stream values.', '5.0.0'),
  parse: (a) => {
    const id = strictId(a[2]!);
    if (isRedisError(id)) return id;
    let entriesAdded: bigint | null = null;
    let maxDeleted: StreamId | null = null;
    for (let i = 3; i < a.length; i += 2) {
      const more = a.length - 1 - i;
      if (is(a[i], 'entriesadded') && more > 0) {
        const n = llArg(a[i + 1]!);
        if (isRedisError(n)) return n;
        if (n < 0n) return errors.custom('ERR entries_added must be positive');
        entriesAdded = n;
      } else if (is(a[i], 'maxdeletedid') && more > 0) {
        const m = strictId(a[i + 1]!);
        if (isRedisError(m)) return m;
        if (compareIds(id, m) < 0) return errors.custom('ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id');
        maxDeleted = m;
      } else return errors.syntax();
    }
    return { key: a[1]!, id, entriesAdded, maxDeleted };
  },
  exec: {
    kind: 'write',
    run: (ctx, p) => {
      const s = lookupStream(ctx, p.key);
      if (isRedisError(s)) return s.reply();
      if (s === null) return errors.noSuchKey().reply();
      const m = s.meta();
      if (m.length > 0) {
        const top = s.store.lastEntryId(s.ref)!;
        if (compareIds(p.id, top) < 0) return errors.custom('ERR The ID specified in XSETID is smaller than the target stream top item').reply();
        if (p.entriesAdded !== null && BigInt(m.length) > p.entriesAdded) {
          return errors.custom('ERR The entries_added specified in XSETID is smaller than the target stream length').reply();
        }
      }
      if (compareIds(p.id, m.maxDeletedId) < 0) return errors.custom('ERR The ID specified in XSETID is smaller than current max_deleted_entry_id').reply();
      s.store.setMeta(s.ref, {
        ...m,
        lastId: p.id,
        entriesAdded: p.entriesAdded ?? m.entriesAdded,
        maxDeletedId: p.maxDeleted !== null && !isZeroId(p.maxDeleted) ? p.maxDeleted : m.maxDeletedId,
      });
      touched(ctx, p.key);
      return OK;
    },
  },
});

export const streamEntryCommands: readonly CommandSpec[] = [xadd, xtrim, xlen, xrange, xrevrange, xdel, xsetid];

