// consensus/ is a pure, synchronous library: it imports only its own files and
// never reaches for I/O, timers, the clock, randomness or async code.

import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('../../consensus/', import.meta.url).pathname;
const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));

const FORBIDDEN: ReadonlyArray<[RegExp, string]> = [
  [/\bDate\b/, 'Date'],
  [/Math\.random/, 'Math.random'],
  [/\bset(Timeout|Interval|Immediate)\b/, 'timers'],
  [/\basync\b|\bawait\b|\bPromise\b/, 'async code'],
  [/\bprocess\./, 'process'],
  [/\brequire\(/, 'require'],
  [/\bperformance\b/, 'performance'],
];

/** Source without comments and string contents, so prose cannot trip the checks. */
function code(src: string): string {
  return src
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
    .replace(/'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g, "''");
}

test('consensus/ has files to check', (t) => {
  t.true(files.length >= 8);
});

for (const f of files) {
  test(`consensus/${f} imports only consensus/ and uses no I/O, clock, randomness or async`, (t) => {
    const src = readFileSync(join(dir, f), 'utf8');
    const imports = [...src.matchAll(/(?:import|export)[^;]*?from\s+'([^']+)'/g)].map((m) => m[1]!);
    for (const spec of imports) t.regex(spec, /^\.\/[a-z_]+\.ts$/, `${f} imports ${spec}`);
    t.notRegex(src, /import\s*\(/, 'dynamic import');
    const body = code(src);
    for (const [re, what] of FORBIDDEN) t.notRegex(body, re, `${f} uses ${what}`);
  });
}
