// Differential tests: raftis against a real redis-server (7.0.15). Seeded random command
// sequences and hand-written edge cases go to both over raw RESP; replies must be equal
// except for what is legitimately nondeterministic (see test/support/differential.ts).
// One server pair for the file; tests are serial because they share the keyspace.

import test from 'ava';
import { Cleanups, startRaftis, startRedis, type ServerProcess } from '../support/processes.ts';
import { DiffSession, showArgs, transcript, type DiffCommand } from '../support/differential.ts';
import { Prng } from '../support/prng.ts';
import { RespConn } from '../support/resp_conn.ts';
import { encodeCommand, render, type Arg } from '../support/resp_reply.ts';
import { waitUntil, within } from '../support/wait.ts';
import { nextCommand } from './command_gen.ts';

// Soak runs: RAFTIS_DIFF_SEEDS=500 RAFTIS_DIFF_SEED_BASE=7000 npx ava test/integration/differential.test.ts
const SEED_COUNT = Number(process.env.RAFTIS_DIFF_SEEDS ?? 20);
const SEED_BASE = Number(process.env.RAFTIS_DIFF_SEED_BASE ?? 1000);
const SEEDS = Array.from({ length: SEED_COUNT }, (_, i) => SEED_BASE + i);
const COMMANDS_PER_SEED = 300;

const cleanups = new Cleanups();
let redis: ServerProcess;
let raftis: ServerProcess;

test.before(async () => {
  [redis, raftis] = await Promise.all([startRedis(cleanups), startRaftis(cleanups)]);
});
test.after.always(() => cleanups.run());

/** A fresh session on both servers after FLUSHALL; closed when the test ends. */
async function session(t: { teardown(fn: () => void): void }, label: string): Promise<DiffSession> {
  const s = await DiffSession.open(redis.port, raftis.port, label);
  t.teardown(() => s.close());
  await s.run({ args: ['FLUSHALL'] });
  return s;
}

/** Runs each command on both servers, comparing replies. */
async function script(s: DiffSession, cmds: ReadonlyArray<readonly Arg[] | DiffCommand>): Promise<void> {
  for (const cmd of cmds) await s.run(Array.isArray(cmd) ? { args: cmd } : (cmd as DiffCommand));
}

/** Adds the servers' output to a failure when one of them is no longer running. */
async function explainCrash(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    // A crash shows up as a closed connection a moment before the exit: wait for it (bounded).
    await within(Promise.race([redis.exited, raftis.exited]), 'a server exit', 2000).catch(() => undefined);
    const dead = [redis, raftis].filter((p) => !p.running);
    if (dead.length === 0) throw e;
    throw new Error(`${String(e)}\n${dead.map((p) => p.describe()).join('\n')}`, { cause: e });
  }
}

for (const seed of SEEDS) {
  test.serial(`seeded random commands agree with redis-server (seed ${seed})`, async (t) => {
    const s = await session(t, `seed ${seed}`);
    const r = new Prng(seed);
    // Odd seeds speak RESP3 (HELLO's id differs between servers, so only its type is compared).
    if (seed % 2 === 1) {
      const hello = await s.run({ args: ['HELLO', '3'], norm: 'type-only' });
      t.is(hello.t, 'map');
    }
    await explainCrash(async () => {
      for (let i = 0; i < COMMANDS_PER_SEED; i++) await s.run(nextCommand(r, s));
    });
    if (s.inMulti) await s.run({ args: ['DISCARD'] });
    // The final state must agree too: every key of every DB used, with its value and TTL.
    for (const db of ['0', '1', '2']) {
      await script(s, [['SELECT', db], { args: ['KEYS', '*'], norm: 'sorted' }, ['DBSIZE']]);
    }
    t.pass();
  });
}

// ---- hand-written edge cases: each a script run on both servers, replies compared ----

const E = (args: readonly Arg[], norm?: DiffCommand['norm']): DiffCommand => ({ args, norm });
const long = (n: number, c = 'x'): string => c.repeat(n);

