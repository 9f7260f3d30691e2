// RAFT administration commands on a single-node server: INFO, NODES, ADD/REMOVE of a
// learner (membership in the log), TRANSFER and argument errors.

import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { parseConfig } from '../../src/config.ts';
import { createLog } from '../../src/log.ts';
import { startServer } from '../../src/server.ts';

test('RAFT INFO, NODES, ADD, REMOVE, TRANSFER', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'raftis-admin-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const s = await startServer(parseConfig(['--port', '0', '--dir', dir], {}), createLog('t', 'error', () => {}));
  t.teardown(() => s.stop());
  const c = new Redis({ port: s.port, lazyConnect: true });
  await c.connect();
  t.teardown(() => c.disconnect());

  // The node announces its client address through the log; RAFT NODES and INFO show it.
  const deadline = Date.now() + 5000;
  let first: unknown[] = [];
  while (Date.now() < deadline) {
    first = ((await c.call('RAFT', 'NODES')) as unknown[][])[0]!;
    if (first[first.indexOf('addr') + 1] === `127.0.0.1:${s.port}`) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  t.is(first[first.indexOf('addr') + 1], `127.0.0.1:${s.port}`);
  const info = String(await c.call('RAFT', 'INFO'));
  t.regex(info, /^node_id:n1\r\nrole:leader\r\n/);
  t.regex(info, /voters:n1\r\n/);

  t.is(await c.call('RAFT', 'ADD', 'n2'), 'OK');
  t.regex(String(await c.call('RAFT', 'INFO')), /learners:n2\r\n/);
  const nodes = (await c.call('RAFT', 'NODES')) as unknown[][];
  t.deepEqual(nodes.map((n) => [n[1], n[3]]), [['n1', 'voter'], ['n2', 'learner']]);
  await t.throwsAsync(() => c.call('RAFT', 'ADD', 'n2'), { message: /does not change the membership/ });
  t.is(await c.call('RAFT', 'REMOVE', 'n2'), 'OK');
  t.regex(String(await c.call('RAFT', 'INFO')), /learners:\r\n/);
  await t.throwsAsync(() => c.call('RAFT', 'REMOVE', 'n1'), { message: /would leave no voter/ });
  await t.throwsAsync(() => c.call('RAFT', 'TRANSFER', 'n9'), { message: /n9 is not a voter/ });
  // An echoed argument keeps its bytes (UTF-8 here, as ioredis sent it).
  await t.throwsAsync(() => c.call('RAFT', 'TRANSFER', 'né'), { message: /né is not a voter/ });
  await t.throwsAsync(() => c.call('RAFT', 'ADD', 'bad id!'), { message: /invalid node id/ });
  await t.throwsAsync(() => c.call('RAFT', 'NOPE'), { message: /unknown subcommand 'NOPE'. Try RAFT HELP./ });
  t.is(await c.set('still', 'works'), 'OK');

  // Read consistency is per connection, shown by RAFT CONSISTENCY and INFO raft.
  t.is(await c.call('RAFT', 'CONSISTENCY'), 'linearizable');
  for (const level of ['stale', 'lease', 'linearizable']) {
    t.is(await c.call('RAFT', 'CONSISTENCY', level), 'OK');
    t.regex(await c.info('raft'), new RegExp(`raft_read_consistency:${level}\r\n`));
    t.is(await c.get('still'), 'works', `a read at ${level} sees the connection's own write`);
  }
  await t.throwsAsync(() => c.call('RAFT', 'CONSISTENCY', 'eventual'), { message: /syntax error/ });
});
