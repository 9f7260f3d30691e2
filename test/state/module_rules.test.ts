// src/state/ is the deterministic state machine: no clock, no randomness, in SQL or in
// TypeScript; and its files follow the layout rules (snake_case, opening comment, size).

import test from 'ava';
import { readFileSync } from 'node:fs';
import { checkLayout, folder, tsFiles } from '../support/module_rules.ts';

const root = folder('src/state');
const files = tsFiles(root);

const forbidden: readonly (readonly [RegExp, string])[] = [
  [/\bDate\b/, 'Date'],
  [/Math\.random/, 'Math.random'],
  [/performance\.now|process\.hrtime|setTimeout|setInterval/, 'timers or clocks'],
  [/CURRENT_(TIMESTAMP|DATE|TIME)|\b(random|randomblob)\s*\(|\b(julianday|unixepoch|strftime|datetime)\s*\(\s*'now'/i, 'SQL clock or randomness'],
  [/node:crypto['"][^;]*random|randomUUID|randomBytes/, 'crypto randomness'],
];

test('src/state uses no clock and no randomness', (t) => {
  t.true(files.length > 0);
  for (const name of files) {
    const code = readFileSync(root + name, 'utf8')
      .split('\n')
      .filter((line) => !/^\s*(\/\/|\*|\/\*\*)/.test(line)) // comments may mention them
      .join('\n');
    for (const [pattern, what] of forbidden) t.false(pattern.test(code), `${name} uses ${what}`);
  }
});

test('src/state files are snake_case, open with a comment, and stay under 500 lines', (t) => {
  checkLayout(t, root);
});
