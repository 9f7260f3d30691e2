// Shared pieces of the stream family: stream ID arguments parsed exactly as Redis's
// streamGenericParseIDOrReply (string2ull, `-`/`+`, `<ms>-*`, `(` exclusive bounds),
// integer options with Redis's messages, the stream lookup for reads and writes, and
// the reply shapes of entries. Pure functions over the keyspace; no protocol state.

import type { Reply } from '../../protocol/index.ts';
import {
  decrId, formatId, incrId, MAX_ID, STREAM_TYPE, StreamStore, U64_MAX, ZERO_ID,
  type StreamEntry, type StreamId, type StreamMeta,
} from '../state/index.ts';
import { parseInt64 } from './args.ts';
import { errors, isRedisError, type RedisError } from './errors.ts';
import { array, bulk, bulks, nilArray } from './replies.ts';
import type { ReadCtx, WriteCtx } from './spec.ts';

export const invalidId = (): RedisError => errors.custom('ERR Invalid stream ID specified as stream command argument');

const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);

/** Redis string2ull: a canonical non-negative int64, else C strtoull over the whole string. */
export function string2ull(s: string): bigint | null {
  const canonical = parseInt64(s);
  if (canonical !== null) return canonical < 0n ? null : canonical;
  let i = 0;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  let neg = false;
  if (s[i] === '+' || s[i] === '-') neg = s[i++] === '-';
  const digits = s.slice(i);
  if (!/^[0-9]+$/.test(digits)) return null;
  const v = BigInt(digits);
  if (v > U64_MAX) return null;
  return neg ? (U64_MAX + 1n - v) & U64_MAX : v;
}

export interface ParsedId {
  readonly id: StreamId;
  /** False only for the `<ms>-*` form (when allowed). */
  readonly seqGiven: boolean;
}

/** streamGenericParseIDOrReply: `strict` rejects lone `-`/`+`; `seqStar` allows `<ms>-*`. */
export function parseId(arg: Buffer, missingSeq: bigint, strict: boolean, seqStar = false): ParsedId | RedisError {
  if (arg.length > 127) return invalidId();
  const nul = arg.indexOf(0);
  const s = arg.subarray(0, nul < 0 ? arg.length : nul).toString('latin1');
  if (s === '-' || s === '+') {
    if (strict) return invalidId();
    return { id: s === '-' ? ZERO_ID : MAX_ID, seqGiven: true };
  }
  const dash = s.indexOf('-');
  const ms = string2ull(dash < 0 ? s : s.slice(0, dash));
  if (ms === null) return invalidId();
  if (dash < 0) return { id: { ms, seq: missingSeq }, seqGiven: true };
  const rest = s.slice(dash + 1);
  if (seqStar && rest === '*') return { id: { ms, seq: 0n }, seqGiven: false };
  const seq = string2ull(rest);
  return seq === null ? invalidId() : { id: { ms, seq }, seqGiven: true };
}

export function strictId(arg: Buffer, missingSeq = 0n): StreamId | RedisError {
  const p = parseId(arg, missingSeq, true);
  return isRedisError(p) ? p : p.id;
}

/** streamParseIntervalIdOrReply: a range bound, `(` for exclusive. */
export function intervalId(arg: Buffer, missingSeq: bigint): { id: StreamId; exclusive: boolean } | RedisError {
  const exclusive = arg.length > 1 && arg[0] === 0x28;
  const p = exclusive ? parseId(arg.subarray(1), missingSeq, true) : parseId(arg, missingSeq, false);
  return isRedisError(p) ? p : { id: p.id, exclusive };
}

/** Start of an interval: inclusive, `(` moves it up (error past the last ID). */
export function rangeStart(arg: Buffer): StreamId | RedisError {
  const b = intervalId(arg, 0n);
  if (isRedisError(b)) return b;
  if (!b.exclusive) return b.id;
  return incrId(b.id) ?? errors.custom('ERR invalid start ID for the interval');
}

export function rangeEnd(arg: Buffer): StreamId | RedisError {
  const b = intervalId(arg, U64_MAX);
  if (isRedisError(b)) return b;
  if (!b.exclusive) return b.id;
  return decrId(b.id) ?? errors.custom('ERR invalid end ID for the interval');
}

/** getLongLongFromObjectOrReply with an optional custom message ("ERR " is added). */
export function llArg(arg: Buffer, message?: string): bigint | RedisError {
  const v = parseInt64(arg);
  if (v !== null) return v;
  return message === undefined ? errors.notInteger() : errors.custom(`ERR ${message}`);
}

// ---- lookup ----

export interface StreamRef {
  readonly ref: number;
  readonly store: StreamStore;
  meta(): StreamMeta;
}

function refFor(ctx: ReadCtx, value: Buffer | null): StreamRef {
  const store = StreamStore.of(ctx.ks.state);
  const ref = StreamStore.refOf(value);
  return { ref, store, meta: () => store.meta(ref) };
}

/** The stream at `key`, null when absent, or WRONGTYPE. */
export function lookupStream(ctx: ReadCtx, key: Buffer): StreamRef | null | RedisError {
  const e = ctx.ks.lookup(ctx.db, key, ctx.nowMs);
  if (e === null) return null;
  if (e.type !== STREAM_TYPE) return errors.wrongType();
  return refFor(ctx, e.value);
}

/** A new empty stream stored at `key` (which must be absent). */
export function createStream(ctx: WriteCtx, key: Buffer): StreamRef {
  const store = StreamStore.of(ctx.ks.state);
  const ref = store.create();
  ctx.ks.setValue(ctx.db, key, STREAM_TYPE, StreamStore.refValue(ref), null, ctx.nowMs, ctx.index);
  return { ref, store, meta: () => store.meta(ref) };
}

/** Stamp a change of the stream's data for WATCH (and wake blocked readers). */
export const touched = (ctx: WriteCtx, key: Buffer): void => void ctx.ks.touch(ctx.db, key, ctx.nowMs, ctx.index);

// ---- replies ----

export const idReply = (id: StreamId): Reply => bulk(formatId(id));

export const entryReply = (e: StreamEntry): Reply => array([idReply(e.id), bulks(e.fields)]);

export const entriesReply = (es: readonly StreamEntry[]): Reply => array(es.map(entryReply));

/** An ID whose entry was deleted while pending: [id, nil]. */
export const deletedEntryReply = (id: StreamId): Reply => array([idReply(id), nilArray]);
