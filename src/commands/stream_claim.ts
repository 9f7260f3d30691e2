// XCLAIM and XAUTOCLAIM: moving pending entries between consumers of a group. Writes,
// applied on every replica; "now" is the entry's time, so idle checks, delivery times
// and the NACKs dropped for deleted entries are the same everywhere.

import type { Reply } from '../../protocol/index.ts';
import { compareIds, type StreamId } from '../state/index.ts';
import { is } from './args.ts';
import { cText, errors, isRedisError, RedisError } from './errors.ts';
import { array, nil } from './replies.ts';
import { defineCommand, type CommandSpec, type WriteCtx } from './spec.ts';
import { entryReply, idReply, llArg, rangeStart, strictId, type StreamRef } from './stream_args.ts';
import { streamAndGroup } from './stream_groups.ts';

const docs = (summary: string, since: string, complexity: string) => ({ summary, since, group: 'stream', complexity });
const key1 = { first: 1, last: 1, step: 1 };

/** The claimed entry as a reply: its ID (JUSTID) or [id, fields] (nil if deleted meanwhile). */
function claimedReply(s: StreamRef, id: StreamId, justId: boolean): Reply {
  if (justId) return idReply(id);
  const fields = s.store.get(s.ref, id);
  return fields === null ? nil : entryReply({ id, fields });
}

// ---- XCLAIM ----

interface XclaimOpts {
  readonly minIdle: bigint;
  readonly ids: readonly StreamId[];
  readonly idle: bigint | null;
  readonly time: bigint | null;
  readonly retryCount: bigint | null;
  readonly force: boolean;
  readonly justId: boolean;
  readonly lastId: StreamId;
}

interface XclaimArgs {
  readonly key: Buffer;
  readonly group: Buffer;
  readonly consumer: Buffer;
  readonly opts: XclaimOpts | RedisError;
}

function parseXclaimOpts(a: readonly Buffer[]): XclaimOpts | RedisError {
  const minIdle = llArg(a[4]!, 'Invalid min-idle-time argument for XCLAIM');
  if (isRedisError(minIdle)) return minIdle;
  const ids: StreamId[] = [];
  let j = 5;
  for (; j < a.length; j++) {
    const id = strictId(a[j]!);
    if (isRedisError(id)) break;
    ids.push(id);
  }
  let idle: bigint | null = null;
  let time: bigint | null = null;
  let retryCount: bigint | null = null;
  let force = false;
  let justId = false;
  let lastId: StreamId = { ms: 0n, seq: 0n };
  for (; j < a.length; j++) {
    const more = a.length - 1 - j;
    const opt = a[j]!;
    if (is(opt, 'force')) force = true;
    else if (is(opt, 'justid')) justId = true;
    else if (is(opt, 'idle') && more > 0) {
      const n = llArg(a[++j]!, 'Invalid IDLE option argument for XCLAIM');
      if (isRedisError(n)) return n;
      idle = n;
      time = null;
    } else if (is(opt, 'time') && more > 0) {
      const n = llArg(a[++j]!, 'Invalid TIME option argument for XCLAIM');
      if (isRedisError(n)) return n;
      time = n;
      idle = null;
    } else if (is(opt, 'retrycount') && more > 0) {
      const n = llArg(a[++j]!, 'Invalid RETRYCOUNT option argument for XCLAIM');
      if (isRedisError(n)) return n;
      retryCount = n;
    } else if (is(opt, 'lastid') && more > 0) {
      const id = strictId(a[++j]!);
      if (isRedisError(id)) return id;
      lastId = id;
    } else return errors.custom(`ERR Unrecognized XCLAIM option '${cText(opt)}'`);
  }
  return { minIdle: minIdle < 0n ? 0n : minIdle, ids, idle, time, retryCount, force, justId, lastId };
}

function runXclaim(ctx: WriteCtx, p: XclaimArgs): Reply {
  const sg = streamAndGroup(ctx, p.key, p.group);
  if (isRedisError(sg)) return sg.reply();
  if (isRedisError(p.opts)) return p.opts.reply();
  const o = p.opts;
  const { s } = sg;
  const groups = s.store.groups;
  const now = BigInt(ctx.nowMs);
  if (compareIds(o.lastId, sg.lastId) > 0) {
    const g = groups.group(s.ref, p.group)!;
    groups.put(s.ref, p.group, o.lastId, g.entriesRead);
  }
  let delivery = o.idle !== null ? now - o.idle : o.time !== null ? o.time : now;
  if (delivery < 0n || delivery > now) delivery = now;
  let consumerSeen = false;
  const out: Reply[] = [];
  for (const id of o.ids) {
    let nack = groups.pending(s.ref, p.group, id);
    if (!s.store.exists(s.ref, id)) {
      if (nack !== null) groups.ack(s.ref, p.group, id);
      continue;
    }
    let forced = false;
    if (nack === null) {
      if (!o.force) continue;
      forced = true;
    }
    if (!forced && o.minIdle !== 0n && now - nack!.deliveryMs < o.minIdle) continue;
    if (!consumerSeen) {
      groups.seeConsumer(s.ref, p.group, p.consumer, ctx.nowMs);
      consumerSeen = true;
    }
    const oldCount = nack?.deliveryCount ?? 0n;
    const count = o.retryCount !== null && o.retryCount >= 0n ? o.retryCount : o.justId ? oldCount : oldCount + 1n;
    groups.putPending(s.ref, p.group, id, p.consumer, delivery, count);
    out.push(claimedReply(s, id, o.justId));
    nack = null;
  }
  return array(out);
}

