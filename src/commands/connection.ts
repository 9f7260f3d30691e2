// The connection family: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET and CLIENT.
// Local commands: they act on the client's session on this node and never enter
// the log. Reply suppression (CLIENT REPLY) is kept per session here.

import type { Reply } from '../../protocol/index.ts';
import { NoReply } from '../net/types.ts';
import type { Session } from '../net/session.ts';
import { intArg, is, lower } from './args.ts';
import { errors, isRedisError, type RedisError } from './errors.ts';
import { dbArg } from './keys.ts';
import { bulk, int, OK, simple } from './replies.ts';
import type { ServerContext } from './server_context.ts';
import { defineCommand, type CommandSpec } from './spec.ts';
import { stateOf, type ReplyMode } from './session_state.ts';

export const REDIS_VERSION = '7.0.15';

const docs = (summary: string, since: string, complexity = 'O(1)') => ({ summary, since, group: 'connection', complexity });


/** Applies CLIENT REPLY: what the dispatcher sends for a command given the session's mode. */
export function replyFilter(session: Session): 'send' | 'suppress' {
  const state = stateOf(session);
  const mode = state.replyMode;
  if (mode === 'skip') state.replyMode = 'on';
  return mode === 'on' ? 'send' : 'suppress';
}

export const ping = defineCommand<Buffer | null>({
  name: 'ping', arity: -1, flags: ['fast'], keys: null, aclCategories: ['fast', 'connection'],
  docs: docs('Returns the server\'s liveliness response.', '1.0.0'),
  parse: (a) => (a.length > 2 ? errors.wrongArity('ping') : (a[1] ?? null)),
  exec: { kind: 'local', run: (_ctx, msg) => (msg === null ? simple('PONG') : bulk(msg)) },
});

export const echo = defineCommand<Buffer>({
  name: 'echo', arity: 2, flags: ['fast'], keys: null, aclCategories: ['fast', 'connection'],
  docs: docs('Returns the given string.', '1.0.0'),
  parse: (a) => a[1]!,
  exec: { kind: 'local', run: (_ctx, msg) => bulk(msg) },
});

/** Without requirepass the default user is "nopass": any password is accepted for it. */
function checkPassword(server: ServerContext, user: string, pass: string): RedisError | null {
  if (user !== 'default') return errors.wrongPass();
  return server.requirePass === null || pass === server.requirePass ? null : errors.wrongPass();
}

export const auth = defineCommand<{ user: string; pass: string; legacy: boolean }>({
  name: 'auth', arity: -2, flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'], keys: null, aclCategories: ['fast', 'connection'],
  docs: docs('Authenticates the connection.', '1.0.0', 'O(N) where N is the number of passwords defined for the user'),
  parse: (a) => {
    if (a.length > 3) return errors.syntax();
    return a.length === 3
      ? { user: a[1]!.toString(), pass: a[2]!.toString(), legacy: false }
      : { user: 'default', pass: a[1]!.toString(), legacy: true };
  },
  exec: {
    kind: 'local',
    run: ({ session, server }, p) => {
      // Redis keeps the old error for the one-argument form only; "AUTH default x" is OK.
      if (server.requirePass === null && p.legacy) return errors.authNotConfigured().reply();
      const e = checkPassword(server, p.user, p.pass);
      if (e) return e.reply();
      session.authenticated = true;
      return OK;
    },
  },
});

function helloMap(session: Session, server: ServerContext): Reply {
  const field = (k: string, v: Reply): [Reply, Reply] => [bulk(k), v];
  return {
    type: 'map',
    entries: [
      field('server', bulk('redis')),
      field('version', bulk(REDIS_VERSION)),
      field('proto', int(session.protocol)),
      field('id', int(session.id)),
      field('mode', bulk('standalone')),
      field('role', bulk(server.raftInfo().role === 'leader' ? 'master' : 'replica')),
      field('modules', { type: 'array', items: [] }),
    ],
  };
}

interface HelloArgs {
  readonly proto: number | null;
  readonly auth: { user: string; pass: string } | null;
  readonly name: string | null;
}