const scripts: Record<string, ReadonlyArray<readonly Arg[] | DiffCommand>> = {
  'unknown commands and subcommands': [
    ['NOSUCH'], ['nosuch', 'a', 'b'], ['NOSUCH', long(200)], [long(300, 'Z')], ['NOSUCH', ...Array.from({ length: 40 }, (_, i) => `arg${i}`)],
    ['NOSUCH', 'quote\'s', 'new\nline'], ['CLIENT', 'FOO'], ['CLIENT', long(200)], ['CONFIG', 'FOO'], ['COMMAND', 'FOO'],
    ['CLIENT'], ['CLIENT', 'SETNAME'], ['CLIENT', 'GETNAME', 'x'], ['CLIENT', 'INFO', 'x'], ['CLIENT', 'NO-EVICT', 'maybe'],
    ['CLIENT', 'REPLY', 'bogus'], ['CLIENT', 'KILL', '1.2.3.4:5'], ['CONFIG'], ['COMMAND', 'COUNT', 'x'],
  ],
  'wrong arity is answered per command': [
    ['GET'], ['SET', 'a'], ['SETEX', 'a', '1'], ['GETSET', 'a'], ['MGET'], ['MSET'], ['MSET', 'a'], ['MSET', 'a', 'b', 'c'],
    ['MSETNX', 'a', 'b', 'c'], ['INCR'], ['INCR', 'a', 'b'], ['INCRBY', 'a'], ['APPEND', 'a'], ['GETRANGE', 'a', '1'],
    ['SETRANGE', 'a'], ['DEL'], ['EXISTS'], ['KEYS'], ['SCAN'], ['RENAME', 'a'], ['COPY', 'a'], ['MOVE', 'a'],
    ['EXPIRE', 'a'], ['PEXPIREAT', 'a'], ['TTL', 'a', 'b'], ['PERSIST'], ['SELECT'], ['DBSIZE', 'x'], ['MULTI', 'x'],
    ['DISCARD', 'x'], ['WATCH'], ['UNWATCH', 'x'], ['ECHO'], ['PING', 'a', 'b'], ['TYPE'], ['RANDOMKEY', 'a'],
    ['FLUSHDB', 'a', 'b'], ['GETEX'], ['GETDEL'], ['TOUCH'], ['UNLINK'], ['EXPIRETIME'], ['SETNX', 'a'], ['PSETEX', 'a', '1'],
  ],
  'commands on missing keys': [
    ['GET', 'm'], ['STRLEN', 'm'], ['GETRANGE', 'm', '0', '-1'], ['GETDEL', 'm'], ['GETEX', 'm'], ['GETEX', 'm', 'EX', 'abc'],
    ['GETEX', 'm', 'PX', '0'], ['GETEX', 'm', 'PERSIST'], ['MGET', 'm', 'n'], ['TTL', 'm'], ['PTTL', 'm'], ['EXPIRETIME', 'm'],
    ['PEXPIRETIME', 'm'], ['TYPE', 'm'], ['EXISTS', 'm', 'm'], ['TOUCH', 'm'], ['PERSIST', 'm'], ['EXPIRE', 'm', '100'],
    ['EXPIRE', 'm', '100', 'XX'], ['PEXPIREAT', 'm', '1'], ['DEL', 'm'], ['UNLINK', 'm', 'n'], ['RENAME', 'm', 'n'],
    ['RENAME', 'm', 'm'], ['RENAMENX', 'm', 'n'], ['RENAMENX', 'm', 'm'], ['COPY', 'm', 'n'], ['COPY', 'm', 'm'],
    ['MOVE', 'm', '1'], ['MOVE', 'm', '0'], ['SET', 'm', 'v', 'XX'], ['SET', 'm', 'v', 'XX', 'GET'], ['SET', 'm', 'v', 'NX', 'GET'],
    ['GETDEL', 'm'], ['APPEND', 'n', ''], ['EXISTS', 'n'], ['STRLEN', 'n'], ['SETRANGE', 'o', '5', ''], ['EXISTS', 'o'],
    ['INCR', 'p'], ['DECRBY', 'q', '5'], ['INCRBYFLOAT', 'r', '-0'], ['GETSET', 's', 'x'], E(['KEYS', '*'], 'sorted'),
    ['DBSIZE'], E(['RANDOMKEY'], 'randomkey'),
  ],
  'INCR family overflow and parsing': [
    ['SET', 'n', '9223372036854775807'], ['INCR', 'n'], ['INCRBY', 'n', '1'], ['INCRBY', 'n', '-1'], ['DECRBY', 'n', '-1'],
    ['SET', 'n', '-9223372036854775808'], ['DECR', 'n'], ['DECRBY', 'n', '1'], ['INCRBY', 'n', '-1'], ['INCR', 'n'], ['GET', 'n'],
    ['SET', 'z', '0'], ['DECRBY', 'z', '-9223372036854775808'], ['INCRBY', 'z', '-9223372036854775808'], ['DECRBY', 'z', '9223372036854775807'],
    ['INCRBY', 'z', '9223372036854775808'], ['INCRBY', 'z', '+1'], ['INCRBY', 'z', ' 1'], ['INCRBY', 'z', '1 '], ['INCRBY', 'z', '01'],
    ['INCRBY', 'z', '-0'], ['INCRBY', 'z', ''], ['INCRBY', 'z', '1e3'], ['INCRBY', 'z', '0x10'],
    ...['+1', ' 1', '1 ', '01', '-0', '', '1.0', '12345678901234567890', '-9223372036854775809', '9223372036854775808', '\u00001']
      .flatMap((v) => [['SET', 'v', v], ['INCR', 'v'], ['GET', 'v']]),
    ['SET', 'big', long(30, '9')], ['INCR', 'big'], ['SET', 'neg', '-1'], ['INCR', 'neg'], ['INCR', 'neg'], ['GET', 'neg'],
  ],
  'INCRBYFLOAT arithmetic and formatting': [
    ...[
      ['10.5', '0.1'], ['1e20', '0.1'], ['-0', '0'], ['0', '-0'], ['-0', '-0'], ['0.1', '0.2'], ['1.1', '2.2'], ['3.0e3', '5.0e3'],
      ['1e300', '1e300'], ['1e4932', '1e4932'], ['5', 'inf'], ['inf', '1'], ['-inf', '1'], ['1', 'nan'], ['1', '0x1p3'], ['0x10', '0x.8'],
      ['1', '1e-5000'], ['1', '1e-4940'], ['1', '1e400'], ['1', '1e5000'], ['1', ' 1'], ['1', '1 '], ['1', '1.'], ['1', '.5'],
      ['1', '+.5e1'], ['1', '1e'], ['1', 'e1'], ['1', '0x'], ['1', '0x1p'], ['1', ''], ['1', 'infinity'], ['1', '-INF'],
      ['abc', '1'], ['1.5', '-1.5'], ['0.00000000000000001', '0'], ['123456789012345678901234567890', '1'],
      ['-0.00000000000000000001', '0'], ['9007199254740993', '0'], ['1', `${long(5118, '0')}1`], ['1', `${long(5119, '0')}1`],
      ['7', '-7'], ['2.5', '-5'], ['1e-17', '0'], ['5e-18', '0'], ['1.23456789012345678', '0'],
    ].flatMap(([base, by]) => [['SET', 'f', base!], ['INCRBYFLOAT', 'f', by!], ['GET', 'f']]),
    ['DEL', 'f'], ['INCRBYFLOAT', 'f', '2.5'], ['INCRBYFLOAT', 'f', '-2.5'], ['GET', 'f'],
    ['SET', 'ttl', '1', 'EX', '1000'], ['INCRBYFLOAT', 'ttl', '1.5'], E(['TTL', 'ttl'], 'ttl-s'),
  ],
  'SETRANGE and APPEND': [
    ['SETRANGE', 'r', '5', 'x'], ['GET', 'r'], ['SETRANGE', 'r', '0', 'ab'], ['GET', 'r'], ['SETRANGE', 'r', '10', 'yz'], ['GET', 'r'],
    ['SETRANGE', 'r', '3', ''], ['SETRANGE', 'r', '100', ''], ['STRLEN', 'r'], ['SETRANGE', 'r', '-1', 'x'], ['SETRANGE', 'r', 'x', 'x'],
    ['SETRANGE', 'r', '536870912', 'x'], ['SETRANGE', 'r', '536870911', 'xy'], ['SETRANGE', 'r', '9223372036854775807', 'x'],
    ['SETRANGE', 'r', '9223372036854775808', 'x'], ['SETRANGE', 'new', '536870912', ''], ['SETRANGE', 'new', '-1', ''],
    ['EXISTS', 'new'], ['SET', 't', 'v', 'EX', '1000'], ['SETRANGE', 't', '1', 'x'], E(['TTL', 't'], 'ttl-s'),
    ['APPEND', 'a', 'x'], ['APPEND', 'a', Buffer.from([0, 255])], ['GET', 'a'], ['APPEND', 't', 'y'], E(['PTTL', 't'], 'ttl-ms'),
  ],
  'GETRANGE indexes': [
    ['SET', 's', 'Hello World'],
    ...[
      ['0', '-1'], ['0', '4'], ['-5', '-1'], ['-1', '-1'], ['-1', '-5'], ['5', '3'], ['-100', '100'], ['-100', '-50'], ['50', '100'],
      ['0', '0'], ['10', '10'], ['11', '11'], ['-11', '-11'], ['-12', '0'], ['3', '-100'], ['0', '9223372036854775807'],
      ['-9223372036854775808', '-1'], ['-9223372036854775808', '-9223372036854775808'], ['9223372036854775807', '-1'],
      ['x', '1'], ['1', 'x'], ['1.5', '2'], ['9223372036854775808', '1'],
    ].map(([a, b]) => ['GETRANGE', 's', a!, b!]),
    ['SET', 'e', ''], ['GETRANGE', 'e', '0', '-1'], ['GETRANGE', 'e', '-1', '0'], ['GETRANGE', 'missing', '0', '-1'],
  ],
  'SET, SETEX, GETEX expiry arguments': [
    ...[
      ['EX', '0'], ['EX', '-1'], ['PX', '0'], ['PX', '-1'], ['EXAT', '0'], ['PXAT', '-5'], ['EX', 'abc'], ['EX', '1.5'], ['EX', ''],
      ['PX', '9223372036854775807'], ['EX', '9223372036854775807'], ['EX', '9223372036854775'], ['EX', '9223372036854776'],
      ['PXAT', '9223372036854775808'], ['EX', '100', 'EX', '0'], ['EX', '100', 'PX', '100'], ['KEEPTTL', 'EX', '100'],
      ['EX', '100', 'KEEPTTL'], ['NX', 'XX'], ['XX', 'NX'], ['GET', 'GET'], ['NX', 'NX'], ['EX'], ['PERSIST'], ['ex', '100', 'get'],
    ].flatMap((opts) => [['SET', 'k', 'v', ...opts], E(['PTTL', 'k'], 'ttl-ms')]),
    ['SETEX', 'k', '0', 'v'], ['SETEX', 'k', '-1', 'v'], ['SETEX', 'k', 'abc', 'v'], ['PSETEX', 'k', '0', 'v'], ['PSETEX', 'k', '-5', 'v'],
    ['SETEX', 'k', '9223372036854775', 'v'], ['PSETEX', 'k', '9223372036854775807', 'v'], ['SETEX', 'k', '1000', 'v'], E(['TTL', 'k'], 'ttl-s'),
    ['SET', 'k', 'w', 'KEEPTTL'], E(['TTL', 'k'], 'ttl-s'), ['SET', 'k', 'w'], ['TTL', 'k'], ['SET', 'k', 'v', 'PX', '100000', 'GET'],
    ['GETEX', 'k', 'EX', '0'], ['GETEX', 'k', 'PX', '-1'], ['GETEX', 'k', 'EX', 'abc'], ['GETEX', 'k', 'PERSIST'], ['TTL', 'k'],
    ['GETEX', 'k', 'EXAT', '4102444800'], ['EXPIRETIME', 'k'], ['GETEX', 'k', 'PXAT', '4102444800123'], ['PEXPIRETIME', 'k'],
    ['GETEX', 'k', 'PERSIST', 'PERSIST'], ['GETEX', 'k', 'EX', '100', 'EX', '200'], E(['TTL', 'k'], 'ttl-s'), ['GETEX', 'k', 'KEEPTTL'],
    ['GETEX', 'k', 'PXAT', '1'], ['EXISTS', 'k'], ['SET', 'k', 'v', 'EXAT', '4102444800', 'GET'], ['EXPIRETIME', 'k'],
    ['SET', 'k', 'v', 'NX', 'GET'], ['SET', 'k', 'v2', 'XX', 'GET'], ['SET', 'k2', 'v', 'XX', 'GET'], ['EXISTS', 'k2'],
  ],
  'EXPIRE conditions': [
    ['SET', 'k', 'v'],
    ...[
      ['NX'], ['XX'], ['GT'], ['LT'], ['NX', 'XX'], ['GT', 'LT'], ['NX', 'GT'], ['XX', 'GT'], ['XX', 'LT'], ['nx'], ['FOO'],
    ].flatMap((c) => [['PEXPIREAT', 'k', '4102444800000', ...c], ['PEXPIRETIME', 'k'], ['PEXPIREAT', 'k', '4102444700000', ...c], ['PEXPIRETIME', 'k'], ['PERSIST', 'k']]),
    ['EXPIREAT', 'k', '4102444800'], ['EXPIREAT', 'k', '4102444800', 'GT'], ['EXPIREAT', 'k', '4102444800', 'LT'],
    ['EXPIREAT', 'k', '4102444801', 'GT'], ['EXPIRETIME', 'k'], ['PERSIST', 'k'], ['PERSIST', 'k'], ['EXPIRE', 'k', '100', 'LT'],
    E(['TTL', 'k'], 'ttl-s'), ['EXPIRE', 'k', '100', 'abc'], ['EXPIRE', 'k', 'abc', 'FOO'], ['EXPIRE', 'k', '9223372036854775807'],
    ['EXPIRE', 'k', '-9223372036854775808'], ['PEXPIRE', 'k', '9223372036854775807'], ['PEXPIRE', 'k', '-9223372036854775808'],
    ['EXISTS', 'k'], ['SET', 'k', 'v'], ['EXPIRE', 'k', '0'], ['EXISTS', 'k'], ['SET', 'k', 'v'], ['PEXPIREAT', 'k', '-1'], ['EXISTS', 'k'],
  ],
  'COPY and MOVE across databases': [
    ['SET', 'a', '1', 'EX', '1000'], ['COPY', 'a', 'a'], ['COPY', 'a', 'a', 'DB', '0'], ['COPY', 'a', 'a', 'DB', '1'], ['COPY', 'a', 'b'],
    ['COPY', 'a', 'b'], ['COPY', 'a', 'b', 'REPLACE'], E(['TTL', 'b'], 'ttl-s'), ['COPY', 'a', 'c', 'DB', '16'], ['COPY', 'a', 'c', 'DB', '-1'],
    ['COPY', 'a', 'c', 'DB', 'abc'], ['COPY', 'a', 'c', 'DB', '2147483648'], ['COPY', 'a', 'c', 'DB'], ['COPY', 'a', 'c', 'REPLACE', 'REPLACE'],
    ['COPY', 'a', 'c', 'DB', '1', 'DB', '2'], ['MOVE', 'a', '0'], ['MOVE', 'a', '16'], ['MOVE', 'a', '-1'], ['MOVE', 'a', 'x'],
    ['MOVE', 'a', '2147483648'], ['MOVE', 'a', '2'], ['MOVE', 'a', '2'], ['EXISTS', 'a'], ['SELECT', '2'], ['GET', 'a'],
    E(['TTL', 'a'], 'ttl-s'), ['SET', 'x', 'here'], ['SELECT', '0'], ['SET', 'x', 'there'], ['MOVE', 'x', '2'], ['GET', 'x'],
    ['SELECT', '1'], ['GET', 'a'], ['DBSIZE'], ['SELECT', '0'], ['RENAME', 'b', 'b'], ['RENAMENX', 'b', 'b'], ['RENAME', 'b', 'c'],
    ['RENAMENX', 'c', 'x'], ['RENAMENX', 'c', 'd'], E(['TTL', 'd'], 'ttl-s'), E(['KEYS', '*'], 'sorted'),
  ],
  'SELECT range and parsing': [
    ['SELECT', '16'], ['SELECT', '-1'], ['SELECT', 'abc'], ['SELECT', '2147483648'], ['SELECT', '-2147483649'], ['SELECT', '1.5'],
    ['SELECT', ''], ['SELECT', '+1'], ['SELECT', '01'], ['SELECT', '15'], ['SET', 'in15', 'x'], ['DBSIZE'], ['SELECT', '0'], ['DBSIZE'],
  ],
  'MULTI/EXEC: nesting, queue-time errors, exec-time errors': [
    ['MULTI'], ['MULTI'], ['SET', 'a', '1'], ['EXEC'],
    ['MULTI'], ['SET', 'a', '2'], ['NOSUCH'], ['EXEC'], ['GET', 'a'],
    ['MULTI'], ['SET', 'a', '3'], ['GET'], ['EXEC'], ['GET', 'a'],
    ['MULTI'], ['SET', 'a', '4'], ['SET', 'a', 'b', 'NX', 'XX'], ['INCR', 'a'], ['SET', 's', 'x'], ['INCR', 's'], ['SELECT', '99'], ['GET', 'a'], ['EXEC'],
    ['MULTI'], ['WATCH', 'a'], ['SET', 'a', '5'], ['EXEC'], ['EXEC'], ['DISCARD'],
    ['MULTI'], ['SET', 'a', '6'], ['DISCARD'], ['GET', 'a'], ['MULTI'], ['EXEC'],
    ['MULTI'], ['SELECT', '1'], ['SET', 'a', 'db1'], ['EXEC'], ['GET', 'a'], ['SELECT', '0'], ['GET', 'a'],
    ['MULTI'], ['PING'], ['ECHO', 'x'], ['DBSIZE'], ['EXEC'], ['MULTI'], ['MULTI'], ['NOSUCH'], ['EXEC'],
  ],
  'SET with a past EXAT or PXAT reads as absent': [
    ['SET', 'p', 'v', 'EXAT', '1'], ['GET', 'p'], ['EXISTS', 'p'], ['TTL', 'p'], ['SET', 'p', 'v', 'PXAT', '1', 'GET'], ['GET', 'p'],
    ['SET', 'p', 'v'], ['SET', 'p', 'w', 'PXAT', '1000', 'GET'], ['GET', 'p'], ['STRLEN', 'p'],
  ],
  'HELLO variants (RESP2 replies)': [
    ['HELLO', '4'], ['HELLO', '1'], ['HELLO', 'abc'], ['HELLO', '2', 'foo'], ['HELLO', '3', 'AUTH', 'default'],
    ['HELLO', '3', 'AUTH', 'other', 'x'], ['HELLO', '3', 'SETNAME', 'a b'], ['AUTH', 'x'], ['AUTH', 'default', 'x'],
    ['AUTH', 'other', 'x'], ['AUTH', 'a', 'b', 'c'], ['CLIENT', 'GETNAME'],
  ],
  'CLIENT SETNAME and GETNAME': [
    ['CLIENT', 'GETNAME'], ['CLIENT', 'SETNAME', 'a b'], ['CLIENT', 'SETNAME', 'a\nb'], ['CLIENT', 'SETNAME', 'ok-name'],
    ['CLIENT', 'GETNAME'], ['CLIENT', 'SETNAME', ''], ['CLIENT', 'GETNAME'], ['CLIENT', 'SETNAME', 'x', 'y'], ['client', 'setname', 'Zz9!'],
    ['CLIENT', 'GETNAME'], ['CLIENT', 'SETNAME', Buffer.from([0xc3, 0xa9])],
  ],
  'RESP3 replies after HELLO 3': [
    E(['HELLO', '3'], 'type-only'), ['GET', 'missing'], ['MGET', 'missing', 'missing'], ['SET', 'k', 'v'], ['GET', 'k'],
    ['INCRBYFLOAT', 'f', '1.5'], ['TTL', 'k'], E(['KEYS', '*'], 'sorted'), ['CLIENT', 'GETNAME'], ['SET', 'k', 'w', 'GET'],
    ['SET', 'k', 'w', 'NX'], ['GETDEL', 'missing'], ['EXISTS', 'k'], ['TYPE', 'k'], ['ECHO', 'x'], ['PING'],
    ['WATCH', 'k'], { args: ['SET', 'k', 'changed'], other: true }, ['MULTI'], ['GET', 'k'], ['EXEC'],
    ['MULTI'], ['GET', 'nope'], ['EXEC'], ['NOSUCH'], E(['HELLO', '2'], 'type-only'), ['GET', 'missing'],
  ],
};

