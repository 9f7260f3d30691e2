// `npx node bench/state_commit.ts [--entries 300000] [--commit-ms 5000] [--light-seconds 16]`:
// what a node's state commit costs on the event loop after heavy stream writes, with the
// real StateDatabase, StreamStore and checkpoint worker of a node (no Raft, no network).
// Phases, each in apply-sized transactions inside the node's long batch transaction,
// committed every --commit-ms as the node does (then afterCommit, which waits for the
// checkpoint worker while the WAL is large):
//   append:  --entries XADDs of 1 KiB, 800 per applied batch, as fast as SQLite takes them;
//   reclaim: the stream released and its rows removed 2 000 per batch (lazy free);
//   light:   10 XADDs of 100 B every ~1 ms (the stream queue's load) for --light-seconds.
// Prints each commit: COMMIT's time, afterCommit's wait, the WAL file's size after it.
// Everything lives in a temp dir removed at the end.

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { logIndex, term } from '../consensus/index.ts';
import { StateDatabase, StreamStore } from '../src/state/index.ts';
import { StateCheckpointer } from '../src/replication/state_checkpointer.ts';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '300000' },
    'commit-ms': { type: 'string', default: '5000' },
    'light-seconds': { type: 'string', default: '16' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write('usage: npx node bench/state_commit.ts [--entries N] [--commit-ms MS] [--light-seconds S]\n');
  process.exit(0);
}
const ENTRIES = Number(values.entries);
const COMMIT_MS = Number(values['commit-ms']);
const LIGHT_MS = Number(values['light-seconds']) * 1000;
const APPENDS_PER_BATCH = 800;
const RECLAIM_ROWS = 2000;

const dir = mkdtempSync(join(tmpdir(), 'raftis-commit-'));
const state = StateDatabase.open(join(dir, 'state.db'), { exclusiveLock: false });
const checkpointer = new StateCheckpointer(state);
const store = StreamStore.of(state);
let index = 0;
const apply = (fn: () => void): void => state.transaction(() => {
  fn();
  state.setApplied(logIndex(++index), term(1));
});
const walMiB = (): string => {
  try {
    return (statSync(join(dir, 'state.db-wal')).size / 2 ** 20).toFixed(0);
  } catch {
    return '0';
  }
};

let lastCommitMs = performance.now();
function commitIfDue(phase: string, force = false): void {
  if (!force && performance.now() - lastCommitMs < COMMIT_MS) return;
  const a = performance.now();
  state.commitBatch();
  const b = performance.now();
  checkpointer.afterCommit();
  const c = performance.now();
  console.log(`${phase.padEnd(8)} COMMIT ${(b - a).toFixed(1).padStart(6)} ms   afterCommit ${(c - b).toFixed(1).padStart(5)} ms   WAL ${walMiB().padStart(4)} MiB`);
  lastCommitMs = performance.now();
  state.beginBatch();
}

try {
  state.beginBatch();
  let ref = 0;
  apply(() => (ref = store.create()));
  const big = Buffer.alloc(1024, 0x78);
  let ms = 1n;
  for (let done = 0; done < ENTRIES; done += APPENDS_PER_BATCH) {
    apply(() => {
      for (let j = 0; j < APPENDS_PER_BATCH; j++) store.append(ref, { ms: ms++, seq: 0n }, [Buffer.from('f'), big]);
    });
    commitIfDue('append');
  }
  commitIfDue('append', true);
  apply(() => store.release(ref));
  while (store.garbageCount() > 0) {
    apply(() => store.reclaim(RECLAIM_ROWS));
    commitIfDue('reclaim');
  }
  commitIfDue('reclaim', true);
  let light = 0;
  apply(() => (light = store.create()));
  const small = Buffer.alloc(100, 0x79);
  for (const end = performance.now() + LIGHT_MS; performance.now() < end; ) {
    apply(() => {
      for (let j = 0; j < 10; j++) store.append(light, { ms: ms++, seq: 0n }, [Buffer.from('f'), small]);
    });
    for (const t = performance.now(); performance.now() - t < 0.9; ) {
      // ~10 000 appends a second, on this thread as in a node
    }
    commitIfDue('light');
  }
} finally {
  checkpointer.stop();
  state.close();
  rmSync(dir, { recursive: true, force: true });
}
