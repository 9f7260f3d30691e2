// `npx node bench/snapshot.ts [--keys 1000000] [--value-bytes 1000]`: snapshots of ~1 GB
// of state on a real 3-node cluster (three raftis processes, one nats-server, loopback).
//   1. fill:     SETs pipelined to the leader until state.db reaches --state-mib (1 GiB)
//                or --keys are set (`--appendfsync no` and no automatic snapshot: this
//                phase only builds the data and is not measured);
//   2. creation: SAVE on the leader, timed end to end, with its RSS sampled every 100 ms
//                (and the kernel's VmHWM, reset first) and a PING every 10 ms on another
//                connection (max round trip = longest event-loop stall seen);
//   3. serving:  a follower is replaced as docs/operations.md says (RAFT REMOVE, stop,
//                wipe, start with --join, RAFT ADD): the leader streams snapshot.db to it.
//                Timed from RAFT ADD until its applied index reaches the leader's commit,
//                RSS of sender and receiver sampled; then DBSIZE and a key sample checked.
// Also reports the raft/ log directory before and after the SAVE compacted it.
// Goals (issue 5): creation < 30 s for 1 GB; memory < 500 MB while serving.
// Everything runs in one temp dir, removed at the end (or on SIGINT); processes by PID.

import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Cluster } from '../test/support/cluster.ts';
import { Cleanups } from '../test/support/processes.ts';
import { waitUntil } from '../test/support/wait.ts';
import { dirBytes, fileBytes, fmtBytes, freeBytes } from './lib/disk_usage.ts';
import { valueOf } from './lib/load_gen.ts';
import { PingProbe, type PingStats } from './lib/ping_probe.ts';
import { MemorySampler, type MemoryPeak } from './lib/proc_memory.ts';
import { fill } from './lib/resp_fill.ts';
import { fmtInt, fmtMs, markdownTable } from './lib/table.ts';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000000' },
    'state-mib': { type: 'string', default: '1024' },
    'value-bytes': { type: 'string', default: '1000' },
    'fill-seconds': { type: 'string', default: '300' },
    'catch-up-seconds': { type: 'string', default: '240' },
    'snapshot-entries': { type: 'string', default: '1000000000' },
    'sample-keys': { type: 'string', default: '2000' },
    logs: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'usage: npx node bench/snapshot.ts [--keys N] [--value-bytes B] [--state-mib M (stop the fill there; 0: no limit)]\n' +
      '                                 [--fill-seconds S] [--catch-up-seconds S]\n' +
      '                                 [--snapshot-entries N (automatic snapshots; default: none during the run)] [--sample-keys N]\n' +
      '                                 [--logs DIR (copy the nodes\' logs there before the temp dir is removed)]\n',
  );
  process.exit(0);
}
const KEYS = Number(values.keys);
const VALUE_BYTES = Number(values['value-bytes']);
const FILL_MS = Number(values['fill-seconds']) * 1000;
const CATCH_UP_MS = Number(values['catch-up-seconds']) * 1000;
const SAMPLE_KEYS = Number(values['sample-keys']);
const STATE_BYTES_TARGET = Number(values['state-mib']) * 1024 ** 2;
const SAVE_TIMEOUT_MS = 300_000;
const CREATION_GOAL_S = 30;
const MEMORY_GOAL_BYTES = 500e6; // 500 MB = 476.8 MiB
/** state.db can take ~5x the raw values (1 KB values spill to overflow pages: see docs/performance.md). */
const STATE_PER_VALUE_BYTE_MAX = 5;

const keyOf = (i: number): string => `snap:${i}`;
const log = (s: string): void => void process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const mb = (n: number): string => `${(n / 1024 ** 2).toFixed(0)} MiB`;

const cleanups = new Cleanups();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => void cleanups.run().finally(() => process.exit(130)));
}

interface Sizes {
  readonly state: number;
  readonly stateWal: number;
  readonly snapshot: number;
  readonly raft: number;
}
const sizesOf = (dir: string): Sizes => ({
  state: fileBytes(join(dir, 'state.db')),
  stateWal: fileBytes(join(dir, 'state.db-wal')),
  snapshot: fileBytes(join(dir, 'snapshot.db')),
  raft: dirBytes(join(dir, 'raft')),
});
const fmtSizes = (s: Sizes): string =>
  `state.db ${fmtBytes(s.state)} (+ -wal ${fmtBytes(s.stateWal)}), snapshot.db ${fmtBytes(s.snapshot)}, raft/ ${fmtBytes(s.raft)}`;