for (const [name, cmds] of Object.entries(scripts)) {
  test.serial(`edge cases agree with redis-server: ${name}`, async (t) => {
    const s = await session(t, name);
    await explainCrash(() => script(s, cmds));
    t.pass();
  });
}

// ---- WATCH against writes from another connection ----

/** [setup on the main connection, write on the other connection]: EXEC must abort exactly when Redis's does. */
const watchCases: ReadonlyArray<readonly [ReadonlyArray<readonly Arg[]>, readonly Arg[]]> = [
  [[['SET', 'w', 'v']], ['SET', 'w', 'v']],
  [[['SET', 'w', 'v']], ['GET', 'w']],
  [[], ['SET', 'w', 'new']],
  [[], ['DEL', 'w']],
  [[], ['EXPIRE', 'w', '100']],
  [[['SET', 'w', 'v']], ['EXPIRE', 'w', '100']],
  [[['SET', 'w', 'v']], ['EXPIRE', 'w', '100', 'XX']],
  [[['SET', 'w', 'v']], ['PERSIST', 'w']],
  [[['SET', 'w', 'v', 'EX', '100']], ['PERSIST', 'w']],
  [[['SET', 'w', 'v']], ['APPEND', 'w', '']],
  [[['SET', 'w', 'v']], ['SETRANGE', 'w', '0', '']],
  [[['SET', 'w', 'v']], ['GETEX', 'w']],
  [[['SET', 'w', 'v']], ['GETEX', 'w', 'PERSIST']],
  [[['SET', 'w', 'v']], ['SET', 'w', 'x', 'NX']],
  [[], ['SET', 'w', 'x', 'XX']],
  [[['SET', 'w', 'v']], ['FLUSHDB']],
  [[['SET', 'w', 'v']], ['FLUSHALL']],
  [[['SET', 'z', 'v']], ['RENAME', 'z', 'w']],
  [[['SET', 'w', 'v']], ['RENAME', 'w', 'z']],
  [[['SET', 'z', 'v']], ['COPY', 'z', 'w']],
  [[['SET', 'w', 'v']], ['MOVE', 'w', '1']],
  [[['SET', 'w', 'v']], ['INCRBYFLOAT', 'w', '1']],
  [[['SET', 'w', '1']], ['INCRBYFLOAT', 'w', '1']],
  [[['SET', 'w', 'v']], ['GETDEL', 'w']],
  [[], ['MSETNX', 'a', '1', 'w', '2']],
  [[['SET', 'a', '1']], ['MSETNX', 'a', '1', 'w', '2']],
  [[['SELECT', '1']], ['SET', 'w', 'db0']],
  [[['SET', 'w', 'v']], ['TOUCH', 'w']],
];

