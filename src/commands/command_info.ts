// COMMAND, COMMAND COUNT/INFO/DOCS/LIST: rendered from the command table, in the
// shapes Redis 7 replies (redis-cli and client libraries read them).

import type { Reply } from '../../protocol/index.ts';
import { lower } from './args.ts';
import { errors } from './errors.ts';
import { bulk, int, simple } from './replies.ts';
import { defineCommand, type CommandSpec } from './spec.ts';

function keySpecs(spec: CommandSpec): Reply {
  const k = spec.keys;
  if (k === null) return { type: 'array', items: [] };
  const flags = spec.flags.includes('write') ? ['RW', 'UPDATE'] : ['RO', 'ACCESS'];
  const lastkey = k.last < 0 ? k.last : k.last - k.first;
  const map = (entries: Array<[string, Reply]>): Reply => ({ type: 'map', entries: entries.map(([a, b]) => [bulk(a), b]) });
  return {
    type: 'array',
    items: [
      map([
        ['flags', { type: 'set', items: flags.map(simple) }],
        ['begin_search', map([['type', bulk('index')], ['spec', map([['index', int(k.first)]])]])],
        ['find_keys', map([['type', bulk('range')], ['spec', map([['lastkey', int(lastkey)], ['keystep', int(k.step)], ['limit', int(0)]])]])],
      ]),
    ],
  };
}

export function commandInfo(spec: CommandSpec): Reply {
  const k = spec.keys ?? { first: 0, last: 0, step: 0 };
  return {
    type: 'array',
    items: [
      bulk(spec.name),
      int(spec.arity),
      { type: 'set', items: spec.flags.map(simple) },
      int(k.first),
      int(k.last),
      int(k.step),
      { type: 'set', items: spec.aclCategories.map((c) => simple(`@${c}`)) },
      { type: 'set', items: [] },
      keySpecs(spec),
      { type: 'array', items: (spec.subcommands ?? []).map(commandInfo) },
    ],
  };
}

function commandDocs(spec: CommandSpec): Reply {
  const d = spec.docs;
  return {
    type: 'map',
    entries: [
      [bulk('summary'), bulk(d.summary)],
      [bulk('since'), bulk(d.since)],
      [bulk('group'), bulk(d.group)],
      [bulk('complexity'), bulk(d.complexity)],
    ],
  };
}

type CommandArgs =
  | { readonly sub: 'all' | 'count' | 'list' }
  | { readonly sub: 'info' | 'docs'; readonly names: readonly string[] };

/** Internal commands (named `raftis.*`) live in the log only; clients never see them listed. */
const isPublic = (s: CommandSpec): boolean => !s.name.includes('.');

export function commandCommand(allSpecs: () => readonly CommandSpec[], lookupSpec: (name: string) => CommandSpec | undefined): CommandSpec {
  const all = (): readonly CommandSpec[] => allSpecs().filter(isPublic);
  const lookup = (name: string): CommandSpec | undefined => {
    const s = lookupSpec(name);
    return s && isPublic(s) ? s : undefined;
  };
  return defineCommand<CommandArgs>({
    name: 'command', arity: -1, flags: ['loading', 'stale'], keys: null, aclCategories: ['slow', 'connection'],
    docs: { summary: 'Returns detailed information about all commands.', since: '2.8.13', group: 'server', complexity: 'O(N) where N is the total number of Redis commands' },
    parse: (a) => {
      if (a.length === 1) return { sub: 'all' };
      const sub = lower(a[1]!);
      if (sub === 'count' || sub === 'list') return a.length === 2 || sub === 'list' ? { sub } : errors.custom(`ERR wrong number of arguments for 'command|${sub}' command`);
      if (sub === 'info' || sub === 'docs') return { sub, names: a.slice(2).map(lower) };
      return errors.unknownSubcommand(a[1]!, 'command');
    },
    exec: {
      kind: 'local',
      run: ({ session }, p) => {
        session.lastCommand = p.sub === 'all' ? 'command' : `command|${p.sub}`;
        switch (p.sub) {
          case 'all': return { type: 'array', items: all().map(commandInfo) };
          case 'count': return int(all().length);
          case 'list': return { type: 'array', items: all().map((s) => bulk(s.name)) };
          case 'info': {
            const specs = p.names.length === 0 ? all() : p.names.map(lookup);
            return { type: 'array', items: specs.map((s) => (s ? commandInfo(s) : { type: 'null' })) };
          }
          case 'docs': {
            const specs = p.names.length === 0 ? all() : p.names.map(lookup).filter((s): s is CommandSpec => s !== undefined);
            return { type: 'map', entries: specs.map((s) => [bulk(s.name), commandDocs(s)] as [Reply, Reply]) };
          }
          default: {
            const never: never = p;
            throw new Error(`unhandled COMMAND ${JSON.stringify(never)}`);
          }
        }
      },
    },
  });
}
