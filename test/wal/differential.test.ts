// WalStorage against consensus's MemoryStorage on seeded random sequences of appends,
// conflicting-suffix truncations, compactions, snapshot installs and hard states,
// with reopens in between: every LogStorage answer must be identical after every step.
// Tiny segments and a tiny cache force rollovers, segment deletion and disk reads.

import test from 'ava';
import { MemoryStorage, type LogIndex, type NodeId, type SnapshotMeta, type Term } from '../../consensus/index.ts';
import { WalStorage, type WalOptions } from '../../src/replication/wal/index.ts';
import { diffStorage, makeEntries, prng, tempDir } from './wal_kit.ts';

const OPTIONS: WalOptions = { fsync: 'none', segmentBytes: 4096, preallocateBytes: 1024, cacheEntriesMax: 8, cacheBytesMax: 2048, readSpanBytesMax: 700 };
const STEPS = 400;

interface Coverage {
  overwrites: number;
  reopens: number;
  segmentsDropped: number;
  maxSegments: number;
}

function runSeed(seed: number, cov: Coverage): string[] {
  const rnd = prng(seed);
  const tmp = tempDir(`diff${seed}`);
  const mem = new MemoryStorage();
  let wal = WalStorage.open(tmp.dir, OPTIONS);
  let termNow = 1;
  const log: string[] = [];
  try {
    for (let step = 0; step < STEPS; step++) {
      const first = mem.firstIndex();
      const last = mem.lastIndex();
      const roll = rnd.next();
      let snapshot: SnapshotMeta | null = null;
      let entries = makeEntries(last + 1, rnd.int(0, 12), termNow, rnd.int(0, 300));
      if (roll < 0.15 && last >= first) {
        // A new leader overwrites a suffix.
        termNow++;
        const at = rnd.int(first, last);
        entries = makeEntries(at, rnd.int(1, 10), termNow, rnd.int(0, 200));
        cov.overwrites++;
        log.push(`${step}: overwrite from ${at}`);
      } else if (roll < 0.25 && last >= first) {
        const at = rnd.int(first, last) as LogIndex;
        const meta: SnapshotMeta = { index: at, term: mem.term(at)!, config: { voters: [`n${step}` as NodeId], learners: [] } };
        log.push(`${step}: compact ${at}`);
        mem.compact(meta);
        const oldest = wal.segmentSeqs()[0]!;
        wal.compact(meta);
        if (wal.segmentSeqs()[0]! > oldest) cov.segmentsDropped++;
        entries = [];
      } else if (roll < 0.33) {
        // Install a snapshot from a leader: matching an entry we hold, conflicting, or beyond our log.
        const kind = rnd.pick(['match', 'conflict', 'beyond'] as const);
        const at = kind === 'beyond' || last < first ? last + rnd.int(1, 20) : rnd.int(first, last);
        const t = kind === 'match' && at <= last ? mem.term(at as LogIndex)! : ++termNow;
        snapshot = { index: at as LogIndex, term: t as Term, config: { voters: ['a' as NodeId], learners: ['b' as NodeId] } };
        const lastAfter = kind === 'match' && at <= last ? last : at; // a matching snapshot keeps the suffix
        entries = rnd.next() < 0.5 ? [] : makeEntries(lastAfter + 1, rnd.int(1, 4), termNow, 50);
        log.push(`${step}: install ${kind} snapshot ${at}/${t} + ${entries.length}`);
      }
      const newHs = rnd.next() < 0.5 ? { term: termNow as Term, vote: rnd.next() < 0.5 ? null : (`v${step % 3}` as NodeId), commit: rnd.int(0, 50) as LogIndex } : null;
      if (snapshot !== null) mem.applySnapshot(snapshot);
      mem.append(entries);
      if (newHs !== null) mem.setHardState(newHs);
      const oldest = wal.segmentSeqs()[0]!;
      wal.persist({ snapshot, entries, hardState: newHs });
      if (wal.segmentSeqs()[0]! > oldest) cov.segmentsDropped++;
      cov.maxSegments = Math.max(cov.maxSegments, wal.segmentSeqs().length);
      if (rnd.next() < 0.1) {
        wal.close();
        wal = WalStorage.open(tmp.dir, OPTIONS);
        cov.reopens++;
        log.push(`${step}: reopen (segments ${wal.segmentSeqs().join(',')})`);
      }
      const d = diffStorage(wal, mem, rnd);
      if (d.length > 0) return [`seed ${seed} step ${step}`, ...log.slice(-8), ...d.slice(0, 5)];
    }
    return [];
  } finally {
    wal.close();
    tmp.done();
  }
}

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  test(`seed ${seed}: WalStorage answers exactly as MemoryStorage`, (t) => {
    const cov: Coverage = { overwrites: 0, reopens: 0, segmentsDropped: 0, maxSegments: 0 };
    t.deepEqual(runSeed(seed, cov), []);
    t.log(JSON.stringify(cov));
    // The run must have exercised what it claims to test.
    t.true(cov.overwrites > 10 && cov.reopens > 10 && cov.segmentsDropped > 5 && cov.maxSegments > 2, JSON.stringify(cov));
  });
}