test.serial('WATCH: EXEC aborts exactly when redis-server aborts', async (t) => {
  for (const [setup, write] of watchCases) {
    const s = await session(t, `WATCH after ${setup.map(showArgs).join('; ') || '(nothing)'}, other: ${showArgs(write)}`);
    await script(s, [...setup, ['WATCH', 'w'], { args: write, other: true }, ['MULTI'], ['PING'], ['EXEC']]);
    s.close();
  }
  t.pass();
});

test.serial('WATCH: a write in the same connection before MULTI aborts; UNWATCH and DISCARD forget', async (t) => {
  const s = await session(t, 'WATCH same connection');
  await script(s, [
    ['WATCH', 'w'], ['SET', 'w', '1'], ['MULTI'], ['GET', 'w'], ['EXEC'],
    ['WATCH', 'w'], ['UNWATCH'], { args: ['SET', 'w', '2'], other: true }, ['MULTI'], ['GET', 'w'], ['EXEC'],
    ['WATCH', 'w'], ['MULTI'], ['DISCARD'], { args: ['SET', 'w', '3'], other: true }, ['MULTI'], ['GET', 'w'], ['EXEC'],
    ['WATCH', 'w'], ['EXEC'], { args: ['SET', 'w', '4'], other: true }, ['MULTI'], ['GET', 'w'], ['EXEC'],
    ['WATCH', 'w', 'x'], { args: ['SET', 'x', '1'], other: true }, ['MULTI'], ['SELECT', '1'], ['EXEC'], ['SET', 'w', 'still db0?'],
    ['SELECT', '0'], ['GET', 'w'],
  ]);
  t.pass();
});

