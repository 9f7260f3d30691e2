// The stream family, consumer groups half: XGROUP (CREATE, SETID, DESTROY,
// CREATECONSUMER, DELCONSUMER, HELP), XACK, XPENDING, XCLAIM, XAUTOCLAIM. Every change
// of group bookkeeping is a write applied on every replica; delivery and idle times
// are the entry's time. Errors Redis reports only after finding the key travel as values.

import type { Reply } from '../../protocol/index.ts';
import { compareIds, type StreamId } from '../state/index.ts';
import { is, lower } from './args.ts';
import { cText, errors, isRedisError, RedisError } from './errors.ts';
import { array, bulk, int, nil, nilArray, OK, simple } from './replies.ts';
import { defineCommand, type CommandSpec, type ReadCtx, type WriteCtx } from './spec.ts';
import {
  createStream, idReply, llArg, lookupStream, parseId, rangeEnd, rangeStart, strictId, touched, type StreamRef,
} from './stream_args.ts';

const docs = (summary: string, since: string, complexity = 'O(1)') => ({ summary, since, group: 'stream', complexity });
const key1 = { first: 1, last: 1, step: 1 };
const key2 = { first: 2, last: 2, step: 1 };

const noGroup = (key: Buffer, group: Buffer): RedisError =>
  errors.custom(`NOGROUP No such key '${cText(key)}' or consumer group '${cText(group)}'`);

/** The stream and its group for XCLAIM/XAUTOCLAIM/XPENDING, or WRONGTYPE/NOGROUP. */
export function streamAndGroup(ctx: ReadCtx, key: Buffer, group: Buffer): { s: StreamRef; lastId: StreamId } | RedisError {
  const s = lookupStream(ctx, key);
  if (isRedisError(s)) return s;
  const g = s === null ? null : s.store.groups.group(s.ref, group);
  if (s === null || g === null) return noGroup(key, group);
  return { s, lastId: g.lastId };
}

// ---- XGROUP ----

type XgroupArgs =
  | { readonly sub: 'help' }
  | { readonly sub: 'create'; readonly key: Buffer; readonly group: Buffer; readonly id: Buffer; readonly mkstream: boolean; readonly entriesRead: bigint | null }
  | { readonly sub: 'setid'; readonly key: Buffer; readonly group: Buffer; readonly id: Buffer; readonly entriesRead: bigint | null; readonly argc: number; readonly subArg: Buffer }
  | { readonly sub: 'destroy'; readonly key: Buffer; readonly group: Buffer }
  | { readonly sub: 'createconsumer' | 'delconsumer'; readonly key: Buffer; readonly group: Buffer; readonly consumer: Buffer };

const XGROUP_ARITY: Readonly<Record<string, number>> = { create: -5, setid: -5, destroy: 4, createconsumer: 5, delconsumer: 5, help: 2 };

const subSyntax = (sub: Buffer): RedisError =>
  errors.custom(`ERR unknown subcommand or wrong number of arguments for '${cText(sub, 128)}'. Try XGROUP HELP.`);

function entriesReadArg(b: Buffer): bigint | RedisError {
  const n = llArg(b);
  if (isRedisError(n)) return n;
  if (n < 0n && n !== -1n) return errors.custom('ERR value for ENTRIESREAD must be positive or -1');
  return n;
}

function parseXgroup(a: readonly Buffer[]): XgroupArgs | RedisError {
  const sub = lower(a[1]!);
  const arity = XGROUP_ARITY[sub];
  if (arity === undefined) return errors.unknownSubcommand(a[1]!, 'xgroup');
  if (arity >= 0 ? a.length !== arity : a.length < -arity) return errors.wrongArity(`xgroup|${sub}`);
  if (sub === 'help') return { sub };
  const key = a[2]!;
  const group = a[3]!;
  if (sub === 'create') {
    if (a.length > 8) return subSyntax(a[1]!);
    let mkstream = false;
    let entriesRead: bigint | null = null;
    for (let i = 5; i < a.length; ) {
      if (is(a[i], 'mkstream')) {
        mkstream = true;
        i++;
      } else if (is(a[i], 'entriesread') && i + 1 < a.length) {
        const n = entriesReadArg(a[i + 1]!);
        if (isRedisError(n)) return n;
        entriesRead = n === -1n ? null : n;
        i += 2;
      } else return subSyntax(a[1]!);
    }
    return { sub, key, group, id: a[4]!, mkstream, entriesRead };
  }
  if (sub === 'setid') {
    let entriesRead: bigint | null = null;
    if (a.length === 7) {
      if (!is(a[5], 'entriesread')) return subSyntax(a[1]!);
      const n = entriesReadArg(a[6]!);
      if (isRedisError(n)) return n;
      entriesRead = n === -1n ? null : n;
    }
    return { sub, key, group, id: a[4]!, entriesRead, argc: a.length, subArg: a[1]! };
  }
  if (sub === 'destroy') return { sub, key, group };
  return { sub: sub as 'createconsumer' | 'delconsumer', key, group, consumer: a[4]! };
}