/** The `time` of the first JSON log line of `file` whose msg is `msg`, in ms since the epoch. */
function logTime(file: string, msg: string): number {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes(`"msg":"${msg}"`)) continue;
    try {
      return Date.parse((JSON.parse(line) as { time: string }).time);
    } catch {
      continue;
    }
  }
  return NaN;
}

async function main(onRoot: (root: string) => void): Promise<void> {
  // Three state files and two snapshot copies (leader, receiver), plus three uncompacted logs.
  const stateBytesMax = Math.min(KEYS * VALUE_BYTES * STATE_PER_VALUE_BYTE_MAX, STATE_BYTES_TARGET > 0 ? STATE_BYTES_TARGET : Infinity);
  const needBytes = 5 * stateBytesMax + 3 * 1.1 * KEYS * VALUE_BYTES;
  if (freeBytes(tmpdir()) < needBytes) throw new Error(`${tmpdir()} has ${fmtBytes(freeBytes(tmpdir()))} free; this run needs about ${fmtBytes(needBytes)}`);
  const cluster = await Cluster.start(cleanups, { appendfsync: 'no', snapshotEntries: Number(values['snapshot-entries']) });
  onRoot(cluster.root);
  const { id: leader } = await cluster.waitForLeader(15_000);
  const L = cluster.node(leader);
  const ctl = await cluster.client(leader, { commandTimeoutMs: SAVE_TIMEOUT_MS });
  log(`cluster ${cluster.founders.join(',')} up in ${cluster.root}; leader ${leader} (pid ${L.pid})`);

  // ---- 1. fill ----
  const filled = await fill({
    port: L.port,
    keys: KEYS,
    keyOf,
    valueOf: (i) => valueOf(i, VALUE_BYTES),
    deadlineMs: FILL_MS,
    enough: () => STATE_BYTES_TARGET > 0 && fileBytes(join(L.dir, 'state.db')) + fileBytes(join(L.dir, 'state.db-wal')) >= STATE_BYTES_TARGET,
    onProgress: (n, ms) => {
      if (Math.floor(ms / 1000) % 10 === 0) log(`fill: ${fmtInt(n)} SETs in ${(ms / 1000).toFixed(0)} s`);
    },
  });
  const fillRate = (filled.acked / filled.elapsedMs) * 1000;
  log(`fill: ${fmtInt(filled.acked)} SETs (${fmtBytes(filled.valueBytes)} of values) in ${(filled.elapsedMs / 1000).toFixed(1)} s, ${fmtInt(fillRate)}/s${filled.completed ? '' : ' (stopped: target state size or deadline)'}`);
  const commitAfterFill = (await L.status()).commit;
  await waitUntil(
    async () => (await cluster.statuses()).every((s) => s.applied >= commitAfterFill),
    'every node to apply the fill',
    120_000,
    200,
  );
  const before = sizesOf(L.dir);
  log(`leader before SAVE: ${fmtSizes(before)}`);

  // ---- 2. creation ----
  const creationMem = new MemorySampler(L.pid);
  const creationPing = await PingProbe.start(L.port);
  const t0 = performance.now();
  const saved = await ctl.call('SAVE');
  const creationMs = performance.now() - t0;
  const creationPeak = creationMem.stop();
  const creationPings = creationPing.stop();
  if (saved !== 'OK') throw new Error(`SAVE answered ${String(saved)}`);
  const after = sizesOf(L.dir);
  const leaderNow = (await cluster.waitForLeader(15_000)).id;
  const stillLeader = leaderNow === leader;
  log(
    `SAVE: ${(creationMs / 1000).toFixed(1)} s; peak RSS ${mb(creationPeak.hwmBytes)}; max PING ${fmtMs(creationPings.maxMs)} ` +
      `(sent at +${((creationPings.maxSentAtMs - t0) / 1000).toFixed(1)} s); leader after: ${fmtSizes(after)}; leader now ${leaderNow}`,
  );
  if (!stillLeader) {
    // Only the node that took the snapshot has a compacted log to stream from: give it the lead back.
    log(`${leader} lost the leadership during SAVE; RAFT TRANSFER back to it`);
    await cluster.node(leaderNow).call('RAFT', 'TRANSFER', leader);
    await cluster.waitForLeader(20_000, { exclude: [leaderNow] });
    if ((await cluster.leader()) !== leader) throw new Error(`leadership did not return to ${leader}`);
  }

  // ---- 3. serving ----
  const f = cluster.founders.find((id) => id !== leader)!;
  const F = cluster.node(f);
  const followerLogBefore = dirBytes(join(F.dir, 'raft'));
  if ((await ctl.call('RAFT', 'REMOVE', f)) !== 'OK') throw new Error(`RAFT REMOVE ${f} failed`);
  await waitUntil(async () => !(await L.status()).voters.includes(f), `${f} to leave the configuration`, 20_000, 50);
  await cluster.stop(f);
  await cluster.wipe(f);
  await cluster.startProcess(f, { join: true });
  const target = (await L.status()).commit;
  const senderMem = new MemorySampler(L.pid);
  const receiverMem = new MemorySampler(F.pid);
  const servingPing = await PingProbe.start(L.port);
  const addedAtMs = Date.now();
  const t1 = performance.now();
  if ((await ctl.call('RAFT', 'ADD', f)) !== 'OK') throw new Error(`RAFT ADD ${f} failed`);
  let statusErrors = 0;
  await waitUntil(
    async () => {
      try {
        return (await F.status()).applied >= target;
      } catch {
        statusErrors++; // the receiver is busy installing: INFO may time out
        return false;
      }
    },
    `${f} to apply index ${target}`,
    CATCH_UP_MS,
    100,
  );
  const catchUpMs = performance.now() - t1;
  const senderPeak = senderMem.stop();
  const receiverPeak = receiverMem.stop();
  const servingPings = servingPing.stop();
  log(`${f} caught up (applied >= ${target}) ${(catchUpMs / 1000).toFixed(1)} s after RAFT ADD`);

  // ---- verification ----
  await waitUntil(async () => (await L.status()).voters.includes(f), `${f} to be promoted to voter`, 30_000, 100);
  const fc = await cluster.client(f, { commandTimeoutMs: 30_000 });
  const tDbsize = performance.now();
  const dbLeader = Number(await ctl.call('DBSIZE'));
  const dbsizeLeaderMs = performance.now() - tDbsize;
  const dbFollower = Number(await fc.call('DBSIZE'));
  let mismatches = 0;
  const step = Math.max(1, Math.floor(filled.sent / SAMPLE_KEYS));
  const sample = Array.from({ length: Math.min(SAMPLE_KEYS, filled.sent) }, (_, j) => (j * step + 7) % filled.sent);
  for (let j = 0; j < sample.length; j += 500) {
    const ids = sample.slice(j, j + 500);
    const got = (await fc.call('MGET', ...ids.map(keyOf))) as Array<string | null>;
    ids.forEach((i, n) => (mismatches += got[n] === valueOf(i, VALUE_BYTES) ? 0 : 1));
  }
  const received = sizesOf(F.dir);
  const phases = {
    sendStart: logTime(L.logFile, 'snapshot transfer started'),
    received: logTime(F.logFile, 'snapshot received'),
    installed: logTime(F.logFile, 'installed snapshot from the leader'),
  };
  log(`verify: DBSIZE leader ${dbLeader} (answered in ${fmtMs(dbsizeLeaderMs)}), ${f} ${dbFollower}; ${sample.length} sampled keys, ${mismatches} mismatches; ${f}: ${fmtSizes(received)}`);

  report({
    leader, f, filled, fillRate, before, after, followerLogBefore, creationMs, creationPeak, creationPings, creationT0: t0, servingT0: t1, stillLeader,
    catchUpMs, senderPeak, receiverPeak, servingPings, addedAtMs, phases, statusErrors, dbLeader, dbFollower, sampled: sample.length, mismatches, received,
  });
  if (cluster.crashes.length > 0) throw new Error(`a node exited by itself:\n${cluster.crashes.join('\n')}`);
  if (dbFollower !== dbLeader || mismatches > 0) throw new Error('the re-added follower does not match the leader');
}

