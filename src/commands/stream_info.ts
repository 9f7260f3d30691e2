// XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS, XINFO HELP: reads that
// report a stream's metadata, groups (entries-read and lag as Redis 7.0 computes them)
// and consumers. Maps in RESP3, flat arrays in RESP2 (the reply writer's job).

import type { Reply } from '../../protocol/index.ts';
import { compareIds, isZeroId, MAX_ID, ZERO_ID, type GroupRow, type StreamId, type StreamMeta } from '../state/index.ts';
import { is, lower } from './args.ts';
import { cText, errors, isRedisError, type RedisError } from './errors.ts';
import { array, bulk, int, nil, simple } from './replies.ts';
import { defineCommand, type CommandSpec, type ReadCtx } from './spec.ts';
import { entriesReply, entryReply, idReply, llArg, lookupStream, type StreamRef } from './stream_args.ts';

const docs = (summary: string, complexity = 'O(1)') => ({ summary, since: '5.0.0', group: 'stream', complexity });
const map = (pairs: ReadonlyArray<readonly [string, Reply]>): Reply => ({ type: 'map', entries: pairs.map(([k, v]) => [bulk(k), v] as const) });

/** Redis streamRangeHasTombstones(s, start, NULL). */
function hasTombstonesFrom(s: StreamRef, m: StreamMeta, start: StreamId): boolean {
  if (m.length === 0 || isZeroId(m.maxDeletedId)) return false;
  const first = s.store.firstId(s.ref) ?? ZERO_ID;
  if (compareIds(first, m.maxDeletedId) > 0) return false;
  return compareIds(start, m.maxDeletedId) <= 0 && compareIds(m.maxDeletedId, MAX_ID) <= 0;
}

/** Redis streamEstimateDistanceFromFirstEverEntry; null = unknown. */
export function estimateEntriesRead(s: StreamRef, m: StreamMeta, id: StreamId): bigint | null {
  if (m.entriesAdded === 0n) return 0n;
  if (m.length === 0 && compareIds(id, m.lastId) < 1) return m.entriesAdded;
  const cmpLast = compareIds(id, m.lastId);
  if (cmpLast === 0) return m.entriesAdded;
  if (cmpLast > 0) return null;
  const first = s.store.firstId(s.ref) ?? ZERO_ID;
  const cmpFirst = compareIds(id, first);
  if (isZeroId(m.maxDeletedId) || compareIds(m.maxDeletedId, first) < 0) {
    if (cmpFirst < 0) return m.entriesAdded - BigInt(m.length);
    if (cmpFirst === 0) return m.entriesAdded - BigInt(m.length) + 1n;
  }
  return null;
}

/** The new entries_read after a group delivers `id` (streamReplyWithRange's bookkeeping). */
export function entriesReadAfter(s: StreamRef, m: StreamMeta, g: { entriesRead: bigint | null }, id: StreamId): bigint | null {
  if (g.entriesRead !== null && !hasTombstonesFrom(s, m, id)) return g.entriesRead + 1n;
  if (m.entriesAdded !== 0n) return estimateEntriesRead(s, m, id);
  return g.entriesRead;
}

function lag(s: StreamRef, m: StreamMeta, g: GroupRow): Reply {
  if (m.entriesAdded === 0n) return int(0);
  if (g.entriesRead !== null && !hasTombstonesFrom(s, m, g.lastId)) return int(m.entriesAdded - g.entriesRead);
  const read = estimateEntriesRead(s, m, g.lastId);
  return read === null ? nil : int(m.entriesAdded - read);
}

const entriesRead = (g: GroupRow): Reply => (g.entriesRead === null ? nil : int(g.entriesRead));

function radix(s: StreamRef): Array<[string, Reply]> {
  // Redis's radix tree internals; raftis models its nodes only (see the report).
  const keys = s.store.nodeCount(s.ref);
  return [['radix-tree-keys', int(keys)], ['radix-tree-nodes', int(keys + 1)]];
}

function streamInfo(ctx: ReadCtx, s: StreamRef, full: { count: number } | null): Reply {
  const m = s.meta();
  const head: Array<[string, Reply]> = [
    ['length', int(m.length)],
    ...radix(s),
    ['last-generated-id', idReply(m.lastId)],
    ['max-deleted-entry-id', idReply(m.maxDeletedId)],
    ['entries-added', int(m.entriesAdded)],
    ['recorded-first-entry-id', idReply(s.store.firstId(s.ref) ?? ZERO_ID)],
  ];
  const groups = s.store.groups;
  if (full === null) {
    const first = s.store.range(s.ref, ZERO_ID, MAX_ID, 1, false)[0];
    const last = s.store.range(s.ref, ZERO_ID, MAX_ID, 1, true)[0];
    return map([
      ...head,
      ['groups', int(groups.count(s.ref))],
      ['first-entry', first ? entryReply(first) : nil],
      ['last-entry', last ? entryReply(last) : nil],
    ]);
  }
  const n = full.count;
  const groupReplies = groups.list(s.ref).map((g) => {
    const pel = groups.pendingRange(s.ref, g.name, ZERO_ID, MAX_ID, n);
    const consumers = groups.consumers(s.ref, g.name).map((c) => map([
      ['name', bulk(c.name)],
      ['seen-time', int(c.seenMs)],
      ['pel-count', int(c.pending)],
      ['pending', array(groups.pendingRange(s.ref, g.name, ZERO_ID, MAX_ID, n, c.name).map((r) => array([idReply(r.id), int(r.deliveryMs), int(r.deliveryCount)])))],
    ]));
    return map([
      ['name', bulk(g.name)],
      ['last-delivered-id', idReply(g.lastId)],
      ['entries-read', entriesRead(g)],
      ['lag', lag(s, m, g)],
      ['pel-count', int(groups.pendingCount(s.ref, g.name))],
      ['pending', array(pel.map((r) => array([idReply(r.id), bulk(r.consumer), int(r.deliveryMs), int(r.deliveryCount)])))],
      ['consumers', array(consumers)],
    ]);
  });
  void ctx;
  return map([...head, ['entries', entriesReply(s.store.range(s.ref, ZERO_ID, MAX_ID, n, false))], ['groups', array(groupReplies)]]);
}

