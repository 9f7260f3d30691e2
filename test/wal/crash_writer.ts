// Child process of crash.test.ts: opens the WAL in argv[2] and appends batches forever,
// printing "P <lastIndex>" after each persist() returns, until it is killed.
// Entry contents derive from the index (crashEntry), so the parent can check them.

import { WalStorage } from '../../src/replication/wal/index.ts';
import type { HardState, LogIndex, NodeId, Term } from '../../consensus/index.ts';
import { crashEntry, CRASH_WAL_OPTIONS } from './crash_kit.ts';
import { prng } from './wal_kit.ts';

const dir = process.argv[2]!;
const rnd = prng(Number(process.argv[3] ?? 1));
const wal = WalStorage.open(dir, CRASH_WAL_OPTIONS);
process.stdout.write(`S ${wal.lastIndex()}\n`);
for (;;) {
  const from = wal.lastIndex() + 1;
  const entries = Array.from({ length: rnd.int(1, 64) }, (_, k) => crashEntry(from + k));
  const last = from + entries.length - 1;
  const hardState: HardState = { term: 1 as Term, vote: 'n1' as NodeId, commit: last as LogIndex };
  wal.persist({ entries, hardState });
  if (rnd.next() < 0.05 && last > 500) {
    const index = (last - rnd.int(0, 400)) as LogIndex;
    wal.compact({ index, term: 1 as Term, config: { voters: ['n1' as NodeId], learners: [] } });
  }
  process.stdout.write(`P ${last}\n`); // stdout to a pipe is synchronous on Linux
}