// Former divergences, fixed: they stay as regular comparisons.
const fixed: Record<string, ReadonlyArray<readonly Arg[] | DiffCommand>> = {
  // FLUSHDB touches only the watched keys that existed, so a WATCH on an absent key survives it.
  'FLUSHDB does not abort a WATCH on a key that did not exist': [['WATCH', 'w'], { args: ['FLUSHDB'], other: true }, ['MULTI'], ['PING'], ['EXEC']],
  'FLUSHDB aborts a WATCH on a key that existed': [['SET', 'w', '1'], ['WATCH', 'w'], { args: ['FLUSHDB'], other: true }, ['MULTI'], ['PING'], ['EXEC']],
  // An unknown name in COMMAND INFO is a nil bulk inside the array, not a nil array.
  'COMMAND INFO of an unknown command': [['COMMAND', 'INFO', 'nosuch']],
  // A rejected EXEC (wrong arity) answers EXECABORT and discards the transaction.
  'EXEC with wrong arity': [['MULTI'], ['SET', 'a', '1'], ['EXEC', 'x'], ['EXEC']],
  // EXPIRETIME rounds to the nearest second (it truncated).
  'EXPIRETIME rounds': [['SET', 'k', 'v'], ['PEXPIREAT', 'k', '4102444800499'], ['EXPIRETIME', 'k'], ['PEXPIREAT', 'k', '4102444800500'], ['EXPIRETIME', 'k']],
  // Deadlines beyond 2^53 ms up to int64's max are kept exactly (key_rows.ts Deadline).
  'deadlines beyond 2^53 ms': [
    ['SET', 'k', 'v'], ['PEXPIREAT', 'k', '9223372036854775807'], ['PEXPIRETIME', 'k'], ['EXPIRETIME', 'k'], ['TTL', 'k'],
    ['PEXPIREAT', 'k', '4102444800000', 'GT'], ['PEXPIRETIME', 'k'], ['PEXPIREAT', 'k', '9007199254740993', 'LT'], ['PEXPIRETIME', 'k'],
    ['PEXPIREAT', 'k', '9007199254740992', 'GT'], ['PEXPIRETIME', 'k'], ['PEXPIREAT', 'k', '4102444800000', 'LT'], ['PEXPIRETIME', 'k'],
    ['EXPIREAT', 'k', '9223372036854775'], ['EXPIRETIME', 'k'], ['PEXPIRETIME', 'k'], ['EXPIREAT', 'k', '9223372036854776'],
    ['SET', 'k', 'v', 'PXAT', '9223372036854775807'], ['PEXPIRETIME', 'k'], ['SET', 'k', 'v', 'EXAT', '9223372036854775'], ['EXPIRETIME', 'k'],
    ['SET', 'k2', 'v', 'KEEPTTL'], ['GETEX', 'k', 'PXAT', '9007199254740993'], ['PEXPIRETIME', 'k'], ['COPY', 'k', 'k3'], ['PEXPIRETIME', 'k3'],
    ['RENAME', 'k3', 'k4'], ['PEXPIRETIME', 'k4'], ['EXPIRE', 'k', '9223372036854775'], ['PEXPIRE', 'k', '9223372036854775807'], ['PERSIST', 'k'], ['PEXPIRETIME', 'k'],
  ],
};

