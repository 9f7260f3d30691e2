// protocol/ is a standalone library: it imports only its own files (and node: builtins
// are not needed either), and touches no sockets.

import test from 'ava';
import { readFileSync } from 'node:fs';
import { checkLayout, folder, importsOf, tsFiles } from '../support/module_rules.ts';

const root = folder('protocol');

test('protocol/ imports nothing outside protocol/', (t) => {
  const files = tsFiles(root);
  t.true(files.length > 0);
  for (const { file: name, specifier } of importsOf(root)) t.true(/^\.\/[a-z0-9_]+\.ts$/.test(specifier), `${name} imports ${specifier}`);
  for (const name of files) {
    const source = readFileSync(root + name, 'utf8');
    t.false(/\bimport\s*\(/.test(source), `${name} uses dynamic import`);
    t.false(/\brequire\s*\(/.test(source), `${name} uses require`);
  }
});

test('protocol/ files are snake_case, open with a comment, and stay under 500 lines', (t) => {
  checkLayout(t, root);
});
