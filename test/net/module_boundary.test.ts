// src/net/ knows bytes and order only: it imports its own files, the protocol
// library and node: builtins, never commands, state, replication or consensus.

import test from 'ava';
import { checkLayout, folder, importsOf, tsFiles } from '../support/module_rules.ts';

const root = folder('src/net');

test('src/net/ imports only itself, protocol/ and node: builtins', (t) => {
  t.true(tsFiles(root).length > 0);
  for (const { file: name, specifier } of importsOf(root)) {
    t.true(
      /^\.\/[a-z0-9_]+\.ts$/.test(specifier) || specifier === '../../protocol/index.ts' || specifier.startsWith('node:'),
      `${name} imports ${specifier}`,
    );
  }
});

test('src/net/ files are snake_case, open with a comment, and stay under 500 lines', (t) => {
  checkLayout(t, root);
});