for (const [name, cmds] of Object.entries(fixed)) {
  test.serial(`same as redis-server: ${name}`, async (t) => {
    const s = await session(t, name);
    await script(s, cmds);
    t.pass();
  });
}

test.serial('PTTL and TTL of a deadline beyond 2^53 ms are exact int64 arithmetic', async (t) => {
  const conn = await RespConn.open(raftis.port);
  t.teardown(() => conn.close());
  const max = 2n ** 63n - 1n;
  await conn.call('SET', 'big', 'v', 'PXAT', String(max));
  const before = BigInt(Date.now());
  const pttl = await conn.call('PTTL', 'big');
  const ttl = await conn.call('TTL', 'big');
  const after = BigInt(Date.now());
  if (pttl.t !== 'int' || ttl.t !== 'int') return t.fail(`PTTL ${render(pttl)}, TTL ${render(ttl)}`);
  // The server's clock is read between `before` and `after` (1 s of slack for the leader's stamp).
  t.true(pttl.v <= max - before + 1000n && pttl.v >= max - after - 1000n, `PTTL ${pttl.v}`);
  t.true(ttl.v <= (max - before + 1500n) / 1000n && ttl.v >= (max - after - 1000n) / 1000n, `TTL ${ttl.v}`);
});

// ---- connection behaviour compared as raw bytes ----