export const xclaim = defineCommand<XclaimArgs>({
  name: 'xclaim', arity: -6, flags: ['write', 'fast'], keys: key1, aclCategories: ['write', 'stream', 'fast'],
  docs: docs('Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member.', '5.0.0', 'O(log N) with N being the number of messages in the PEL of the consumer group.'),
  parse: (a) => ({ key: a[1]!, group: a[2]!, consumer: a[3]!, opts: parseXclaimOpts(a) }),
  exec: { kind: 'write', run: runXclaim },
});

// ---- XAUTOCLAIM ----

interface XautoclaimArgs {
  readonly key: Buffer;
  readonly group: Buffer;
  readonly consumer: Buffer;
  readonly minIdle: bigint;
  readonly start: StreamId;
  readonly count: number;
  readonly justId: boolean;
}

const ATTEMPTS_FACTOR = 10;
const COUNT_MAX = Math.floor(Number(2n ** 63n - 1n) / 16);

function parseXautoclaim(a: readonly Buffer[]): XautoclaimArgs | RedisError {
  const minIdle = llArg(a[4]!, 'Invalid min-idle-time argument for XAUTOCLAIM');
  if (isRedisError(minIdle)) return minIdle;
  const start = rangeStart(a[5]!);
  if (isRedisError(start)) return start;
  let count = 100;
  let justId = false;
  for (let j = 6; j < a.length; j++) {
    const more = a.length - 1 - j;
    if (is(a[j], 'count') && more > 0) {
      const n = llArg(a[j + 1]!, 'COUNT must be > 0');
      if (isRedisError(n) || n < 1n || n > BigInt(COUNT_MAX)) return errors.custom('ERR COUNT must be > 0');
      count = Number(n);
      j++;
    } else if (is(a[j], 'justid')) justId = true;
    else return errors.syntax();
  }
  return { key: a[1]!, group: a[2]!, consumer: a[3]!, minIdle: minIdle < 0n ? 0n : minIdle, start, count, justId };
}

function runXautoclaim(ctx: WriteCtx, p: XautoclaimArgs): Reply {
  const sg = streamAndGroup(ctx, p.key, p.group);
  if (isRedisError(sg)) return sg.reply();
  const { s } = sg;
  const groups = s.store.groups;
  const now = BigInt(ctx.nowMs);
  let attempts = p.count * ATTEMPTS_FACTOR;
  let count = p.count;
  let consumerSeen = false;
  const claimed: Reply[] = [];
  const deleted: Reply[] = [];
  // Rows are read before they are changed: collect the scan first (bounded by attempts + 1).
  const scan = [];
  for (const row of groups.pendingFrom(s.ref, p.group, p.start)) {
    scan.push(row);
    if (scan.length > attempts) break;
  }
  let next: StreamId = { ms: 0n, seq: 0n };
  let i = 0;
  for (; i < scan.length && attempts > 0 && count > 0; i++) {
    attempts--;
    const row = scan[i]!;
    if (!s.store.exists(s.ref, row.id)) {
      groups.ack(s.ref, p.group, row.id);
      deleted.push(idReply(row.id));
      count--;
      continue;
    }
    if (p.minIdle !== 0n && now - row.deliveryMs < p.minIdle) continue;
    if (!consumerSeen) {
      groups.seeConsumer(s.ref, p.group, p.consumer, ctx.nowMs);
      consumerSeen = true;
    }
    groups.putPending(s.ref, p.group, row.id, p.consumer, now, p.justId ? row.deliveryCount : row.deliveryCount + 1n);
    claimed.push(claimedReply(s, row.id, p.justId));
    count--;
  }
  if (i < scan.length) next = scan[i]!.id;
  return array([idReply(next), array(claimed), array(deleted)]);
}

export const xautoclaim = defineCommand<XautoclaimArgs>({
  name: 'xautoclaim', arity: -6, flags: ['write', 'fast'], keys: key1, aclCategories: ['write', 'stream', 'fast'],
  docs: docs('Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member.', '6.2.0', 'O(1) if COUNT is small.'),
  parse: parseXautoclaim,
  exec: { kind: 'write', run: runXautoclaim },
});

export const streamClaimCommands: readonly CommandSpec[] = [xclaim, xautoclaim];
