// INCRBYFLOAT arithmetic emulates x87 long doubles; expected strings were read from
// a real redis-server 7.0 on x86-64 (INCRBYFLOAT after SET).

import test from 'ava';
import { formatIncrFloat, parseLongDouble } from '../../src/commands/long_double.ts';

const CASES: ReadonlyArray<readonly [string, string, string]> = [
  ['10.5', '0.1', '10.6'],
  ['0.1', '0.2', '0.3'],
  ['0', '3.0e3', '3000'],
  ['5.0e3', '2.0e2', '5200'],
  ['-0', '-0', '0'],
  ['1e20', '0.1', '100000000000000000000'],
  ['100', '-0.00001', '99.99999'],
  ['1.2', '3.4', '4.6'],
  [
    '0',
    '1.7976931348623157e308',
    '179769313486231569995921046774104434048386446944329178485314420765176628523124396354701868608387085564428793419425520689308708363451136055357897278026477617073498977686288394835618163294045594434929537447290627480669417384648879122776218333598953852832103282504751611691208117720159985926376802466863339536384',
  ],
];

for (const [a, b, want] of CASES) {
  test(`${a} + ${b} = ${want}`, (t) => {
    t.is(formatIncrFloat(a, b), want);
  });
}

test('infinities are refused as Redis does', (t) => {
  t.is(formatIncrFloat('1', 'inf'), null);
  t.is(formatIncrFloat('1e4932', '1e4932'), null);
});

test('strtold-like parsing rejects what Redis rejects', (t) => {
  for (const bad of ['', 'abc', '1.2.3', ' 1', 'e5', '.']) t.is(parseLongDouble(bad), null, bad);
  for (const good of ['1', '-1.5', '.5', '5.', '1e-3', 'inf', '-Infinity']) t.not(parseLongDouble(good), null, good);
});
