// Tests of formatDouble against Redis 7.2+ d2string (fpconv_dtoa layout).

import test from 'ava';
import { formatDouble } from '../../protocol/index.ts';

const cases: readonly (readonly [number, string])[] = [
  [0, '0'],
  [-0, '-0'],
  [NaN, 'nan'],
  [Infinity, 'inf'],
  [-Infinity, '-inf'],
  [1, '1'],
  [-3, '-3'],
  [1.5, '1.5'],
  [1.1, '1.1'],
  [0.1, '0.1'],
  [-0.5, '-0.5'],
  [123.456, '123.456'],
  [1 / 3, '0.3333333333333333'],
  [0.001, '0.001'],
  [0.00001, '0.00001'],
  [0.000001, '0.000001'],
  [1e-7, '1e-7'],
  [1.5e-7, '1.5e-7'],
  [0.00012345678, '1.2345678e-4'],
  [3.14159e-5, '3.14159e-5'],
  [1e16, '10000000000000000'],
  [2 ** 60, '1152921504606846976'],
  [2 ** 62, '4611686018427387904'],
  [-(2 ** 62), '-4611686018427387904'],
  [2 ** 63, '9223372036854776000'],
  [1.5e19, '1.5e+19'], // above 2^62: fpconv layout, plain only if exp < ndigits + 7
  [1.2345678901234567e19, '12345678901234567000'],
  [1e21, '1e+21'],
  [1.5e300, '1.5e+300'],
  [Number.MAX_VALUE, '1.7976931348623157e+308'],
  [Number.MIN_VALUE, '5e-324'],
  [1234.5e10, '12345000000000'],
];

for (const [value, expected] of cases) {
  test(`formatDouble(${Object.is(value, -0) ? '-0' : String(value)})`, (t) => {
    t.is(formatDouble(value), expected);
  });
}

test('finite doubles round-trip through their text', (t) => {
  let state = 12345;
  const view = new DataView(new ArrayBuffer(8));
  for (let i = 0; i < 20000; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    view.setUint32(0, state);
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    view.setUint32(4, state);
    const value = view.getFloat64(0);
    if (!Number.isFinite(value)) continue;
    const text = formatDouble(value);
    if (Number(text) !== value) return t.fail(`${value} -> ${text}`);
  }
  t.pass();
});
