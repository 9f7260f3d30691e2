// Crash safety with a real process: a child appends batches and prints each index
// once persist() has returned; it is SIGKILLed after a random number of lines, then
// the log must reopen with every printed index present and intact. Several rounds
// continue the same log; every wait is bounded.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { LogIndex } from '../../consensus/index.ts';
import { WalStorage } from '../../src/replication/wal/index.ts';
import { CRASH_WAL_OPTIONS, crashEntry } from './crash_kit.ts';
import { plain, prng, tempDir } from './wal_kit.ts';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash_writer.ts');
const ROUNDS = 6;
const ROUND_DEADLINE_MS = 20_000;

/** Runs the child until it has printed `linesWanted` persist lines, SIGKILLs it, and returns the highest index printed. */
function runAndKill(dir: string, seed: number, linesWanted: number): Promise<{ started: number; printed: number; lines: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let lines = 0;
    let started = -1;
    let printed = -1;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child printed ${lines} of ${linesWanted} lines within ${ROUND_DEADLINE_MS} ms; stderr: ${err}`));
    }, ROUND_DEADLINE_MS);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const [tag, n] = out.slice(0, nl).split(' ');
        out = out.slice(nl + 1);
        if (tag === 'S') started = Number(n);
        if (tag === 'P') {
          printed = Number(n);
          if (++lines === linesWanted) child.kill('SIGKILL');
        }
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code ?? signal}: ${err}`));
      else resolve({ started, printed, lines });
    });
  });
}

test('every index printed after persist() survives SIGKILL at a random moment', async (t) => {
  const tmp = tempDir('crash');
  t.teardown(tmp.done);
  const rnd = prng(Number(process.env['RAFTIS_WAL_CRASH_SEED'] ?? 2024));
  let durable = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const r = await runAndKill(tmp.dir, round, rnd.int(1, 300));
    t.true(r.started >= durable, `round ${round}: child started at ${r.started}, below the durable ${durable}`);
    const wal = WalStorage.open(tmp.dir, CRASH_WAL_OPTIONS);
    try {
      const first = wal.firstIndex();
      const last = wal.lastIndex();
      t.true(last >= r.printed, `round ${round}: last ${last} < printed ${r.printed}`);
      t.true(first <= r.printed + 1, `round ${round}: first ${first} beyond printed ${r.printed}`);
      t.true(wal.initialState().hardState.commit >= r.printed, 'the hard state of the last printed batch is durable');
      const got = wal.entries(first, (last + 1) as LogIndex, Infinity);
      const want = Array.from({ length: last - first + 1 }, (_, k) => crashEntry(first + k));
      t.deepEqual(plain(got), plain(want), `round ${round}: entries ${first}..${last}`);
      t.log(`round ${round}: killed after ${r.lines} persists; log ${first}..${last}, printed ${r.printed}, segments ${wal.segmentSeqs().join(',')}`);
      durable = last;
    } finally {
      wal.close();
    }
  }
});
