// Random commands for the differential test: the string and generic-keyspace commands
// raftis supports, over a small key space (so commands collide), with valid, edge and
// invalid arguments. Every relative expiry is >= 100 s or <= 0 and every absolute one is
// far past or far future, so nothing expires while a sequence runs.

import type { DiffCommand } from '../support/differential.ts';
import type { Prng } from '../support/prng.ts';
import type { Arg } from '../support/resp_reply.ts';

const KEYS: readonly Arg[] = ['k0', 'k1', 'k2', 'k3', 'k4', 'kx', 'a*b', 'K1', ''];
const VALUES: readonly Arg[] = [
  '', 'v', 'hello', '0', '1', '-1', '42', '9223372036854775807', '-9223372036854775808', '3.14', '1e3', ' 1',
  '10.5', '0x10', '+5', '007', 'inf', '-0', Buffer.from([0, 255, 13, 10, 128]), 'x'.repeat(40),
];
const INTS: readonly Arg[] = [
  '0', '1', '-1', '5', '100', '-100', '9223372036854775807', '-9223372036854775808', '9223372036854775808',
  '-9223372036854775809', 'abc', '1.5', '', ' 1', '+1', '01', '-0', '99999999999999999999',
];
const FLOATS: readonly Arg[] = [
  '0', '1', '-1', '0.1', '-0.1', '10.5', '1e20', '1e-5', '3.0e2', '-0', '.5', '5.', 'inf', '-inf', 'nan', 'abc', '',
  ' 1', '1e400', '0x10', '1.7976931348623157e308',
];
/** Relative seconds: long, zero, negative or invalid. */
const REL_S: readonly Arg[] = ['100', '1000', '100000', '0', '-1', '-100', '9223372036854775807', '9223372036854775', '9223372036854776', 'abc', '1.5', ''];
const REL_MS: readonly Arg[] = ['100000', '1000000', '0', '-1', '9223372036854775807', '9223372036854775806', 'abc'];
/** Absolute: far past or far future (2100-01-01 and later, up to int64's max ms). */
const ABS_S: readonly Arg[] = ['4102444800', '4102444900', '1', '1000000000', '0', '-1', 'abc', '9223372036854775', '9223372036854776'];
const ABS_MS: readonly Arg[] = ['4102444800000', '4102444800001', '1', '1000000000000', '0', '-1', 'abc', '9007199254740993', '9223372036854775807'];
/**
 * SET with a past EXAT/PXAT leaves a logically expired key in Redis 7.0 that DBSIZE
 * counts and WATCH sees until Redis's background expiry removes it: timing-dependent,
 * so random SETs only get future or invalid deadlines (past ones have their own test).
 */
const SET_ABS_S: readonly Arg[] = ['4102444800', '4102444900', '0', '-1', 'abc', '9223372036854775', '9223372036854776'];
const SET_ABS_MS: readonly Arg[] = ['4102444800000', '4102444800001', '0', '-1', 'abc', '9007199254740993', '9223372036854775807'];
const PATTERNS: readonly Arg[] = ['*', 'k*', 'k?', 'k[0-2]', '*1', '?', 'a\\*b', 'x*', '[^k]*', '', 'K*', 'k[', '*x*'];
const DBS: readonly Arg[] = ['0', '1', '2', '15', '16', '-1', 'abc'];

/** What the generator needs to know about the session. */
export interface GenState {
  readonly inMulti: boolean;
  readonly queued: number;
  readonly watching: boolean;
}

type Gen = (r: Prng) => DiffCommand;
const c = (...args: Arg[]): DiffCommand => ({ args });
const n = (norm: DiffCommand['norm'], ...args: Arg[]): DiffCommand => ({ args, norm });

const key = (r: Prng): Arg => r.pick(KEYS);
const val = (r: Prng): Arg => r.pick(VALUES);
const int = (r: Prng): Arg => r.pick(INTS);
/** Mostly keys; occasionally several. */
const someKeys = (r: Prng): Arg[] => Array.from({ length: r.range(1, 4) }, () => key(r));

