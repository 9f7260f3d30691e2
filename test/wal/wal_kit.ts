// Helpers shared by the WAL tests: temp directories, a seeded PRNG, entry makers and
// a comparison of every observable LogStorage answer. Not a test file itself.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Entry, LogIndex, LogStorage, Term } from '../../consensus/index.ts';

/** A fresh directory under the OS temp dir; `done()` removes it. */
export function tempDir(label: string): { readonly dir: string; done(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `raftis-wal-${label}-`));
  return { dir, done: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** mulberry32: small, seeded, good enough to drive test choices reproducibly. */
export function prng(seed: number): { next(): number; int(lo: number, hi: number): number; pick<T>(xs: readonly T[]): T } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  return { next, int, pick: (xs) => xs[int(0, xs.length - 1)]! };
}

/** A deterministic entry: its data encodes index and term so a misplaced read shows. */
export function makeEntry(index: number, term: number, dataBytes: number, type: Entry['type'] = 'normal'): Entry {
  const data = new Uint8Array(dataBytes);
  for (let i = 0; i < dataBytes; i++) data[i] = (index * 31 + term * 7 + i) & 0xff;
  return { index: index as LogIndex, term: term as Term, type, data };
}

export function makeEntries(from: number, count: number, term: number, dataBytes: number): Entry[] {
  return Array.from({ length: count }, (_, k) => makeEntry(from + k, term, dataBytes));
}

/** Plain, comparable form of entries (Buffer and Uint8Array views compare equal). */
export const plain = (es: readonly Entry[]): unknown[] => es.map((e) => ({ index: e.index, term: e.term, type: e.type, data: Array.from(e.data) }));

/** Every observable difference between two LogStorages, as readable lines (empty when equal). */
export function diffStorage(a: LogStorage, b: LogStorage, rnd: ReturnType<typeof prng>): string[] {
  const out: string[] = [];
  const eq = (what: string, x: unknown, y: unknown): void => {
    const sx = JSON.stringify(x);
    const sy = JSON.stringify(y);
    if (sx !== sy) out.push(`${what}: ${sx} != ${sy}`);
  };
  eq('initialState', a.initialState(), b.initialState());
  eq('snapshot', a.snapshot(), b.snapshot());
  eq('firstIndex', a.firstIndex(), b.firstIndex());
  eq('lastIndex', a.lastIndex(), b.lastIndex());
  const first = b.firstIndex();
  const last = b.lastIndex();
  for (let i = Math.max(0, first - 3); i <= last + 2; i++) eq(`term(${i})`, a.term(i as LogIndex), b.term(i as LogIndex));
  if (last >= first) {
    eq('all entries', plain(a.entries(first, (last + 1) as LogIndex, Infinity)), plain(b.entries(first, (last + 1) as LogIndex, Infinity)));
    for (let k = 0; k < 5; k++) {
      const lo = rnd.int(first, last);
      const hi = rnd.int(lo, last + 1);
      const maxBytes = rnd.pick([0, 1, 100, 500, 2000, 1 << 20]);
      eq(`entries(${lo}, ${hi}, ${maxBytes})`, plain(a.entries(lo as LogIndex, hi as LogIndex, maxBytes)), plain(b.entries(lo as LogIndex, hi as LogIndex, maxBytes)));
    }
  }
  return out;
}

export interface RawRecord {
  readonly offset: number;
  readonly bytes: number;
  /** Payload kind byte: 1 normal, 2 config, 3 hard state, 4 snapshot, 5 open, 6 seal. */
  readonly kind: number;
}

/** The records of a segment file up to its first zero header, parsed independently of the WAL code. */
export function rawRecords(file: string): RawRecord[] {
  const b = fs.readFileSync(file);
  const out: RawRecord[] = [];
  for (let off = 0; off + 8 <= b.length; ) {
    const len = b.readUInt32LE(off + 4);
    if (len === 0) break;
    const bytes = 8 + Math.ceil(len / 8) * 8;
    out.push({ offset: off, bytes, kind: b[off + 8]! });
    off += bytes;
  }
  return out;
}

/** Segment file paths of a WAL directory, oldest first. */
export const segmentPaths = (dir: string): string[] =>
  fs
    .readdirSync(path.join(dir, 'log'))
    .filter((n) => n.endsWith('.seg'))
    .sort()
    .map((n) => path.join(dir, 'log', n));

/** XORs one byte of a file in place. */
export function flipByte(file: string, offset: number): void {
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, offset);
  b[0] = b[0]! ^ 0x5a;
  fs.writeSync(fd, b, 0, 1, offset);
  fs.closeSync(fd);
}
