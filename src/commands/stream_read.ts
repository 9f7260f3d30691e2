// XREAD and XREADGROUP. Both are local commands so they can block and shape the reply
// for the client's protocol (RESP2: [[key, entries]...], RESP3: {key: entries}). XREAD
// reads after a read barrier; XREADGROUP proposes the internal write `raftis.xreadgroup`
// (group bookkeeping happens at apply time on every replica) and, when BLOCKed with
// nothing to serve, waits for a write to one of its keys and proposes again.

import type { Reply } from '../../protocol/index.ts';
import { NoReply } from '../net/types.ts';
import type { Session } from '../net/session.ts';
import { encodePayload } from '../state/entry_codec.ts';
import { compareIds, incrId, MAX_ID, ZERO_ID, type StreamId } from '../state/index.ts';
import { is, parseInt64 } from './args.ts';
import { cText, errors, isRedisError, RedisError } from './errors.ts';
import type { Gateway } from './gateway.ts';
import { array, bulk, nilArray } from './replies.ts';
import { defineCommand, type CommandSpec, type LocalResult, type ReadCtx, type WriteCtx } from './spec.ts';
import { deletedEntryReply, entriesReply, entryReply, lookupStream, strictId, type StreamRef } from './stream_args.ts';
import { entriesReadAfter } from './stream_info.ts';

export interface StreamDeps {
  readonly gateway: Gateway;
  /** The log index of the session's last proposed write (read-your-writes). */
  lastWrite(session: Session): number;
  /** Record a write this session proposed outside the dispatcher. */
  noteWrite(session: Session, index: number): void;
}

const docs = (summary: string, complexity: string) => ({ summary, since: '5.0.0', group: 'stream', complexity });

interface ReadArgs {
  /** null: no BLOCK; 0: forever; else milliseconds. */
  readonly blockMs: number | null;
  readonly count: number;
  readonly group: { readonly name: Buffer; readonly consumer: Buffer } | null;
  readonly noack: boolean;
  readonly keys: readonly Buffer[];
  readonly ids: readonly Buffer[];
}

function parseRead(a: readonly Buffer[], first: number, xreadgroup: boolean): ReadArgs | RedisError {
  let blockMs: number | null = null;
  let count = 0;
  let group: ReadArgs['group'] = null;
  let noack = false;
  for (let i = first; i < a.length; i++) {
    const more = a.length - i - 1;
    const o = a[i]!;
    if (is(o, 'block') && more > 0) {
      const t = parseInt64(a[++i]!);
      if (t === null) return errors.custom('ERR timeout is not an integer or out of range');
      if (t < 0n) return errors.custom('ERR timeout is negative');
      blockMs = Number(t > 2n ** 52n ? 2n ** 52n : t);
    } else if (is(o, 'count') && more > 0) {
      const n = parseInt64(a[++i]!);
      if (n === null) return errors.notInteger();
      count = n < 0n ? 0 : n > 1_000_000_000n ? 1_000_000_000 : Number(n);
    } else if (is(o, 'streams') && more > 0) {
      const rest = a.slice(i + 1);
      if (rest.length % 2 !== 0) {
        const name = xreadgroup ? 'xreadgroup' : 'xread';
        return errors.custom(`ERR Unbalanced '${name}' list of streams: for each stream key an ID or '${xreadgroup ? '>' : '$'}' must be specified.`);
      }
      if (xreadgroup && group === null) return errors.custom('ERR Missing GROUP option for XREADGROUP');
      return { blockMs, count, group, noack, keys: rest.slice(0, rest.length / 2), ids: rest.slice(rest.length / 2) };
    } else if (is(o, 'group') && more >= 2) {
      if (!xreadgroup) return errors.custom('ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.');
      group = { name: a[i + 1]!, consumer: a[i + 2]! };
      i += 2;
    } else if (is(o, 'noack')) {
      if (!xreadgroup) return errors.custom('ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.');
      noack = true;
    } else return errors.syntax();
  }
  return errors.syntax();
}

const isToken = (b: Buffer, c: number): boolean => b.length === 1 && b[0] === c;

/** Per stream: the stream (or null) and the ID to read after (`>` is MAX_ID for groups). */
interface Resolved {
  readonly s: StreamRef | null;
  readonly after: StreamId;
  readonly newOnly: boolean;
}

