// Logs are JSON lines (pino) with the node id, a level word, a time, and the caller's
// fields; --loglevel filters them; a real process writes them to stderr.

import test from 'ava';
import { createLog, levelOf } from '../../src/log.ts';
import { startRaftis } from '../support/processes.ts';
import { waitUntil } from '../support/wait.ts';

test('createLog writes one JSON object per line with node, level, time, msg and fields', (t) => {
  const lines: string[] = [];
  const log = createLog('n7', 'debug', (l) => void lines.push(l));
  log.info('became leader', { term: 4, id: 'n7' });
  log.warn('slow', { ms: 12 });
  t.is(lines.length, 2);
  t.true(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n')));
  const first = JSON.parse(lines[0]!);
  t.like(first, { level: 'info', node: 'n7', msg: 'became leader', term: 4 });
  t.false(Number.isNaN(Date.parse(first.time)));
  t.is(JSON.parse(lines[1]!).level, 'warn');
});

test('levels filter: warning hides info, debug shows everything', (t) => {
  const warnOnly: string[] = [];
  const w = createLog('n1', levelOf('warning'), (l) => void warnOnly.push(l));
  w.debug('d');
  w.info('i');
  w.warn('w');
  w.error('e');
  t.deepEqual(warnOnly.map((l) => JSON.parse(l).msg), ['w', 'e']);
  const all: string[] = [];
  const d = createLog('n1', levelOf('debug'), (l) => void all.push(l));
  d.debug('d');
  d.info('i');
  t.deepEqual(all.map((l) => JSON.parse(l).level), ['debug', 'info']);
  t.is(levelOf('notice'), 'info');
  t.is(levelOf('verbose'), 'info');
});

test('a real node writes JSON lines with its node id to stderr, at the configured level', async (t) => {
  const p = await startRaftis(t, { flags: ['--node-id', 'logger-node', '--http-port', '0'] });
  await waitUntil(() => /HTTP API listening/.test(p.stderr), 'the HTTP API log line', 10_000);
  const lines = p.stderr.split('\n').filter((l) => l.trim() !== '');
  t.true(lines.length >= 2);
  for (const l of lines) {
    const o = JSON.parse(l);
    t.is(o.node, 'logger-node', l);
    t.true(['debug', 'info', 'warn', 'error'].includes(o.level), l);
  }
  t.true(lines.some((l) => JSON.parse(l).msg === 'became leader' && typeof JSON.parse(l).term === 'number'), 'the term where it matters');
  const quiet = await startRaftis(t, { flags: ['--loglevel', 'warning'] });
  await waitUntil(() => /listening on/.test(quiet.stdout), 'the quiet node to listen', 10_000);
  t.is(quiet.stderr.trim(), '', 'no info lines at --loglevel warning');
});