const req = (...cmds: Arg[][]): Buffer => Buffer.concat(cmds.map((c) => encodeCommand(c)));
const END = Buffer.from('$7\r\n__end__\r\n');

async function sameBytes(t: import('ava').ExecutionContext, bytes: Buffer, until: Buffer | 'close'): Promise<Buffer> {
  const [a, b] = await Promise.all([transcript(redis.port, bytes, until), transcript(raftis.port, bytes, until)]);
  t.is(b.toString('latin1'), a.toString('latin1'), `request ${JSON.stringify(bytes.toString('latin1'))}`);
  return a;
}

test.serial('CLIENT REPLY OFF, SKIP and ON suppress exactly the replies redis-server suppresses', async (t) => {
  await sameBytes(t, req(['FLUSHALL'], ['ECHO', '__end__']), END);
  // Each key is written once and only read after its write (pipelined reads and later
  // writes of one key are a separate, known divergence below).
  const got = await sameBytes(t, req(
    ['CLIENT', 'REPLY', 'OFF'], ['SET', 'a', '1'], ['GET', 'a'], ['NOSUCH'], ['CLIENT', 'REPLY', 'SKIP'], ['GET', 'a'],
    ['CLIENT', 'REPLY', 'ON'], ['GET', 'a'], ['CLIENT', 'REPLY', 'SKIP'], ['INCR', 'b'], ['GET', 'b'],
    ['CLIENT', 'REPLY', 'SKIP'], ['CLIENT', 'REPLY', 'SKIP'], ['GET', 'a'], ['GET', 'b'],
    ['CLIENT', 'REPLY', 'OFF'], ['MULTI'], ['INCR', 'c'], ['EXEC'], ['CLIENT', 'REPLY', 'ON'], ['GET', 'c'], ['ECHO', '__end__'],
  ), END);
  t.true(got.length > END.length);
});

