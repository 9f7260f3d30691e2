// A 3-server NATS JetStream cluster on loopback for benchmarks: one `nats-server -js`
// per server with a generated config (client and route ports free on 127.0.0.1,
// separate store dirs in a temp dir, the server's default JetStream durability).
// Processes and the dir are tracked by bench/lib/processes.ts, so its `cleanup()`
// stops them by PID and removes the dir. Start waits (bounded) until each server
// logs "Server is ready"; a KV bucket can be created once the meta leader is elected.

import { spawn } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir, track } from './processes.ts';

const START_MS_MAX = 30_000;
const POLL_MS = 100;

export interface NatsJsCluster {
  readonly urls: readonly string[];
  readonly pids: readonly number[];
  readonly dir: string;
}

export async function startNatsJsCluster(size = 3, natsServerPath = 'nats-server'): Promise<NatsJsCluster> {
  const dir = tempDir('nats-js-bench-');
  const names = Array.from({ length: size }, (_, i) => `s${i + 1}`);
  const ports = await Promise.all(names.map(async () => ({ client: await freePort(), route: await freePort() })));
  const routes = ports.map((p) => `nats-route://127.0.0.1:${p.route}`).join(', ');
  const servers = names.map((name, i) => {
    const conf = join(dir, `${name}.conf`);
    writeFileSync(
      conf,
      [
        `server_name: ${name}`,
        `listen: 127.0.0.1:${ports[i]!.client}`,
        `jetstream { store_dir: ${JSON.stringify(join(dir, name))} }`,
        `cluster { name: raftis-bench, listen: 127.0.0.1:${ports[i]!.route}, routes: [${routes}] }`,
        '',
      ].join('\n'),
    );
    const logPath = join(dir, `${name}.log`);
    const out = openSync(logPath, 'a');
    const child = track(spawn(natsServerPath, ['-c', conf], { stdio: ['ignore', out, out] }));
    return { name, child, logPath, url: `nats://127.0.0.1:${ports[i]!.client}` };
  });
  const deadline = performance.now() + START_MS_MAX;
  for (const s of servers) {
    for (;;) {
      const log = read(s.logPath);
      if (s.child.exitCode !== null) throw new Error(`nats-server ${s.name} exited at start:\n${log.slice(-2000)}`);
      if (log.includes('Server is ready')) break;
      if (performance.now() > deadline) throw new Error(`nats-server ${s.name} not ready within ${START_MS_MAX} ms:\n${log.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
  return { urls: servers.map((s) => s.url), pids: servers.map((s) => s.child.pid!), dir };
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