function resolve(ctx: ReadCtx, p: ReadArgs, fixed: readonly StreamId[] | null): Resolved[] | RedisError {
  const out: Resolved[] = [];
  for (let i = 0; i < p.keys.length; i++) {
    const key = p.keys[i]!;
    const s = lookupStream(ctx, key);
    if (isRedisError(s)) return s;
    if (p.group !== null && (s === null || s.store.groups.group(s.ref, p.group.name) === null)) {
      return errors.custom(`NOGROUP No such key '${cText(key)}' or consumer group '${cText(p.group.name)}' in XREADGROUP with GROUP option`);
    }
    const arg = p.ids[i]!;
    if (fixed !== null) out.push({ s, after: fixed[i]!, newOnly: false });
    else if (isToken(arg, 0x24)) {
      if (p.group !== null) {
        return errors.custom('ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.');
      }
      out.push({ s, after: s === null ? ZERO_ID : s.meta().lastId, newOnly: false });
    } else if (isToken(arg, 0x3e)) {
      if (p.group === null) return errors.custom('ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.');
      out.push({ s, after: MAX_ID, newOnly: true });
    } else {
      const id = strictId(arg);
      if (isRedisError(id)) return id;
      out.push({ s, after: id, newOnly: false });
    }
  }
  return out;
}

type Served = Array<readonly [Buffer, Reply]>;

function shape(served: Served, protocol: 2 | 3): Reply {
  if (served.length === 0) return nilArray;
  if (protocol === 3) return { type: 'map', entries: served.map(([k, v]) => [bulk(k), v] as const) };
  return array(served.map(([k, v]) => array([bulk(k), v])));
}

/** XREAD's read: streams with entries after their ID. */
function xreadOnce(ctx: ReadCtx, p: ReadArgs, rs: readonly Resolved[]): Served {
  const served: Served = [];
  rs.forEach((r, i) => {
    if (r.s === null) return;
    const top = r.s.store.lastEntryId(r.s.ref);
    if (top === null || compareIds(top, r.after) <= 0) return;
    const start = incrId(r.after) ?? ZERO_ID;
    served.push([p.keys[i]!, entriesReply(r.s.store.range(r.s.ref, start, MAX_ID, p.count))]);
  });
  void ctx;
  return served;
}

/** XREADGROUP at apply time: serves history or new entries, updating group, consumer and PEL. */
export function xreadgroupApply(ctx: WriteCtx, p: ReadArgs): Served | RedisError {
  const rs = resolve(ctx, p, null);
  if (isRedisError(rs)) return rs;
  const { name: grp, consumer } = p.group!;
  const served: Served = [];
  rs.forEach((r, i) => {
    const s = r.s!;
    const groups = s.store.groups;
    let g = groups.group(s.ref, grp)!;
    let after = r.after;
    if (r.newOnly) {
      const top = s.store.lastEntryId(s.ref);
      if (top === null || compareIds(top, g.lastId) <= 0) return;
      after = g.lastId;
    }
    const start = incrId(after) ?? ZERO_ID;
    groups.seeConsumer(s.ref, grp, consumer, ctx.nowMs);
    const items: Reply[] = [];
    if (!r.newOnly) {
      for (const row of groups.pendingRange(s.ref, grp, start, MAX_ID, p.count, consumer)) {
        const fields = s.store.get(s.ref, row.id);
        if (fields === null) items.push(deletedEntryReply(row.id));
        else {
          items.push(entryReply({ id: row.id, fields }));
          groups.putPending(s.ref, grp, row.id, consumer, ctx.nowMs, row.deliveryCount + 1n);
        }
      }
    } else {
      const m = s.meta();
      for (const e of s.store.range(s.ref, start, MAX_ID, p.count)) {
        if (compareIds(e.id, g.lastId) > 0) g = { ...g, lastId: e.id, entriesRead: entriesReadAfter(s, m, g, e.id) };
        items.push(entryReply(e));
        if (!p.noack) groups.putPending(s.ref, grp, e.id, consumer, ctx.nowMs, 1);
      }
      groups.put(s.ref, grp, g.lastId, g.entriesRead);
    }
    served.push([p.keys[i]!, array(items)]);
  });
  return served;
}

/** Whether a `>` read of the group might now be served (or fail): then propose again instead of blocking. */
function groupMayServe(ctx: ReadCtx, p: ReadArgs): boolean {
  return p.keys.some((key, i) => {
    if (!isToken(p.ids[i]!, 0x3e)) return true;
    const s = lookupStream(ctx, key);
    if (s === null || isRedisError(s)) return true;
    const g = s.store.groups.group(s.ref, p.group!.name);
    const top = s.store.lastEntryId(s.ref);
    return g === null || (top !== null && compareIds(top, g.lastId) > 0);
  });
}

const localCtx = (g: Gateway, db: number): ReadCtx => ({ ks: g.keyspace(), db, nowMs: Date.now(), random: Math.random });

/**
 * Waits for a write to one of `keys` until `deadline` (null: forever); false when the wait
 * is over. `onProposal`: wake when such a write is proposed here, not only when applied.
 */
