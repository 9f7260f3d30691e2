// Shared checks of a module folder's own rules: what its files import, and their layout
// (snake_case names, an opening comment, at most 500 lines — STYLE.md rule 9).

import type { ExecutionContext } from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The folder `rel` (relative to the repository root) as an absolute path ending in '/'. */
export const folder = (rel: string): string => fileURLToPath(new URL(`../../${rel}/`, import.meta.url));

export const tsFiles = (dir: string): string[] => readdirSync(dir).filter((name) => name.endsWith('.ts'));

/** Every static import or re-export specifier of each .ts file in `dir`. */
export function importsOf(dir: string): Array<{ readonly file: string; readonly specifier: string; readonly source: string }> {
  const out: Array<{ file: string; specifier: string; source: string }> = [];
  for (const file of tsFiles(dir)) {
    const source = readFileSync(dir + file, 'utf8');
    for (const match of source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
      out.push({ file, specifier: match[1]!, source });
    }
  }
  return out;
}

export function checkLayout(t: ExecutionContext, dir: string): void {
  for (const name of tsFiles(dir)) {
    t.regex(name, /^[a-z0-9_]+\.ts$/);
    const source = readFileSync(dir + name, 'utf8');
    t.true(source.startsWith('// '), `${name} opens with a comment`);
    t.true(source.split('\n').length <= 500, `${name} is too long`);
  }
}