interface Report {
  readonly leader: string;
  readonly f: string;
  readonly filled: Awaited<ReturnType<typeof fill>>;
  readonly fillRate: number;
  readonly before: Sizes;
  readonly after: Sizes;
  readonly followerLogBefore: number;
  readonly creationMs: number;
  readonly creationPeak: MemoryPeak;
  readonly creationPings: PingStats;
  /** performance.now() at SAVE and at RAFT ADD. */
  readonly creationT0: number;
  readonly servingT0: number;
  readonly stillLeader: boolean;
  readonly catchUpMs: number;
  readonly senderPeak: MemoryPeak;
  readonly receiverPeak: MemoryPeak;
  readonly servingPings: PingStats;
  readonly addedAtMs: number;
  readonly phases: { readonly sendStart: number; readonly received: number; readonly installed: number };
  readonly statusErrors: number;
  readonly dbLeader: number;
  readonly dbFollower: number;
  readonly sampled: number;
  readonly mismatches: number;
  readonly received: Sizes;
}

function report(r: Report): void {
  const peak = (p: MemoryPeak): number => Math.max(p.hwmBytes, p.rssMaxBytes);
  const mem = (p: MemoryPeak): string => `${mb(peak(p))} (anon ${mb(p.anonMaxBytes)}, at start ${mb(p.rssStartBytes)})`;
  const pings = (p: PingStats, t0: number): string =>
    `${fmtMs(p.maxMs)} (sent at +${s(p.maxSentAtMs - t0)}; p99 ${fmtMs(p.p99Ms)}, ${p.pings} PINGs, ${p.over100Ms} > 100 ms${p.unexpected ? `, got ${p.unexpected}` : ''})`;
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  const gb = r.before.state / 1024 ** 3;
  const phase = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) ? s(b - a) : '-');
  const rows: string[][] = [
    ['data', `${fmtInt(r.filled.sent)} keys × ${VALUE_BYTES} B, filled at ${fmtInt(r.fillRate)} SET/s`],
    ['state.db size (leader, before SAVE)', `${fmtBytes(r.before.state)} (+ ${fmtBytes(r.before.stateWal)} -wal)`],
    ['snapshot.db size', fmtBytes(r.after.snapshot)],
    ['snapshot creation (SAVE, leader)', `${s(r.creationMs)} (${(r.creationMs / 1000 / Math.max(gb, 1e-9)).toFixed(1)} s per GiB)`],
    ['peak RSS during creation', mem(r.creationPeak)],
    ['max PING latency during creation', pings(r.creationPings, r.creationT0)],
    ['leader log raft/ before → after SAVE', `${fmtBytes(r.before.raft)} → ${fmtBytes(r.after.raft)}`],
    [`transfer: RAFT ADD → ${r.f} caught up`, s(r.catchUpMs)],
    ['  of which ADD → first chunk sent', phase(r.addedAtMs, r.phases.sendStart)],
    ['  first chunk → file received', phase(r.phases.sendStart, r.phases.received)],
    ['  received → installed', phase(r.phases.received, r.phases.installed)],
    [`peak RSS of sender (${r.leader}) during transfer`, mem(r.senderPeak)],
    [`peak RSS of receiver (${r.f}) during transfer`, mem(r.receiverPeak)],
    ['max PING latency on the leader during transfer', pings(r.servingPings, r.servingT0)],
    [`${r.f} after catch-up`, `DBSIZE ${fmtInt(r.dbFollower)} (leader ${fmtInt(r.dbLeader)}), ${r.sampled} sampled keys, ${r.mismatches} mismatches; raft/ ${fmtBytes(r.received.raft)}`],
  ];
  process.stdout.write(`\n${markdownTable(['measure', 'result'], rows)}\n\n`);
  const creationOk = r.creationMs / 1000 / Math.max(gb, 1e-9) < CREATION_GOAL_S;
  const memOk = Math.max(peak(r.senderPeak), peak(r.receiverPeak)) < MEMORY_GOAL_BYTES;
  const goals = [
    ['snapshot creation < 30 s per GiB of state.db', `${s(r.creationMs)} for ${fmtBytes(r.before.state)}`, creationOk ? 'yes' : '**no**'],
    ['memory < 500 MB (476.8 MiB) while serving', `sender ${mb(peak(r.senderPeak))}, receiver ${mb(peak(r.receiverPeak))}`, memOk ? 'yes' : '**no**'],
  ];
  process.stdout.write(`${markdownTable(['goal', 'result', 'met?'], goals)}\n\n`);
  process.stdout.write(
    `notes: ${r.leader} ${r.stillLeader ? 'kept' : 'LOST'} leadership during SAVE; ${r.f}'s raft/ was ${fmtBytes(r.followerLogBefore)} before it was wiped ` +
      `(no automatic snapshot in this run); INFO on the receiver failed ${r.statusErrors} times while it caught up.\n`,
  );
}

/** Registered once the cluster exists, so it runs before the teardown that removes its dir. */
function keepLogs(root: string): void {
  const to = values.logs;
  if (to === undefined) return;
  cleanups.teardown(() => {
    mkdirSync(to, { recursive: true });
    for (const name of readdirSync(root)) if (name.endsWith('.log')) copyFileSync(join(root, name), join(to, name));
    log(`node logs copied to ${to}`);
  });
}

try {
  await main(keepLogs);
} finally {
  await cleanups.run();
}
