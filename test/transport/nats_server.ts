// Starts a real nats-server for transport tests on a free port (or a given one, for a
// restart), bound to 127.0.0.1, and waits (bounded) until it logs that it is ready.
// Stopped by PID only, through the owner's teardown.

import { spawn } from 'node:child_process';
import { ServerProcess, freePort, type TeardownOwner } from '../support/processes.ts';
import { waitUntil } from '../support/wait.ts';
import { createLog, type Log } from '../../src/log.ts';

const READY_TIMEOUT_MS = 15_000;
const START_ATTEMPTS = 4;

export async function startNats(owner: TeardownOwner, options: { port?: number; flags?: readonly string[] } = {}): Promise<ServerProcess> {
  let lastError: unknown = null;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const port = options.port ?? (await freePort());
    const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), ...(options.flags ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    const p = new ServerProcess('nats-server', port, '', child);
    owner.teardown(() => p.kill());
    try {
      await waitUntil(() => /Server is ready/.test(p.stderr) || !p.running, `nats-server on port ${port} to get ready`, READY_TIMEOUT_MS);
      if (p.running) return p;
      lastError = new Error(`nats-server exited before ready\n${p.describe()}`);
    } catch (e) {
      lastError = new Error(`nats-server did not start\n${p.describe()}`, { cause: e });
      await p.kill();
    }
    // A given port must be reused as is (a restart); a free one may have been taken: try another.
    if (options.port !== undefined && !/address already in use/i.test(p.stderr)) break;
  }
  throw lastError;
}

/** A logger that keeps its lines (print them when a test fails) instead of writing to stderr. */
export function memoryLog(node: string): Log & { readonly lines: string[] } {
  const lines: string[] = [];
  return Object.assign(createLog(node, 'debug', (l) => void lines.push(l)), { lines });
}