function setOptions(r: Prng): Arg[] {
  const out: Arg[] = [];
  const count = r.pick([0, 1, 1, 2, 2, 3]);
  for (let i = 0; i < count; i++) {
    switch (r.int(12)) {
      case 0: out.push('NX'); break;
      case 1: out.push('XX'); break;
      case 2: out.push(r.pick(['GET', 'get'])); break;
      case 3: out.push(r.pick(['EX', 'ex']), r.pick(REL_S)); break;
      case 4: out.push('PX', r.pick(REL_MS)); break;
      case 5: out.push('EXAT', r.pick(SET_ABS_S)); break;
      case 6: out.push('PXAT', r.pick(SET_ABS_MS)); break;
      case 7: out.push('KEEPTTL'); break;
      case 8: out.push(r.pick(['EX', 'PX'])); break; // missing value
      case 9: out.push(r.pick(['BOGUS', 'PERSIST', 'EXX'])); break;
      default: out.push(r.pick(['EX', 'KEEPTTL', 'GET', 'NX'])); break;
    }
  }
  return out;
}

function getexOptions(r: Prng): Arg[] {
  switch (r.int(9)) {
    case 0: return [];
    case 1: return ['EX', r.pick(REL_S)];
    case 2: return ['PX', r.pick(REL_MS)];
    case 3: return ['EXAT', r.pick(ABS_S)];
    case 4: return ['PXAT', r.pick(ABS_MS)];
    case 5: return ['PERSIST'];
    case 6: return ['PERSIST', 'EX', '100'];
    case 7: return [r.pick(['EX', 'KEEPTTL', 'BOGUS'])];
    default: return ['EX', '1000', 'PX', '1000'];
  }
}

const expireConds = (r: Prng): Arg[] =>
  r.pick([[], [], [], ['NX'], ['XX'], ['GT'], ['LT'], ['nx'], ['NX', 'XX'], ['GT', 'LT'], ['XX', 'GT'], ['XX', 'LT'], ['FOO'], ['GT', 'GT']]);

function scanTemplate(r: Prng): DiffCommand {
  const args: Arg[] = ['SCAN', '0'];
  if (r.chance(0.5)) args.push('MATCH', r.pick(PATTERNS));
  if (r.chance(0.5)) args.push('COUNT', r.pick(['1', '2', '5', '10', '1000']));
  if (r.chance(0.3)) args.push('TYPE', r.pick(['string', 'STRING', 'list', 'none', 'hash']));
  return n('scan-full', ...args);
}

/** SCAN with bad arguments, or a cursor that is another spelling of 0 (strtoul's rules). */
function badScan(r: Prng): DiffCommand {
  return n('scan-full', ...r.pick<Arg[]>([
    ['SCAN', 'abc'], ['SCAN', '0', 'COUNT', '0'], ['SCAN', '0', 'COUNT', '-1'], ['SCAN', '0', 'COUNT', 'x'],
    ['SCAN', '0', 'MATCH'], ['SCAN', '0', 'FOO', 'bar'], ['SCAN', '18446744073709551616'], ['SCAN', '1.5'],
    ['SCAN', ' 0'], ['SCAN', '0 '], ['SCAN', '-'], ['SCAN', '+'], ['SCAN', ''], ['SCAN', '+0'], ['SCAN', '-0'], ['SCAN', '00'],
  ]));
}

