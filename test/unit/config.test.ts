// Configuration parsing: redis-server style flags, RAFTIS_* variables, and fast,
// clear failures for bad values.

import test from 'ava';
import { ConfigError, envName, infoRequest, parseConfig, usage } from '../../src/config.ts';

test('defaults: a single node on 127.0.0.1:6379 with data in ./data', (t) => {
  const c = parseConfig([], {});
  t.is(c.port, 6379);
  t.deepEqual(c.bind, ['127.0.0.1']);
  t.is(c.dir, './data');
  t.is(c.requirepass, null);
  t.is(c.appendfsync, 'always');
});

test('flags in both forms, and flags win over the environment', (t) => {
  const c = parseConfig(['--port', '6380', '--dir=/tmp/x', '--bind', '127.0.0.1 ::1', '--requirepass', 's3cret'], {
    RAFTIS_PORT: '7000',
    RAFTIS_MAXCLIENTS: '5',
  });
  t.is(c.port, 6380);
  t.is(c.dir, '/tmp/x');
  t.deepEqual(c.bind, ['127.0.0.1', '::1']);
  t.is(c.requirepass, 's3cret');
  t.is(c.maxclients, 5);
});

test('environment variable names', (t) => {
  t.is(envName('node-id'), 'RAFTIS_NODE_ID');
  t.is(parseConfig([], { RAFTIS_NODE_ID: 'n7' }).nodeId, 'n7');
});

for (const [argv, msg] of [
  [['--port', 'abc'], /--port: 'abc'/],
  [['--port', '70000'], /--port: 70000/],
  [['--nope', '1'], /unknown flag --nope/],
  [['--port'], /--port needs a value/],
  [['stray'], /unexpected argument 'stray'/],
  [['--appendfsync', 'sometimes'], /expected one of always, no/],
  [['--node-id', 'bad id'], /--node-id/],
] as const) {
  test(`bad input fails fast: ${argv.join(' ')}`, (t) => {
    t.throws(() => parseConfig(argv, {}), { instanceOf: ConfigError, message: msg });
  });
}

test('a bad environment value names the flag', (t) => {
  t.throws(() => parseConfig([], { RAFTIS_TIMEOUT: '-1' }), { instanceOf: ConfigError, message: /--timeout/ });
});

test('--row-cache-mb: 32 by default, 0 turns the cache off, negative or non-integer refused', (t) => {
  t.is(parseConfig([], {}).rowCacheMb, 32);
  t.is(parseConfig(['--row-cache-mb', '0'], {}).rowCacheMb, 0);
  t.is(parseConfig([], { RAFTIS_ROW_CACHE_MB: '16' }).rowCacheMb, 16);
  t.throws(() => parseConfig(['--row-cache-mb', '-1'], {}), { instanceOf: ConfigError, message: /--row-cache-mb/ });
  t.throws(() => parseConfig(['--row-cache-mb', '1.5'], {}), { instanceOf: ConfigError, message: /--row-cache-mb/ });
});

test('--help and --version are asked for alone (-h, -v too); anything else runs', (t) => {
  t.is(infoRequest(['--help']), 'help');
  t.is(infoRequest(['-h']), 'help');
  t.is(infoRequest(['--version']), 'version');
  t.is(infoRequest(['-v']), 'version');
  t.is(infoRequest([]), null);
  t.is(infoRequest(['--port', '6380']), null);
  t.is(infoRequest(['--help', '--port']), null);
});

test('usage lists every flag with its variable, its default, and a flag it names parses', (t) => {
  const lines = usage().split('\n').filter((l) => l.startsWith('  --'));
  t.true(lines.length >= 20);
  for (const line of lines) {
    const [flag, variable] = line.trim().split(/\s+/) as [string, string];
    t.is(variable, envName(flag.slice(2)), line);
    // Known to the parser: an unknown flag would throw "unknown flag".
    t.notThrows(() => {
      try {
        parseConfig([flag, 'x'], {});
      } catch (e) {
        if (/unknown flag/.test((e as Error).message)) throw e;
      }
    }, line);
  }
  t.regex(usage(), /--port {2,}RAFTIS_PORT {2,}.*\(default 6379\)/);
  t.regex(usage(), /--join {2,}RAFTIS_JOIN {2,}.*\(default no\)/);
  t.regex(usage(), /--nats {2,}RAFTIS_NATS {2,}[^(]*$/m);
});