type XinfoArgs =
  | { readonly sub: 'help' }
  | { readonly sub: 'stream'; readonly key: Buffer; readonly full: { count: number } | null | RedisError }
  | { readonly sub: 'groups'; readonly key: Buffer }
  | { readonly sub: 'consumers'; readonly key: Buffer; readonly group: Buffer };

const XINFO_ARITY: Readonly<Record<string, number>> = { stream: -3, groups: 3, consumers: 4, help: 2 };

function parseFull(a: readonly Buffer[]): { count: number } | null | RedisError {
  const syntax = errors.custom(`ERR unknown subcommand or wrong number of arguments for '${cText(a[1]!, 128)}'. Try XINFO HELP.`);
  if (a.length === 3) return null;
  if (!is(a[3], 'full')) return syntax;
  if (a.length === 4) return { count: 10 };
  if (a.length !== 6 || !is(a[4], 'count')) return syntax;
  const n = llArg(a[5]!);
  if (isRedisError(n)) return n;
  return { count: n < 0n ? 10 : n > 1_000_000_000n ? 1_000_000_000 : Number(n) };
}

const XINFO_HELP = [
  'XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CONSUMERS <key> <groupname>',
  '    Show consumers of <groupname>.',
  'GROUPS <key>',
  '    Show the stream consumer groups.',
  'STREAM <key> [FULL [COUNT <count>]',
  '    Show information about the stream.',
  'HELP',
  '    Prints this help.',
];

function runXinfo(ctx: ReadCtx, p: XinfoArgs): Reply {
  if (p.sub === 'help') return array(XINFO_HELP.map(simple));
  const s = lookupStream(ctx, p.key);
  if (isRedisError(s)) return s.reply();
  if (s === null) return errors.noSuchKey().reply();
  switch (p.sub) {
    case 'stream':
      return isRedisError(p.full) ? p.full.reply() : streamInfo(ctx, s, p.full);
    case 'groups': {
      const m = s.meta();
      const groups = s.store.groups;
      return array(groups.list(s.ref).map((g) => map([
        ['name', bulk(g.name)],
        ['consumers', int(groups.consumerCount(s.ref, g.name))],
        ['pending', int(groups.pendingCount(s.ref, g.name))],
        ['last-delivered-id', idReply(g.lastId)],
        ['entries-read', entriesRead(g)],
        ['lag', lag(s, m, g)],
      ])));
    }
    case 'consumers': {
      if (s.store.groups.group(s.ref, p.group) === null) {
        return errors.custom(`NOGROUP No such consumer group '${cText(p.group)}' for key name '${cText(p.key)}'`).reply();
      }
      return array(s.store.groups.consumers(s.ref, p.group).map((c) => map([
        ['name', bulk(c.name)],
        ['pending', int(c.pending)],
        ['idle', int(Math.max(0, ctx.nowMs - c.seenMs))],
      ])));
    }
    default: {
      const never: never = p;
      throw new Error(`unhandled XINFO ${JSON.stringify(never)}`);
    }
  }
}

const xinfoSub = (name: string, arity: number, summary: string): CommandSpec => defineCommand<null>({
  name: `xinfo|${name}`, arity, flags: name === 'help' ? ['loading', 'stale'] : ['readonly'], keys: name === 'help' ? null : { first: 2, last: 2, step: 1 },
  aclCategories: name === 'help' ? ['stream', 'slow'] : ['read', 'stream', 'slow'], docs: docs(summary),
  parse: () => null, exec: { kind: 'read', run: () => nil },
});

export const xinfo = defineCommand<XinfoArgs>({
  name: 'xinfo', arity: -2, flags: ['readonly'], keys: { first: 2, last: 2, step: 1 }, aclCategories: ['read', 'stream', 'slow'],
  docs: docs('A container for stream introspection commands.', 'Depends on subcommand.'),
  parse: (a): XinfoArgs | RedisError => {
    const sub = lower(a[1]!);
    const arity = XINFO_ARITY[sub];
    if (arity === undefined) return errors.unknownSubcommand(a[1]!, 'xinfo');
    if (arity >= 0 ? a.length !== arity : a.length < -arity) return errors.wrongArity(`xinfo|${sub}`);
    if (sub === 'help') return { sub };
    if (sub === 'stream') return { sub, key: a[2]!, full: parseFull(a) };
    if (sub === 'groups') return { sub, key: a[2]! };
    return { sub: 'consumers', key: a[2]!, group: a[3]! };
  },
  exec: { kind: 'read', run: runXinfo },
  subcommands: [
    xinfoSub('consumers', 4, 'Returns a list of the consumers in a consumer group.'),
    xinfoSub('groups', 3, 'Returns a list of the consumer groups of a stream.'),
    xinfoSub('help', 2, 'Returns helpful text about the different subcommands.'),
    xinfoSub('stream', -3, 'Returns information about a stream.'),
  ],
});
