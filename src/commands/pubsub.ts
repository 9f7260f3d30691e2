// Pub/Sub on one node: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH,
// with Redis's replies and its RESP2 subscribed-mode rules. Messages are not
// replicated: a PUBLISH reaches the subscribers of the node it is sent to. raftis
// itself publishes Sentinel's +switch-master on every node when the leader changes.

import type { Reply } from '../../protocol/index.ts';
import { globMatch } from '../state/glob.ts';
import type { Session } from '../net/session.ts';
import { NoReply } from '../net/types.ts';
import { int, bulk } from './replies.ts';
import { defineCommand, type CommandSpec, type LocalResult } from './spec.ts';

interface Subs {
  readonly channels: Set<string>;
  readonly patterns: Set<string>;
}

const key = (b: Buffer): string => b.toString('latin1');
const push = (items: Reply[]): Reply => ({ type: 'push', items });

/** Who listens to what on this node. */
export class PubSubHub {
  readonly #channels = new Map<string, Set<Session>>();
  readonly #patterns = new Map<string, Set<Session>>();
  readonly #subs = new WeakMap<Session, Subs>();

  subs(s: Session): Subs {
    let x = this.#subs.get(s);
    if (!x) this.#subs.set(s, (x = { channels: new Set(), patterns: new Set() }));
    return x;
  }

  count(s: Session): number {
    const x = this.#subs.get(s);
    return x ? x.channels.size + x.patterns.size : 0;
  }

  /** In RESP2, a subscribed client may only (un)subscribe, PING, QUIT and RESET. */
  inSubscribedMode(s: Session): boolean {
    return s.protocol === 2 && this.count(s) > 0;
  }

  add(kind: 'channel' | 'pattern', s: Session, name: string): boolean {
    const mine = kind === 'channel' ? this.subs(s).channels : this.subs(s).patterns;
    if (mine.has(name)) return false;
    mine.add(name);
    const index = kind === 'channel' ? this.#channels : this.#patterns;
    let set = index.get(name);
    if (!set) index.set(name, (set = new Set()));
    set.add(s);
    this.#flag(s);
    return true;
  }

  remove(kind: 'channel' | 'pattern', s: Session, name: string): void {
    const mine = kind === 'channel' ? this.subs(s).channels : this.subs(s).patterns;
    mine.delete(name);
    const index = kind === 'channel' ? this.#channels : this.#patterns;
    const set = index.get(name);
    set?.delete(s);
    if (set?.size === 0) index.delete(name);
    this.#flag(s);
  }

  /** Forgets a closed session everywhere. */
  drop(s: Session): void {
    const x = this.#subs.get(s);
    if (!x) return;
    for (const c of [...x.channels]) this.remove('channel', s, c);
    for (const p of [...x.patterns]) this.remove('pattern', s, p);
  }

  /** Delivers to the subscribers of `channel` on this node; returns how many received it. */
  publish(channel: Buffer, message: Buffer): number {
    let n = 0;
    for (const s of this.#channels.get(key(channel)) ?? []) {
      if (s.deliver(push([bulk('message'), bulk(channel), bulk(message)]))) n++;
    }
    for (const [pattern, sessions] of this.#patterns) {
      if (!globMatch(Buffer.from(pattern, 'latin1'), channel)) continue;
      for (const s of sessions) {
        if (s.deliver(push([bulk('pmessage'), bulk(Buffer.from(pattern, 'latin1')), bulk(channel), bulk(message)]))) n++;
      }
    }
    return n;
  }

  #flag(s: Session): void {
    if (this.count(s) > 0) s.flags.add('P');
    else s.flags.delete('P');
  }
}

/**
 * A (un)subscribe command answers once per channel: every answer is delivered in order
 * (after the replies already due), and the command's own reply slot stays empty.
 */
function replies(session: Session, out: readonly Reply[]): LocalResult {
  for (const r of out) session.deliver(r);
  return NoReply;
}

export function pubsubCommands(hub: PubSubHub): readonly CommandSpec[] {
  const docs = (summary: string) => ({ summary, since: '2.0.0', group: 'pubsub', complexity: 'O(N)' });
  const flags = ['pubsub', 'noscript', 'loading', 'stale'] as const;
  const sub = (name: 'subscribe' | 'psubscribe', kind: 'channel' | 'pattern'): CommandSpec =>
    defineCommand<readonly string[]>({
      name, arity: -2, flags: [...flags], keys: null, aclCategories: ['pubsub', 'slow'],
      docs: docs(kind === 'channel' ? 'Listens for messages published to channels.' : 'Listens for messages published to channels that match patterns.'),
      parse: (a) => a.slice(1).map(key),
      exec: {
        kind: 'local',
        run: ({ session }, names) =>
          replies(
            session,
            names.map((n) => {
              hub.add(kind, session, n);
              return push([bulk(name), bulk(Buffer.from(n, 'latin1')), int(hub.count(session))]);
            }),
          ),
      },
    });
  const unsub = (name: 'unsubscribe' | 'punsubscribe', kind: 'channel' | 'pattern'): CommandSpec =>
    defineCommand<readonly string[]>({
      name, arity: -1, flags: [...flags], keys: null, aclCategories: ['pubsub', 'slow'],
      docs: docs(kind === 'channel' ? 'Stops listening to messages posted to channels.' : 'Stops listening to messages published to channels that match patterns.'),
      parse: (a) => a.slice(1).map(key),
      exec: {
        kind: 'local',
        run: ({ session }, names) => {
          const mine = kind === 'channel' ? hub.subs(session).channels : hub.subs(session).patterns;
          const targets = names.length > 0 ? names : [...mine];
          if (targets.length === 0) return push([bulk(name), { type: 'null' }, int(hub.count(session))]);
          return replies(
            session,
            targets.map((n) => {
              hub.remove(kind, session, n);
              return push([bulk(name), bulk(Buffer.from(n, 'latin1')), int(hub.count(session))]);
            }),
          );
        },
      },
    });
  const publish = defineCommand<{ channel: Buffer; message: Buffer }>({
    name: 'publish', arity: 3, flags: ['pubsub', 'loading', 'stale', 'fast'], keys: null, aclCategories: ['pubsub', 'fast'],
    docs: { ...docs('Posts a message to a channel (subscribers of this node only).'), complexity: 'O(N+M)' },
    parse: (a) => ({ channel: Buffer.from(a[1]!), message: Buffer.from(a[2]!) }),
    exec: { kind: 'local', run: (_ctx, p) => int(hub.publish(p.channel, p.message)) },
  });
  return [sub('subscribe', 'channel'), sub('psubscribe', 'pattern'), unsub('unsubscribe', 'channel'), unsub('punsubscribe', 'pattern'), publish];
}

/** Commands a RESP2 client in subscribed mode may send. */
export const SUBSCRIBED_MODE_COMMANDS = new Set(['subscribe', 'psubscribe', 'unsubscribe', 'punsubscribe', 'ssubscribe', 'sunsubscribe', 'ping', 'quit', 'reset']);
