// The raftis command's own answers: --help and --version exit 0 without starting a
// server; a bad flag exits 2 naming it; INFO reports the same version.

import test from 'ava';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { startRaftis } from '../support/processes.ts';

const run = promisify(execFile);
const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const raftis = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const r = await run(process.execPath, [MAIN, ...args], { timeout: 10_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
};

test('--help prints the flags and exits 0', async (t) => {
  const r = await raftis('--help');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^usage: raftis/);
  t.regex(r.stdout, /--port +RAFTIS_PORT/);
  t.is((await raftis('-h')).stdout, r.stdout);
});

test('--version prints the package version and exits 0', async (t) => {
  const r = await raftis('--version');
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `raftis v=${VERSION} node=${process.version}\n`);
});

test('an unknown flag exits 2 and points at --help', async (t) => {
  const r = await raftis('--nope');
  t.is(r.code, 2);
  t.is(r.stderr, 'raftis: unknown flag --nope (raftis --help lists them)\n');
});

test('INFO server reports the same version', async (t) => {
  const server = await startRaftis(t);
  const c = new Redis({ port: server.port, lazyConnect: true });
  await c.connect();
  t.teardown(() => c.disconnect());
  t.regex(await c.info('server'), new RegExp(`\\r\\nraftis_version:${VERSION.replace(/\./g, '\\.')}\\r\\n`));
});
