// Applies one committed entry to the keyspace: the deterministic half of every
// write (and of reads inside MULTI/EXEC). Runs on every replica inside the state
// transaction; the result is the reply for the client that proposed the entry.
// Invariant: depends only on the entry (its data, index and time) and the state.

import type { Reply } from '../../protocol/index.ts';
import type { LogIndex } from '../../consensus/index.ts';
import { decodePayload, splitEntry, type EntryPayload, type Watch } from '../state/entry_codec.ts';
import type { Keyspace } from '../state/keyspace.ts';
import type { ForwardedWrites } from '../state/forwarded.ts';
import { StreamStore } from '../state/stream_store.ts';
import { commandName, decodeReply, encodeReply } from '../../protocol/index.ts';
import { errors, isRedisError } from './errors.ts';
import { array, nilArray } from './replies.ts';
import { arityOk, type CommandSpec, type WriteCtx } from './spec.ts';

export type CommandLookup = (name: string) => CommandSpec | undefined;

/** A PRNG stream derived from the entry index, for RANDOMKEY inside a transaction. */
function entryRandom(index: number): () => number {
  let s = (index * 2654435761) >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function watchFired(ks: Keyspace, w: Watch, nowMs: number): boolean {
  if (w.stamp < ks.tombstoneHorizon()) return true; // too old to tell: abort rather than risk a lost update
  if (ks.modStamp(w.db, w.key) > w.stamp) return true;
  return w.existed && !ks.exists(w.db, w.key, nowMs);
}

/** A key an applied write may have changed; key null = the whole db (db -1: every db). */
export interface Touched {
  readonly db: number;
  readonly key: Buffer | null;
}

/** The keys a write names, by its key spec (what blocked readers of those keys wait for). */
export function touchedKeys(spec: CommandSpec, db: number, args: readonly Buffer[], out: Touched[]): void {
  if (spec.name === 'flushall') out.push({ db: -1, key: null });
  else if (spec.name === 'flushdb') out.push({ db, key: null });
  const k = spec.keys;
  if (k === null || k.step <= 0) return;
  const last = k.last < 0 ? args.length + k.last : k.last;
  for (let i = k.first; i <= last && i < args.length; i += k.step) out.push({ db, key: Buffer.from(args[i]!) });
}

function runOne(lookup: CommandLookup, ctx: WriteCtx, args: readonly Buffer[], touched: Touched[] | null): Reply {
  const spec = lookup(commandName(args[0]!));
  if (spec === undefined) return errors.unknownCommand(args[0]!, args.slice(1)).reply();
  if (!arityOk(spec.arity, args.length)) return errors.wrongArity(spec.name).reply();
  const parsed = spec.parse(args);
  if (isRedisError(parsed)) return parsed.reply();
  switch (spec.exec.kind) {
    case 'read':
      return spec.exec.run(ctx, parsed);
    case 'write':
      if (touched !== null) touchedKeys(spec, ctx.db, args, touched);
      return spec.exec.run(ctx, parsed);
    case 'local':
      throw new Error(`local command ${spec.name} found in the log`);
    default: {
      const never: never = spec.exec;
      throw new Error(`unknown exec ${JSON.stringify(never)}`);
    }
  }
}

function runCommands(lookup: CommandLookup, ks: Keyspace, index: LogIndex, p: Extract<EntryPayload, { kind: 'commands' }>, touched: Touched[] | null): Reply {
  if (p.watches.some((w) => watchFired(ks, w, p.timeMs))) return nilArray;
  const random = entryRandom(index);
  const replies = p.commands.map((c) => runOne(lookup, { ks, db: c.db, nowMs: p.timeMs, index, random }, c.args, touched));
  return p.transaction ? array(replies) : (replies[0] ?? nilArray);
}

/**
 * The replies for the proposers of the payloads in `data` at `index` (one, or a batch's
 * parts in order), null for payloads nobody waits on. Keys the entry may have changed
 * are appended to `touched` (null: nobody waits on keys, none are collected).
 */
export function applyEntry(
  lookup: CommandLookup,
  ks: Keyspace,
  index: LogIndex,
  data: Uint8Array,
  touched: Touched[] | null = [],
  forwarded: ForwardedWrites | null = null,
): Array<Reply | null> {
  const parts = splitEntry(data);
  const replies: Array<Reply | null> = new Array(parts.length);
  for (let i = 0; i < parts.length; i++) replies[i] = applyPayload(lookup, ks, index, parts[i]!, touched, forwarded);
  return replies;
}

function applyPayload(
  lookup: CommandLookup,
  ks: Keyspace,
  index: LogIndex,
  data: Uint8Array,
  touched: Touched[] | null,
  forwarded: ForwardedWrites | null,
): Reply | null {
  const p: EntryPayload = decodePayload(data);
  switch (p.kind) {
    case 'noop':
      return null;
    case 'expire':
      for (const k of ks.deleteExpired(p.keys, p.timeMs, index)) touched?.push({ db: k.db, key: k.key });
      return null;
    case 'reclaim':
      StreamStore.of(ks.state).reclaim(p.rows);
      return null;
    case 'commands': {
      if (p.origin && forwarded) {
        // A re-sent forward of a write already applied: answer as the first time, change nothing.
        const seen = forwarded.seen(p.origin.node, p.origin.seq);
        if (seen) return decodeReply(seen);
      }
      const reply = runCommands(lookup, ks, index, p, touched);
      if (p.origin && forwarded) forwarded.record(p.origin.node, p.origin.seq, index, encodeReply(reply));
      return reply;
    }
    default: {
      const never: never = p;
      throw new Error(`unknown payload ${JSON.stringify(never)}`);
    }
  }
}
