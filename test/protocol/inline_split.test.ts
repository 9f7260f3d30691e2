// Unit tests of splitInlineArgs against Redis's sdssplitargs rules.

import test from 'ava';
import { splitInlineArgs } from '../../protocol/index.ts';

function split(line: string): string[] | undefined {
  return splitInlineArgs(Buffer.from(line, 'latin1'))?.map((arg) => arg.toString('latin1'));
}

const cases: readonly (readonly [string, string[] | undefined])[] = [
  ['', []],
  ['   \t\v\f ', []],
  ['PING', ['PING']],
  ['  a   b\tc ', ['a', 'b', 'c']],
  ['set "a b" \'c\\\'d\' "\\x41"', ['set', 'a b', "c'd", 'A']],
  ['"\\n\\r\\t\\b\\a\\\\\\"\\q"', ['\n\r\t\b\x07\\"q']],
  ['"\\x4g"', ['x4g']],
  ['"\\xfF\\x00"', ['\xff\x00']],
  ['"\\X41"', ['X41']],
  ["'a\\nb\\x'", ['a\\nb\\x']],
  ["'a\\\\'", undefined], // backslash, then \' escapes the closing quote
  ["'\\''", ["'"]],
  ['""', ['']],
  ["'' \"\"", ['', '']],
  ['a"b c"', ['ab c']],
  ["a'b c'", ['ab c']],
  ['"a"\tb', ['a', 'b']],
  ['"a"\vb', ['a', 'b']],
  ['a\vb', ['a\vb']],
  ['a\fb', ['a\fb']],
  ['a\rb', ['a', 'b']],
  ['"a\rb"', ['a\rb']],
  ['a\x00b', ['a\x00b']],
  ['"a', undefined],
  ["'a", undefined],
  ['"a"b', undefined],
  ["'a'b", undefined],
  ['"a""b"', undefined],
  ['"\\"', undefined],
  ['"\\', undefined],
  ['x "', undefined],
];

for (const [line, expected] of cases) {
  test(`sdssplitargs ${JSON.stringify(line)}`, (t) => {
    t.deepEqual(split(line), expected);
  });
}

test('arguments are independent copies', (t) => {
  const line = Buffer.from('abc def');
  const args = splitInlineArgs(line);
  line.fill(0x2e);
  t.deepEqual(args?.map(String), ['abc', 'def']);
});
