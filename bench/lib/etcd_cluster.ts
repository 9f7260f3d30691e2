// A 3-member etcd cluster on loopback for benchmarks: one `etcd` process per member,
// client and peer URLs on free 127.0.0.1 ports, separate data dirs in a temp dir, etcd's
// default durability (fsync of its WAL per batch). Processes and the dir are tracked by
// bench/lib/processes.ts, so its `cleanup()` stops them by PID and removes the dir.
// Start waits (bounded) until every member answers /health.

import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { freePort, tempDir, track } from './processes.ts';

const START_MS_MAX = 30_000;
const POLL_MS = 100;

export interface EtcdMember {
  readonly name: string;
  readonly pid: number;
  readonly clientUrl: string;
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  readonly dir: string;
  /** The client URL of the current leader (asked from every member's status). */
  leaderUrl(): Promise<string>;
}

export async function startEtcdCluster(size = 3, etcdPath = 'etcd'): Promise<EtcdCluster> {
  const dir = tempDir('etcd-bench-');
  const names = Array.from({ length: size }, (_, i) => `e${i + 1}`);
  const ports = await Promise.all(names.map(async () => ({ client: await freePort(), peer: await freePort() })));
  const initialCluster = names.map((n, i) => `${n}=http://127.0.0.1:${ports[i]!.peer}`).join(',');
  const members = names.map((name, i) => {
    const clientUrl = `http://127.0.0.1:${ports[i]!.client}`;
    const peerUrl = `http://127.0.0.1:${ports[i]!.peer}`;
    const out = openSync(join(dir, `${name}.log`), 'a');
    const child = track(
      spawn(etcdPath, [
        '--name', name, '--data-dir', join(dir, name),
        '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
        '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
        '--initial-cluster', initialCluster, '--initial-cluster-token', 'raftis-bench', '--initial-cluster-state', 'new',
        '--logger', 'zap', '--log-level', 'warn',
      ], { stdio: ['ignore', out, out] }),
    );
    return { name, pid: child.pid!, clientUrl, child };
  });
  const deadline = performance.now() + START_MS_MAX;
  for (const m of members) {
    for (;;) {
      if (m.child.exitCode !== null) throw new Error(`etcd ${m.name} exited at start:\n${tail(join(dir, `${m.name}.log`))}`);
      if (await healthy(m.clientUrl)) break;
      if (performance.now() > deadline) throw new Error(`etcd ${m.name} not healthy within ${START_MS_MAX} ms:\n${tail(join(dir, `${m.name}.log`))}`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
  return {
    members: members.map(({ name, pid, clientUrl }) => ({ name, pid, clientUrl })),
    dir,
    leaderUrl: async () => {
      for (const m of members) {
        const c = new Etcd3({ hosts: m.clientUrl });
        try {
          const s = await c.maintenance.status();
          if (s.leader === s.header.member_id) return m.clientUrl;
        } finally {
          c.close();
        }
      }
      throw new Error('no etcd member reports itself as leader');
    },
  };
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    return res.ok && ((await res.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(-2000);
  } catch {
    return '(no log)';
  }
}