// A pipelined read must not see a write the same client sent after it: "SET a 1; GET a;
// INCR a" answers GET with 1 (the dispatcher holds the INCR until the GET has run).
test.serial('a pipelined GET does not see a later INCR of the same connection', async (t) => {
  await sameBytes(t, req(['SET', 'pl', '1'], ['GET', 'pl'], ['INCR', 'pl'], ['GET', 'pl'], ['INCR', 'pl'], ['ECHO', '__end__']), END);
});

test.serial('QUIT answers +OK and closes, with or without arguments, after pipelined commands', async (t) => {
  await sameBytes(t, req(['QUIT']), 'close');
  await sameBytes(t, req(['QUIT', 'now', 'please']), 'close');
  await sameBytes(t, req(['SET', 'q', '1'], ['GET', 'q'], ['QUIT'], ['SET', 'q', '2']), 'close');
  const s = await session(t, 'after QUIT');
  await script(s, [['GET', 'q']]);
});

test.serial('inline commands agree with redis-server', async (t) => {
  await sameBytes(t, Buffer.from('SET inl "a b"\r\nGET inl\r\nGET "inl"\r\nECHO \'x y\'\r\nPING\r\n\r\nECHO "\\x41\\n"\r\nECHO __end__\r\n'), END);
});

// ---- expiry in real time (short TTLs, polled with a deadline) ----

test.serial('keys with short TTLs expire on both servers', async (t) => {
  const s = await session(t, 'short TTLs');
  await script(s, [
    ['SET', 'e1', 'v', 'PX', '300'], ['SET', 'e2', 'v'], ['PEXPIRE', 'e2', '300'], ['SETEX', 'e3', '1', 'v'],
    ['SET', 'e4', 'v'], ['GETEX', 'e4', 'PX', '300'], ['SET', 'keep', 'v', 'PX', '300'], ['PERSIST', 'keep'],
  ]);
  for (const port of [redis.port, raftis.port]) {
    const conn = await RespConn.open(port);
    t.teardown(() => conn.close());
    await waitUntil(async () => {
      const r = await conn.call('EXISTS', 'e1', 'e2', 'e3', 'e4');
      return r.t === 'int' && r.v === 0n;
    }, `keys to expire on port ${port}`, 10_000, 50);
  }
  await script(s, [['GET', 'e1'], ['TTL', 'e2'], ['PTTL', 'e3'], ['GET', 'e4'], ['GET', 'keep'], ['TTL', 'keep'], E(['KEYS', '*'], 'sorted'), ['DBSIZE']]);
  t.pass();
});