async function waitMore(deps: StreamDeps, session: Session, keys: readonly Buffer[], deadline: number | null, onProposal = false): Promise<boolean> {
  const remaining = deadline === null ? null : deadline - Date.now();
  if (remaining !== null && remaining <= 0) return false;
  const outcome = await deps.gateway.waitForKeys(keys.map((key) => ({ db: session.db, key })), remaining, session, onProposal);
  return outcome === 'changed';
}

const deadlineOf = (blockMs: number): number | null => (blockMs === 0 ? null : Date.now() + blockMs);

async function runXread(deps: StreamDeps, session: Session, p: ReadArgs): Promise<Reply> {
  const deadline = p.blockMs === null ? null : deadlineOf(p.blockMs);
  let fixed: StreamId[] | null = null;
  for (;;) {
    const e = await deps.gateway.readBarrier(deps.lastWrite(session));
    if (e) return e.reply();
    const ctx = localCtx(deps.gateway, session.db);
    const rs = resolve(ctx, p, fixed);
    if (isRedisError(rs)) return rs.reply();
    fixed = rs.map((r) => r.after);
    const served = xreadOnce(ctx, p, rs);
    if (served.length > 0 || p.blockMs === null) return shape(served, session.protocol);
    if (!(await waitMore(deps, session, p.keys, deadline))) return nilArray;
  }
}

async function runXreadgroup(deps: StreamDeps, session: Session, p: ReadArgs, args: readonly Buffer[]): Promise<Reply | typeof NoReply> {
  const deadline = p.blockMs === null ? null : deadlineOf(p.blockMs);
  const db = session.db;
  const logged = [Buffer.from(INTERNAL), Buffer.from(String(session.protocol)), ...args.slice(1).map((a) => Buffer.from(a))];
  for (;;) {
    const proposal = deps.gateway.propose((timeMs) =>
      encodePayload({ kind: 'commands', timeMs, watches: [], transaction: false, commands: [{ db, args: logged }] }));
    if (isRedisError(proposal)) return proposal.reply();
    deps.noteWrite(session, proposal.index);
    const r = await proposal.result;
    if (r.type !== 'null-array' || p.blockMs === null) return r;
    // An entry applied in the same batch as ours woke nobody we were waiting with: look first.
    if (groupMayServe(localCtx(deps.gateway, db), p)) continue;
    // Woken as soon as a write to a key is proposed on this node (a leader): our read then
    // follows it in the same log entry, one fsync for both, as Redis serves a blocked
    // client right after the command that fed it. Writes proposed elsewhere wake us when
    // applied. A read that finds nothing (the write failed, another consumer was first)
    // waits again.
    if (!(await waitMore(deps, session, p.keys, deadline, true))) return nilArray;
  }
}

/** The logged form of XREADGROUP: `raftis.xreadgroup <protocol> <XREADGROUP arguments...>`. */
const INTERNAL = 'raftis.xreadgroup';

export const xreadgroupInternal = defineCommand<{ protocol: 2 | 3; p: ReadArgs }>({
  name: INTERNAL, arity: -8, flags: ['write', 'noscript'], keys: null, aclCategories: ['write', 'stream', 'slow'],
  docs: docs('raftis internal: the replicated part of XREADGROUP (do not call directly).', 'O(M)'),
  parse: (a) => {
    const p = parseRead(a, 2, true);
    if (isRedisError(p)) return p;
    return { protocol: a[1]![0] === 0x33 ? 3 : 2, p };
  },
  exec: {
    kind: 'write',
    run: (ctx, { protocol, p }) => {
      const served = xreadgroupApply(ctx, p);
      return isRedisError(served) ? served.reply() : shape(served, protocol);
    },
  },
});

const readKeys = { first: 0, last: 0, step: 0 };

export function streamReadCommands(deps: StreamDeps): readonly CommandSpec[] {
  const xread = defineCommand<ReadArgs>({
    name: 'xread', arity: -4, flags: ['readonly', 'blocking'], keys: readKeys, aclCategories: ['read', 'stream', 'slow', 'blocking'],
    docs: docs('Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.', 'For each stream mentioned: O(M) with M being the number of elements returned.'),
    parse: (a) => parseRead(a, 1, false),
    exec: { kind: 'local', run: ({ session }, p): LocalResult => runXread(deps, session, p) },
  });
  const xreadgroup = defineCommand<{ p: ReadArgs; args: readonly Buffer[] }>({
    name: 'xreadgroup', arity: -7, flags: ['write', 'blocking'], keys: readKeys, aclCategories: ['write', 'stream', 'slow', 'blocking'],
    docs: docs('Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise.', 'For each stream mentioned: O(M) with M being the number of elements returned.'),
    parse: (a) => {
      const p = parseRead(a, 1, true);
      return isRedisError(p) ? p : { p, args: a };
    },
    exec: { kind: 'local', run: ({ session }, { p, args }): LocalResult => runXreadgroup(deps, session, p, args) },
  });
  return [xread, xreadgroup, xreadgroupInternal];
}
