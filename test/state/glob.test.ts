// Redis glob semantics (stringmatchlen, Redis 7.2 util.c on x86-64): a table of cases
// whose answers were taken from the C function compiled on x86-64, tricky ones included.

import test from 'ava';
import { GLOB_NESTING_MAX, globMatch, isMatchAll } from '../../src/state/index.ts';
import { globLiteralPrefix, globPrefixEnd } from '../../src/state/glob.ts';

/** Latin-1 so "\xff" in a literal is the byte 0xff. */
const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

// [pattern, subject, nocase, expected]
const cases: readonly (readonly [string, string, boolean, boolean])[] = [
  ['*', 'hello', false, true],
  ['*', '', false, false], // Redis: '*' does not match the empty string (KEYS/SCAN special-case "*")
  ['**', '', false, false],
  ['', '', false, true],
  ['', 'a', false, false],
  ['a', '', false, false],
  ['h*o', 'hello', false, true],
  ['h*o', 'hell', false, false],
  ['h?llo', 'hello', false, true],
  ['h?llo', 'hllo', false, false],
  ['?', '', false, false],
  ['h[ae]llo', 'hallo', false, true],
  ['h[ae]llo', 'hillo', false, false],
  ['h[^e]llo', 'hallo', false, true],
  ['h[^e]llo', 'hello', false, false],
  ['h[a-b]llo', 'hbllo', false, true],
  ['h[z-a]llo', 'hmllo', false, true], // reversed range
  ['h[z-a]llo', 'hMllo', false, false],
  ['h\\*llo', 'h*llo', false, true],
  ['h\\*llo', 'hallo', false, false],
  ['a[', 'a[', false, false], // unterminated '[' at the end never matches
  ['a[', 'a', false, false],
  ['[', '[', false, false],
  ['[a', 'a', false, true], // unterminated class still matches its members
  ['[a-', 'a', false, true], // 'a' and '-' as members: too short for a range
  ['[a-', '-', false, true],
  ['[a-', 'b', false, false],
  ['[a-]', '-', false, false], // a range a..']' (reversed), unterminated
  ['[a-]', '^', false, true],
  ['[a-]', 'b', false, false],
  ['[-a', '-', false, true],
  ['\\', '\\', false, true], // a trailing backslash is literal
  ['\\\\', '\\', false, true],
  ['*\\', 'a\\', false, true],
  ['*\\', 'a', false, false],
  ['a\\', 'a\\', false, true],
  ['[]]', ']', false, false], // "[]" is an empty class, so nothing matches
  ['[]]', ']]', false, false],
  ['[]a]', 'a', false, false],
  ['[^]', 'x', false, true], // "[^]" is the negated empty class: any one byte
  ['[^]', '', false, false],
  ['[^', 'x', false, true],
  ['[^', '^', false, true],
  ['[\\]]', ']', false, true],
  ['[\\', '\\', false, true],
  ['[a-\xff]', 'b', false, false], // signed char: 0xff is -1, so the range is -1..'a'
  ['[a-\xff]', '\xff', false, true],
  ['[a-\xff]', '\x80', false, false],
  ['[a-\xff]', 'A', false, true],
  ['[\x80-\xff]', '\x90', false, true],
  ['[\x80-\xff]', 'a', false, false],
  ['\xff*', '\xff\x00\x01', false, true],
  ['a?c', 'a\x00c', false, true],
  ['HELLO', 'hello', true, true],
  ['HELLO', 'hello', false, false],
  ['h[A-Z]llo', 'hello', true, true],
  ['h[a-z]llo', 'hEllo', true, true],
  ['[\\A]', 'a', true, false], // escaped class members compare without folding
  ['*a*b*c', 'xaybzc', false, true],
  ['*a*b*c', 'xaybzcd', false, false],
  ['a***', 'a', false, true],
  ['a*', 'a', false, true],
  ['*.txt', 'notes.txt', false, true],
  ['user:*:name', 'user:42:name', false, true],
  ['user:*:name', 'user:42:age', false, false],
];

for (const [pattern, subject, nocase, expected] of cases) {
  test(`glob ${JSON.stringify(pattern)} ~ ${JSON.stringify(subject)}${nocase ? ' nocase' : ''} is ${expected}`, (t) => {
    t.is(globMatch(bytes(pattern), bytes(subject), nocase), expected);
  });
}

test('isMatchAll recognises only the pattern "*"', (t) => {
  t.true(isMatchAll(bytes('*')));
  t.false(isMatchAll(bytes('**')));
  t.false(isMatchAll(bytes('\\*')));
  t.false(isMatchAll(bytes('')));
});

test('many stars against a non-matching subject finish quickly', (t) => {
  const pattern = bytes(`${'a*'.repeat(300)}b`);
  const subject = bytes('a'.repeat(5000));
  const started = performance.now();
  t.false(globMatch(pattern, subject));
  t.true(performance.now() - started < 1000, 'pattern matching is not exponential');
});

test('star nesting up to the limit matches, one more never does (Redis protection)', (t) => {
  const within = bytes('*a'.repeat(GLOB_NESTING_MAX));
  const beyond = bytes('*a'.repeat(GLOB_NESTING_MAX + 1));
  t.true(globMatch(within, bytes('a'.repeat(GLOB_NESTING_MAX))));
  t.false(globMatch(beyond, bytes('a'.repeat(GLOB_NESTING_MAX + 1))));
  t.true(globMatch(bytes(`${'*'.repeat(5000)}a`), bytes('ba')), 'consecutive stars collapse and do not nest');
});

test('the literal prefix: bytes up to the first *, ? or [, with \\x a literal x', (t) => {
  const prefix = (p: string): string => globLiteralPrefix(bytes(p)).toString('latin1');
  t.is(prefix('user:*'), 'user:');
  t.is(prefix('a?c'), 'a');
  t.is(prefix('ab[cd]'), 'ab');
  t.is(prefix('exact'), 'exact');
  t.is(prefix('*x'), '');
  t.is(prefix('\\*lit*'), '*lit');
  t.is(prefix('a\\?b?'), 'a?b');
  t.is(prefix('a\\[b*'), 'a[b');
  t.is(prefix('tail\\'), 'tail\\', 'a trailing backslash is itself');
  t.is(prefix('\\\\x*'), '\\x');
  t.is(prefix(''), '');
});

test('the prefix end is the least string above every string with the prefix', (t) => {
  const end = (p: string): string | null => globPrefixEnd(bytes(p))?.toString('latin1') ?? null;
  t.is(end('abc'), 'abd');
  t.is(end('a\xff'), 'b');
  t.is(end('a\xff\xff'), 'b');
  t.is(end('\xff\xff'), null);
  t.is(end(''), null);
  t.is(end('a\x00'), 'a\x01');
});

test('every subject a pattern matches starts with its literal prefix, below the prefix end (the table above)', (t) => {
  let checked = 0;
  for (const [pattern, subject, nocase, expected] of cases) {
    if (!expected || nocase) continue;
    const prefix = globLiteralPrefix(bytes(pattern));
    const end = globPrefixEnd(prefix);
    const s = bytes(subject);
    t.true(s.subarray(0, prefix.length).equals(prefix), `${JSON.stringify(pattern)} ~ ${JSON.stringify(subject)}: prefix ${JSON.stringify(prefix.toString('latin1'))}`);
    t.true(end === null || Buffer.compare(s, end) < 0, `${JSON.stringify(subject)} below the end`);
    checked++;
  }
  t.true(checked > 20, `enough matching cases (${checked})`);
});