export const hello = defineCommand<HelloArgs>({
  name: 'hello', arity: -1, flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'], keys: null, aclCategories: ['fast', 'connection'],
  docs: docs('Handshakes with the Redis server.', '6.0.0'),
  parse: (a) => {
    let proto: number | null = null;
    if (a.length >= 2) {
      const v = intArg(a[1]!);
      if (isRedisError(v)) return errors.custom('ERR Protocol version is not an integer or out of range');
      proto = v;
    }
    let auth: HelloArgs['auth'] = null;
    let name: string | null = null;
    for (let i = 2; i < a.length; i++) {
      const more = a.length - i - 1;
      if (is(a[i], 'auth') && more >= 2) {
        auth = { user: a[i + 1]!.toString(), pass: a[i + 2]!.toString() };
        i += 2;
      } else if (is(a[i], 'setname') && more >= 1) {
        name = a[i + 1]!.toString('latin1');
        i += 1;
      } else return errors.custom(`ERR Syntax error in HELLO option '${a[i]!.toString('latin1')}'`);
    }
    return { proto, auth, name };
  },
  exec: {
    kind: 'local',
    run: ({ session, server }, p) => {
      if (p.proto !== null && (p.proto < 2 || p.proto > 3)) return errors.noProto().reply();
      if (p.auth) {
        const e = checkPassword(server, p.auth.user, p.auth.pass);
        if (e) return e.reply();
        session.authenticated = true;
      }
      if (server.requirePass !== null && !session.authenticated) {
        return errors.custom('NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time').reply();
      }
      if (p.name !== null) {
        const bad = validName(p.name);
        if (bad) return bad.reply();
        session.name = p.name;
      }
      if (p.proto !== null) session.protocol = p.proto as 2 | 3;
      return helloMap(session, server);
    },
  },
});

export const select = defineCommand<number>({
  name: 'select', arity: 2, flags: ['loading', 'stale', 'fast'], keys: null, aclCategories: ['fast', 'connection'],
  docs: docs('Changes the selected database.', '1.0.0'),
  // Redis 7: getIntFromObjectOrReply (int64, then int32 with its own error), then the DB range.
  parse: (a) => dbArg(a[1]!),
  exec: { kind: 'local', run: ({ session }, db) => { session.db = db; return OK; } },
});

export const quit = defineCommand<null>({
  name: 'quit', arity: -1, flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'], keys: null, aclCategories: ['fast', 'connection'],
  docs: docs('Closes the connection.', '1.0.0'),
  parse: () => null,
  exec: { kind: 'local', run: ({ session }) => { session.closeAfterReply(); return OK; } },
});

function validName(name: string): RedisError | null {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 33 || c > 126) return errors.custom('ERR Client names cannot contain spaces, newlines or special characters.');
  }
  return null;
}

/** One CLIENT LIST / CLIENT INFO line, in Redis's field order. */
export function clientLine(s: Session, nowMs: number, multiLen: number): string {
  const age = Math.floor((nowMs - s.createdAtMs) / 1000);
  const idle = Math.floor((nowMs - s.lastInteractionMs) / 1000);
  return (
    `id=${s.id} addr=${s.addr} laddr=${s.laddr} fd=${s.id + 7} name=${s.name} age=${age} idle=${idle} ` +
    `flags=${s.renderFlags()} db=${s.db} sub=0 psub=0 ssub=0 multi=${multiLen} qbuf=${s.queryBufferBytes} ` +
    `qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem=${s.outputBufferBytes} ` +
    `tot-mem=${s.queryBufferBytes + s.outputBufferBytes} events=r cmd=${s.lastCommand} user=default redir=-1 ` +
    `resp=${s.protocol} lib-name=${s.libName} lib-ver=${s.libVer}`
  );
}

/** Filled by the transactions module: how many commands a session has queued (-1 outside MULTI). */
/** Commands queued in MULTI (CLIENT LIST multi=), -1 outside MULTI. */
const multiLength = (s: Session): number => stateOf(s).tx.queued?.length ?? -1;

type ClientArgs =
  | { readonly sub: 'id' | 'getname' | 'info' | 'list' | 'help' }
  | { readonly sub: 'setname'; readonly name: string }
  | { readonly sub: 'setinfo'; readonly attr: 'lib-name' | 'lib-ver'; readonly value: string }
  | { readonly sub: 'kill'; readonly filters: ReadonlyArray<readonly [string, string]>; readonly legacy: boolean }
  | { readonly sub: 'reply'; readonly mode: ReplyMode }
  | { readonly sub: 'flag' };

const CLIENT_SUB_ARITY: Readonly<Record<string, number>> = {
  id: 2, getname: 2, info: 2, list: -2, help: 2, setname: 3, setinfo: 4, kill: -3, reply: 3, 'no-evict': 3, 'no-touch': 3,
};