/** Weighted generators of commands valid outside and inside MULTI. */
const GENS: ReadonlyArray<readonly [number, Gen]> = [
  [10, (r) => c('GET', key(r))],
  [10, (r) => c('SET', key(r), val(r), ...setOptions(r))],
  [2, (r) => c('SETNX', key(r), val(r))],
  [2, (r) => c('SETEX', key(r), r.pick(REL_S), val(r))],
  [2, (r) => c('PSETEX', key(r), r.pick(REL_MS), val(r))],
  [2, (r) => c('GETSET', key(r), val(r))],
  [2, (r) => c('GETDEL', key(r))],
  [3, (r) => c('GETEX', key(r), ...getexOptions(r))],
  [3, (r) => c('MGET', ...someKeys(r))],
  [2, (r) => c('MSET', ...someKeys(r).flatMap((k) => [k, val(r)]), ...(r.chance(0.1) ? ['dangling'] : []))],
  [2, (r) => c('MSETNX', ...someKeys(r).flatMap((k) => [k, val(r)]), ...(r.chance(0.1) ? ['dangling'] : []))],
  [4, (r) => c(r.pick(['INCR', 'DECR']), key(r))],
  [4, (r) => c(r.pick(['INCRBY', 'DECRBY']), key(r), int(r))],
  [4, (r) => c('INCRBYFLOAT', key(r), r.pick(FLOATS))],
  [3, (r) => c('APPEND', key(r), val(r))],
  [2, (r) => c('STRLEN', key(r))],
  [3, (r) => c('GETRANGE', key(r), r.pick(['0', '1', '-1', '-3', '5', '100', '-100', '9223372036854775807', '-9223372036854775808', 'x']), r.pick(['0', '2', '-1', '-2', '50', '-100', '9223372036854775807', '-9223372036854775808', 'x']))],
  [3, (r) => c('SETRANGE', key(r), r.pick(['0', '1', '3', '10', '64', '-1', 'x', '536870912', '536870911', '9223372036854775807']), r.pick(['', 'ab', 'xyz', Buffer.from([0, 1])]))],
  [4, (r) => c(r.pick(['DEL', 'UNLINK']), ...someKeys(r))],
  [3, (r) => c('EXISTS', ...someKeys(r))],
  [2, (r) => c('TOUCH', ...someKeys(r))],
  [2, (r) => c('TYPE', key(r))],
  [2, (r) => n('sorted', 'KEYS', r.pick(PATTERNS))],
  [2, (r) => n('randomkey', 'RANDOMKEY')],
  [3, (r) => c(r.pick(['RENAME', 'RENAMENX']), key(r), key(r))],
  [3, (r) => c('COPY', key(r), key(r), ...r.pick<Arg[]>([[], [], ['REPLACE'], ['DB', r.pick(DBS)], ['DB', r.pick(DBS), 'REPLACE'], ['DB'], ['FOO']]))],
  [2, (r) => c('MOVE', key(r), r.pick(DBS))],
  [3, (r) => c(r.pick(['EXPIRE', 'expire']), key(r), r.pick(REL_S), ...expireConds(r))],
  [2, (r) => c('PEXPIRE', key(r), r.pick(REL_MS), ...expireConds(r))],
  [2, (r) => c('EXPIREAT', key(r), r.pick(ABS_S), ...expireConds(r))],
  [2, (r) => c('PEXPIREAT', key(r), r.pick(ABS_MS), ...expireConds(r))],
  [3, (r) => n('ttl-s', 'TTL', key(r))],
  [3, (r) => n('ttl-ms', 'PTTL', key(r))],
  [2, (r) => n('ttl-s', 'EXPIRETIME', key(r))],
  [2, (r) => n('ttl-ms', 'PEXPIRETIME', key(r))],
  [2, (r) => c('PERSIST', key(r))],
  [2, (r) => c('DBSIZE')],
  [2, (r) => c('SELECT', r.chance(0.85) ? r.pick(['0', '1', '2']) : r.pick(DBS))],
  [4, invalid],
];

