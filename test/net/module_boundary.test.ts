// src/net/ knows bytes and order only: it imports its own files, the protocol
// library and node: builtins, never commands, state, replication or consensus.

import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../src/net/', import.meta.url));

test('src/net/ imports only itself, protocol/ and node: builtins', (t) => {
  const files = readdirSync(root).filter((name) => name.endsWith('.ts'));
  t.true(files.length > 0);
  for (const name of files) {
    const source = readFileSync(root + name, 'utf8');
    for (const match of source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
      const specifier = match[1]!;
      t.true(
        /^\.\/[a-z0-9_]+\.ts$/.test(specifier) || specifier === '../../protocol/index.ts' || specifier.startsWith('node:'),
        `${name} imports ${specifier}`,
      );
    }
  }
});

test('src/net/ files are snake_case, open with a comment, and stay under 500 lines', (t) => {
  for (const name of readdirSync(root).filter((file) => file.endsWith('.ts'))) {
    t.regex(name, /^[a-z0-9_]+\.ts$/);
    const source = readFileSync(root + name, 'utf8');
    t.true(source.startsWith('// '), `${name} opens with a comment`);
    t.true(source.split('\n').length <= 500, `${name} is too long`);
  }
});
