// Group-commit throughput and latency of the write-ahead log: persist() of batches of
// 1, 16 and 256 entries of 100 bytes with fsync 'always', against the floor of the same
// bytes written to a preallocated file with one fdatasync per batch (no WAL logic).
// Usage: node bench/wal.ts [seconds per batch size=3] [dir=os.tmpdir()]

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Entry, LogIndex, Term } from '../consensus/index.ts';
import { WalStorage } from '../src/replication/wal/index.ts';

const secondsPerSize = Number(process.argv[2] ?? 3);
const baseDir = process.argv[3] ?? os.tmpdir();
const BATCH_SIZES = [1, 16, 256] as const;
const DATA_BYTES = 100;
const PERSISTS_MAX = 1_000_000;

interface Result {
  readonly entriesPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly persists: number;
}

function summarize(latMs: number[], entries: number, elapsedMs: number): Result {
  latMs.sort((a, b) => a - b);
  const at = (q: number): number => latMs[Math.min(latMs.length - 1, Math.floor(latMs.length * q))]!;
  return { entriesPerSec: (entries / elapsedMs) * 1000, p50Ms: at(0.5), p99Ms: at(0.99), persists: latMs.length };
}

function benchWal(dir: string, batch: number): Result {
  const wal = WalStorage.open(dir, { fsync: 'always' });
  const data = new Uint8Array(DATA_BYTES).fill(0x61);
  const lat: number[] = [];
  let next = 1;
  const start = performance.now();
  while (performance.now() - start < secondsPerSize * 1000 && lat.length < PERSISTS_MAX) {
    const entries: Entry[] = [];
    for (let k = 0; k < batch; k++) entries.push({ index: next++ as LogIndex, term: 1 as Term, type: 'normal', data });
    const t0 = performance.now();
    wal.persist({ entries });
    lat.push(performance.now() - t0);
  }
  const r = summarize(lat, next - 1, performance.now() - start);
  wal.close();
  return r;
}

/** The same record bytes (128 per entry) appended to a file zero-filled ahead, one fdatasync per batch. */
function benchRawFile(dir: string, batch: number): Result {
  const file = path.join(dir, 'raw');
  const fd = fs.openSync(file, 'w+');
  const chunk = Buffer.alloc(4 << 20);
  const buf = Buffer.alloc(batch * 128, 0x61);
  let end = 0;
  let alloc = 0;
  const lat: number[] = [];
  const start = performance.now();
  while (performance.now() - start < secondsPerSize * 1000 && lat.length < PERSISTS_MAX) {
    const t0 = performance.now();
    fs.writeSync(fd, buf, 0, buf.length, end);
    end += buf.length;
    if (end >= alloc) {
      fs.writeSync(fd, chunk, 0, chunk.length, end);
      alloc = end + chunk.length;
    }
    fs.fdatasyncSync(fd);
    lat.push(performance.now() - t0);
  }
  const r = summarize(lat, lat.length * batch, performance.now() - start);
  fs.closeSync(fd);
  return r;
}

const fmt = (r: Result): string =>
  `${Math.round(r.entriesPerSec).toLocaleString('en-US').padStart(11)} entries/s  p50 ${r.p50Ms.toFixed(3)} ms  p99 ${r.p99Ms.toFixed(3)} ms  (${r.persists} batches)`;

const root = fs.mkdtempSync(path.join(baseDir, 'raftis-bench-wal-'));
try {
  console.log(`WAL persist, ${DATA_BYTES}-byte entries, fsync always, ${secondsPerSize}s per batch size, in ${root}`);
  for (const batch of BATCH_SIZES) {
    const walDir = fs.mkdtempSync(path.join(root, `wal${batch}-`));
    const rawDir = fs.mkdtempSync(path.join(root, `raw${batch}-`));
    const raw = benchRawFile(rawDir, batch);
    const wal = benchWal(walDir, batch);
    console.log(`batch ${String(batch).padStart(3)}  wal ${fmt(wal)}`);
    console.log(`           raw ${fmt(raw)}  wal/raw throughput ${(wal.entriesPerSec / raw.entriesPerSec).toFixed(2)}`);
  }
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