const XGROUP_HELP = [
  'XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CREATE <key> <groupname> <id|$> [option]',
  '    Create a new consumer group. Options are:',
  '    * MKSTREAM',
  '      Create the empty stream if it does not exist.',
  '    * ENTRIESREAD entries_read',
  '      Set the group\'s entries_read counter (internal use).',
  'CREATECONSUMER <key> <groupname> <consumer>',
  '    Create a new consumer in the specified group.',
  'DELCONSUMER <key> <groupname> <consumer>',
  '    Remove the specified consumer.',
  'DESTROY <key> <groupname>',
  '    Remove the specified group.',
  'SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]',
  '    Set the current group ID and entries_read counter.',
  'HELP',
  '    Print this help.',
];

function runXgroup(ctx: WriteCtx, p: XgroupArgs): Reply {
  if (p.sub === 'help') return array(XGROUP_HELP.map(simple));
  let s = lookupStream(ctx, p.key);
  if (isRedisError(s)) return s.reply();
  const mkstream = p.sub === 'create' && p.mkstream;
  if (s === null && !mkstream) {
    return errors.custom('ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.').reply();
  }
  const g = s === null ? null : s.store.groups.group(s.ref, p.group);
  if (g === null && s !== null && (p.sub === 'setid' || p.sub === 'createconsumer' || p.sub === 'delconsumer')) {
    return errors.custom(`NOGROUP No such consumer group '${cText(p.group)}' for key name '${cText(p.key)}'`).reply();
  }
  switch (p.sub) {
    case 'create': {
      let id: StreamId;
      if (p.id.length === 1 && p.id[0] === 0x24) id = s === null ? { ms: 0n, seq: 0n } : s.meta().lastId;
      else {
        const parsed = strictId(p.id);
        if (isRedisError(parsed)) return parsed.reply();
        id = parsed;
      }
      if (s === null) s = createStream(ctx, p.key);
      if (s.store.groups.group(s.ref, p.group) !== null) return errors.custom('BUSYGROUP Consumer Group name already exists').reply();
      s.store.groups.put(s.ref, p.group, id, p.entriesRead);
      return OK;
    }
    case 'setid': {
      if (p.argc !== 5 && p.argc !== 7) return subSyntax(p.subArg).reply();
      let id: StreamId;
      if (p.id.length === 1 && p.id[0] === 0x24) id = s!.meta().lastId;
      else {
        const parsed = parseId(p.id, 0n, false);
        if (isRedisError(parsed)) return parsed.reply();
        id = parsed.id;
      }
      s!.store.groups.put(s!.ref, p.group, id, p.entriesRead);
      return OK;
    }
    case 'destroy':
      return int(g !== null && s!.store.groups.destroy(s!.ref, p.group) ? 1 : 0);
    case 'createconsumer':
      return int(s!.store.groups.createConsumer(s!.ref, p.group, p.consumer, ctx.nowMs) ? 1 : 0);
    case 'delconsumer':
      return int(s!.store.groups.deleteConsumer(s!.ref, p.group, p.consumer));
    default: {
      const never: never = p;
      throw new Error(`unhandled XGROUP ${JSON.stringify(never)}`);
    }
  }
}

const xgroupSub = (name: string, arity: number, summary: string): CommandSpec => defineCommand<null>({
  name: `xgroup|${name}`, arity, flags: name === 'help' ? ['loading', 'stale'] : ['write'], keys: name === 'help' ? null : key2,
  aclCategories: name === 'help' ? ['stream', 'slow'] : ['write', 'stream', 'slow'], docs: docs(summary, '5.0.0'),
  parse: () => null, exec: { kind: 'write', run: () => nil },
});

export const xgroup = defineCommand<XgroupArgs>({
  name: 'xgroup', arity: -2, flags: ['write'], keys: key2, aclCategories: ['write', 'stream', 'slow'],
  docs: docs('A container for consumer groups commands.', '5.0.0', 'Depends on subcommand.'),
  parse: parseXgroup,
  exec: { kind: 'write', run: runXgroup },
  subcommands: [
    xgroupSub('create', -5, 'Creates a consumer group.'),
    xgroupSub('setid', -5, 'Sets the last-delivered ID of a consumer group.'),
    xgroupSub('destroy', 4, 'Destroys a consumer group.'),
    xgroupSub('createconsumer', 5, 'Creates a consumer in a consumer group.'),
    xgroupSub('delconsumer', 5, 'Deletes a consumer from a consumer group.'),
    xgroupSub('help', 2, 'Returns helpful text about the different subcommands.'),
  ],
});