function parseClient(a: readonly Buffer[]): ClientArgs | RedisError {
  const sub = lower(a[1]!);
  const arity = CLIENT_SUB_ARITY[sub];
  if (arity === undefined) return errors.unknownSubcommand(a[1]!, 'client');
  if (arity >= 0 ? a.length !== arity : a.length < -arity) return errors.custom(`ERR wrong number of arguments for 'client|${sub}' command`);
  switch (sub) {
    case 'id': case 'getname': case 'info': case 'help':
      return { sub };
    case 'list':
      return a.length === 2 ? { sub } : errors.syntax();
    case 'setname':
      return { sub, name: a[2]!.toString('latin1') };
    case 'setinfo': {
      const attr = lower(a[2]!);
      if (attr !== 'lib-name' && attr !== 'lib-ver') return errors.custom(`ERR Unrecognized option '${a[2]!.toString('latin1')}'`);
      return { sub, attr, value: a[3]!.toString('latin1') };
    }
    case 'kill': {
      if (a.length === 3) return { sub, filters: [['addr', a[2]!.toString('latin1')]], legacy: true };
      if ((a.length - 2) % 2 !== 0) return errors.syntax();
      const filters: Array<[string, string]> = [];
      for (let i = 2; i < a.length; i += 2) {
        const f = lower(a[i]!);
        if (!['id', 'addr', 'laddr', 'skipme', 'user', 'type'].includes(f)) return errors.syntax();
        filters.push([f, a[i + 1]!.toString('latin1')]);
      }
      return { sub, filters, legacy: false };
    }
    case 'reply': {
      const mode = lower(a[2]!);
      return mode === 'on' || mode === 'off' || mode === 'skip' ? { sub, mode } : errors.syntax();
    }
    default:
      return is(a[2], 'on') || is(a[2], 'off') ? { sub: 'flag' } : errors.syntax();
  }
}

function clientKill(session: Session, server: ServerContext, p: Extract<ClientArgs, { sub: 'kill' }>): Reply {
  let skipMe = !p.legacy;
  for (const [f, v] of p.filters) {
    if (f === 'id' && !/^[1-9][0-9]*$/.test(v)) return errors.custom('ERR client-id should be greater than 0').reply();
    if (f === 'skipme') {
      if (v.toLowerCase() !== 'yes' && v.toLowerCase() !== 'no') return errors.syntax().reply();
      skipMe = v.toLowerCase() === 'yes';
    }
    if (f === 'type' && !['normal', 'master', 'replica', 'slave', 'pubsub'].includes(v.toLowerCase())) {
      return errors.custom(`ERR Unknown client type '${v}'`).reply();
    }
  }
  const victims = [...server.sessions()].filter((s) => {
    if (skipMe && s === session) return false;
    return p.filters.every(([f, v]) => {
      switch (f) {
        case 'id': return String(s.id) === v;
        case 'addr': return s.addr === v;
        case 'laddr': return s.laddr === v;
        case 'user': return v === 'default';
        case 'type': return v.toLowerCase() === 'normal';
        default: return true;
      }
    });
  });
  for (const s of victims) {
    if (s === session) s.closeAfterReply();
    else s.kill();
  }
  if (p.legacy) return victims.length === 0 ? errors.custom('ERR No such client').reply() : OK;
  return int(victims.length);
}

export const client = defineCommand<ClientArgs>({
  name: 'client', arity: -2, flags: ['noscript', 'loading', 'stale'], keys: null, aclCategories: ['slow', 'connection'],
  docs: docs('A container for client connection commands.', '2.4.0', 'Depends on subcommand.'),
  parse: parseClient,
  exec: {
    kind: 'local',
    run: ({ session, server }, p) => {
      session.lastCommand = `client|${p.sub === 'flag' ? 'no-evict' : p.sub}`;
      switch (p.sub) {
        case 'id': return int(session.id);
        case 'getname': return session.name === '' ? { type: 'null' } : bulk(session.name);
        case 'setname': {
          const bad = validName(p.name);
          if (bad) return bad.reply();
          session.name = p.name;
          return OK;
        }
        case 'setinfo': {
          const bad = p.value.includes(' ') || p.value.includes('\n') ? errors.custom(`ERR ${p.attr} cannot contain spaces, newlines or special characters.`) : null;
          if (bad) return bad.reply();
          if (p.attr === 'lib-name') session.libName = p.value;
          else session.libVer = p.value;
          return OK;
        }
        case 'info': return { type: 'verbatim', value: `${clientLine(session, Date.now(), multiLength(session))}\n`, format: 'txt' };
        case 'list': {
          const now = Date.now();
          const lines = [...server.sessions()].map((s) => `${clientLine(s, now, multiLength(s))}\n`).join('');
          return { type: 'verbatim', value: lines, format: 'txt' };
        }
        case 'kill': return clientKill(session, server, p);
        case 'reply':
          stateOf(session).replyMode = p.mode;
          return p.mode === 'on' ? OK : NoReply;
        case 'flag': return OK;
        case 'help':
          return {
            type: 'array',
            items: ['CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:', 'ID', 'GETNAME', 'SETNAME <name>', 'SETINFO <option> <value>', 'INFO', 'LIST', 'KILL <ip:port> | <option> <value> [...]', 'REPLY (ON|OFF|SKIP)', 'NO-EVICT (ON|OFF)', 'NO-TOUCH (ON|OFF)', 'HELP'].map(simple),
          };
        default: {
          const never: never = p;
          throw new Error(`unhandled CLIENT ${JSON.stringify(never)}`);
        }
      }
    },
  },
});

export const connectionCommands: readonly CommandSpec[] = [ping, echo, auth, hello, select, quit, client];

