// The dashboard in headless Chromium against a real 3-node cluster (nats-server and
// three raftis processes with --http-port): it shows the leader, and after the leader
// is SIGKILLed it shows the new one within a bounded time. Screenshots go to
// test/admin/output/ for a person to look at.

import test from 'ava';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Cluster, type ClusterNode } from '../support/cluster.ts';
import { waitUntil } from '../support/wait.ts';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = fileURLToPath(new URL('./output/', import.meta.url));
const NEW_LEADER_SHOWN_MS = 20_000;

/** The HTTP port a node logged when its API started (it runs with --http-port 0). */
function httpPortOf(node: ClusterNode): number {
  for (const line of readFileSync(node.logFile, 'utf8').split('\n').reverse()) {
    if (!line.includes('HTTP API listening')) continue;
    return JSON.parse(line).port as number;
  }
  throw new Error(`${node.id} logged no HTTP port`);
}

async function launch(t: { teardown(fn: () => unknown): void }): Promise<BrowserContext> {
  const profile = await mkdtemp(join(tmpdir(), 'raftis-chromium-'));
  t.teardown(() => rm(profile, { recursive: true, force: true }));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1400, height: 900 },
    timeout: 30_000,
  });
  t.teardown(() => ctx.close());
  return ctx;
}

const shownLeader = (page: Page): Promise<string> => page.locator('#leader').getAttribute('data-leader').then((v) => v ?? '');

test('the dashboard shows the leader, and the new one after the leader is killed', async (t) => {
  t.timeout(120_000);
  const cluster = await Cluster.start(t, { appendfsync: 'no', flags: ['--http-port', '0'] });
  const first = await cluster.waitForLeader(15_000);
  const http = new Map([...cluster.nodes.values()].map((n) => [n.id, `127.0.0.1:${httpPortOf(n)}`]));
  // Some activity and a consumer group, so the page has something to draw.
  const c = await cluster.client(first.id);
  for (let i = 0; i < 50; i++) await c.set(`user:${i}`, `name ${i}`);
  for (let i = 0; i < 20; i++) await c.xadd('orders', '*', 'n', String(i));
  await c.xgroup('CREATE', 'orders', 'billing', '0');
  await c.xreadgroup('GROUP', 'billing', 'b1', 'COUNT', '5', 'STREAMS', 'orders', '>');

  // Served by a follower, so the page's own node survives the kill.
  const follower = [...http.keys()].find((id) => id !== first.id)!;
  const ctx = await launch(t);
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`http://${http.get(follower)}/?nodes=${[...http.values()].join(',')}`, { timeout: 15_000 });
  await waitUntil(async () => (await shownLeader(page)) === first.id, `the page to show leader ${first.id}`, 10_000, 100);
  await waitUntil(async () => (await page.locator('#nodes tbody tr[data-state="follower"]').count()) === 2, 'two followers in the table', 10_000, 100);
  await waitUntil(async () => (await page.locator('#streams tbody').innerText()).includes('billing'), 'the consumer group in the streams table', 10_000, 100);
  // A few seconds of writes through the follower (forwarded to the leader), for the charts.
  const fc = await cluster.client(follower);
  const loadUntil = performance.now() + 4000;
  for (let i = 0; performance.now() < loadUntil; i++) await fc.set(`load:${i % 100}`, String(i));
  await waitUntil(async () => Number((await page.locator('#ops-now').innerText()).split(' ')[0]) > 0, 'the ops chart to show the writes', 5000, 100);
  mkdirSync(OUTPUT, { recursive: true });
  await page.screenshot({ path: join(OUTPUT, 'dashboard.png'), fullPage: true });

  const killedAt = performance.now();
  await cluster.kill(first.id);
  await waitUntil(
    async () => {
      const shown = await shownLeader(page);
      return shown !== '' && shown !== first.id;
    },
    'the page to show a new leader',
    NEW_LEADER_SHOWN_MS,
    100,
  );
  const shownAfterMs = performance.now() - killedAt;
  const second = await cluster.waitForLeader(10_000, { exclude: [first.id] });
  await waitUntil(async () => (await shownLeader(page)) === second.id, `the page to agree on ${second.id}`, 5000, 100);
  await waitUntil(async () => (await page.locator(`#nodes tbody tr[data-node="${first.id}"]`).getAttribute('data-state')) === 'down', 'the killed node shown unreachable', 5000, 100);
  await page.screenshot({ path: join(OUTPUT, 'dashboard-after-failover.png'), fullPage: true });
  t.log(`new leader ${second.id} shown ${Math.round(shownAfterMs)} ms after SIGKILL of ${first.id}`);

  // Without ?nodes=, the page finds the others from the addresses the nodes announced.
  const discovering = await ctx.newPage();
  await discovering.goto(`http://${http.get(second.id)}/`, { timeout: 15_000 });
  await waitUntil(async () => (await discovering.locator('#nodes tbody tr').count()) === 3, 'three nodes discovered', 10_000, 100);
  t.is(await shownLeader(discovering), second.id);
  t.deepEqual(errors, [], 'no script errors on the page');
});