/** Wrong arity, unknown commands and junk arguments. */
function invalid(r: Prng): DiffCommand {
  return c(...r.pick<Arg[]>([
    ['GET'], ['GET', 'a', 'b'], ['SET', 'a'], ['SETNX', 'a'], ['GETSET', 'a'], ['MGET'], ['MSET', 'a'], ['INCR'],
    ['INCRBY', 'a'], ['INCRBYFLOAT', 'a', '1', '2'], ['APPEND', 'a'], ['STRLEN'], ['GETRANGE', 'a', '0'], ['SETRANGE', 'a', '0'],
    ['DEL'], ['EXISTS'], ['TYPE'], ['KEYS'], ['KEYS', 'a', 'b'], ['SCAN'], ['RANDOMKEY', 'x'], ['RENAME', 'a'], ['COPY', 'a'],
    ['MOVE', 'a'], ['EXPIRE', 'a'], ['TTL'], ['PERSIST'], ['DBSIZE', 'x'], ['SELECT'], ['FLUSHDB', 'ASYNC', 'SYNC'],
    ['NOSUCHCOMMAND'], ['NOSUCHCOMMAND', 'a', 'b'], ['LPUSH2', key(r), 'x'], ['GETEX'], ['GETDEL', 'a', 'b'], ['TOUCH'],
    ['SETEX', 'a', '10'], ['PSETEX', 'a'], ['EXPIRETIME'], ['PEXPIRETIME', 'a', 'b'], ['PTTL'], ['UNLINK'], ['DECRBY', 'a'],
    ['SET', 'a', 'b', 'EX', '10', 'PX', '10'], ['SET', 'a', 'b', 'NX', 'XX'], ['SET', 'a', 'b', 'KEEPTTL', 'EX', '100'],
    ['SET', 'a', 'b', 'EX', '100', 'KEEPTTL'], ['INCRBY', 'a', '9223372036854775808'], ['DECRBY', 'a', '-9223372036854775808'],
  ]));
}

const TOTAL_WEIGHT = GENS.reduce((s, [w]) => s + w, 0);

function weighted(r: Prng): DiffCommand {
  let x = r.float() * TOTAL_WEIGHT;
  for (const [w, g] of GENS) {
    x -= w;
    if (x < 0) return g(r);
  }
  return GENS[0]![1](r);
}

/** The next command given the session state: transactions, WATCH and the other connection mixed in. */
export function nextCommand(r: Prng, s: GenState): DiffCommand {
  if (s.inMulti) {
    if (s.queued >= 1 && r.chance(s.queued >= 6 ? 0.7 : 0.2)) return c(r.chance(0.8) ? 'EXEC' : 'DISCARD');
    const roll = r.float();
    if (roll < 0.02) return c('MULTI');
    if (roll < 0.04) return c('WATCH', key(r));
    if (roll < 0.06) return c(r.pick(['NOSUCHCOMMAND', 'GET']));
    if (roll < 0.09) return { args: ['SET', key(r), val(r)], other: true };
    if (roll < 0.1) return c('UNWATCH');
    return weighted(r);
  }
  const roll = r.float();
  // FLUSHDB only while nothing is WATCHed: raftis aborts EXEC for a watched key that was
  // absent when flushed, Redis does not (a known divergence, tested on its own).
  if (roll < 0.004 && !s.watching) return c('FLUSHDB', ...r.pick<Arg[]>([[], ['ASYNC'], ['SYNC'], ['bogus']]));
  if (roll < 0.06) return c('MULTI');
  if (roll < 0.1) return c('WATCH', ...someKeys(r));
  if (roll < 0.11) return c('UNWATCH');
  if (roll < 0.12) return c(r.pick(['EXEC', 'DISCARD']));
  if (roll < 0.16) return otherWrite(r, s);
  if (roll < 0.19) return r.chance(0.8) ? scanTemplate(r) : badScan(r);
  return weighted(r);
}

/** A write on the second connection (same DB 0): touches keys that the main connection may WATCH. */
function otherWrite(r: Prng, s: GenState): DiffCommand {
  const args = r.pick<Arg[]>([
    ['SET', key(r), val(r)], ['DEL', key(r)], ['EXPIRE', key(r), '1000'], ['SET', key(r), val(r), 'NX'],
    ['PERSIST', key(r)], ['INCR', key(r)], ['GET', key(r)], ['APPEND', key(r), ''], ['SETRANGE', key(r), '0', ''],
    ['EXPIRE', key(r), '1000', 'NX'], ['GETEX', key(r)], ['RENAME', key(r), key(r)], s.watching ? ['DEL', key(r)] : ['FLUSHDB'],
  ]);
  return { args, other: true };
}