// ---- XACK ----

export const xack = defineCommand<{ key: Buffer; group: Buffer; ids: StreamId[] | RedisError }>({
  name: 'xack', arity: -4, flags: ['write', 'fast'], keys: key1, aclCategories: ['write', 'stream', 'fast'],
  docs: docs('Returns the number of messages that were successfully acknowledged by the consumer group member of a stream.', '5.0.0', 'O(1) for each message ID processed.'),
  parse: (a) => {
    const ids: StreamId[] = [];
    for (const x of a.slice(3)) {
      const id = strictId(x);
      if (isRedisError(id)) return { key: a[1]!, group: a[2]!, ids: id };
      ids.push(id);
    }
    return { key: a[1]!, group: a[2]!, ids };
  },
  exec: {
    kind: 'write',
    run: (ctx, p) => {
      const s = lookupStream(ctx, p.key);
      if (isRedisError(s)) return s.reply();
      if (s === null || s.store.groups.group(s.ref, p.group) === null) return int(0);
      if (isRedisError(p.ids)) return p.ids.reply();
      let n = 0;
      for (const id of p.ids) if (s.store.groups.ack(s.ref, p.group, id)) n++;
      return int(n);
    },
  },
});

// ---- XPENDING ----

interface XpendingArgs {
  readonly key: Buffer;
  readonly group: Buffer;
  readonly range: { start: StreamId; end: StreamId; count: number; minIdle: bigint; consumer: Buffer | null } | null;
}

function parseXpending(a: readonly Buffer[]): XpendingArgs | RedisError {
  if (a.length !== 3 && (a.length < 6 || a.length > 9)) return errors.syntax();
  if (a.length === 3) return { key: a[1]!, group: a[2]!, range: null };
  let at = 3;
  let minIdle = 0n;
  if (is(a[3], 'idle')) {
    const n = llArg(a[4]!);
    if (isRedisError(n)) return n;
    if (a.length < 8) return errors.syntax();
    minIdle = n;
    at += 2;
  }
  const c = llArg(a[at + 2]!);
  if (isRedisError(c)) return c;
  const start = rangeStart(a[at]!);
  if (isRedisError(start)) return start;
  const end = rangeEnd(a[at + 1]!);
  if (isRedisError(end)) return end;
  const count = c < 0n ? 0 : c > 1_000_000_000n ? 1_000_000_000 : Number(c);
  return { key: a[1]!, group: a[2]!, range: { start, end, count, minIdle, consumer: a[at + 3] ?? null } };
}

function runXpending(ctx: ReadCtx, p: XpendingArgs): Reply {
  const sg = streamAndGroup(ctx, p.key, p.group);
  if (isRedisError(sg)) return sg.reply();
  const { s } = sg;
  const groups = s.store.groups;
  if (p.range === null) {
    const sum = groups.pendingSummary(s.ref, p.group);
    if (sum === null) return array([int(0), nil, nil, nilArray]);
    return array([
      int(groups.pendingCount(s.ref, p.group)),
      idReply(sum.first),
      idReply(sum.last),
      array(sum.consumers.map((c) => array([bulk(c.name), bulk(String(c.count))]))),
    ]);
  }
  const r = p.range;
  if (r.consumer !== null && groups.consumer(s.ref, p.group, r.consumer) === null) return array([]);
  const now = BigInt(ctx.nowMs);
  const out: Reply[] = [];
  if (r.count === 0) return array([]);
  for (const row of groups.pendingFrom(s.ref, p.group, r.start, r.consumer)) {
    if (compareIds(row.id, r.end) > 0 || out.length >= r.count) break;
    if (r.minIdle !== 0n && now - row.deliveryMs < r.minIdle) continue;
    const idle = now - row.deliveryMs;
    out.push(array([idReply(row.id), bulk(row.consumer), int(idle < 0n ? 0n : idle), int(row.deliveryCount)]));
  }
  return array(out);
}

export const xpending = defineCommand<XpendingArgs>({
  name: 'xpending', arity: -3, flags: ['readonly'], keys: key1, aclCategories: ['read', 'stream', 'slow'],
  docs: docs('Returns the information and entries from a stream consumer group\'s pending entries list.', '5.0.0', 'O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.'),
  parse: parseXpending,
  exec: { kind: 'read', run: runXpending },
});

