// Shared fixtures for src/state tests: an in-memory state with a keyspace, and an
// "apply" helper that runs each write as its own log entry (next index, one transaction).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logIndex, term, type LogIndex } from '../../consensus/index.ts';
import { Keyspace, StateDatabase } from '../../src/state/index.ts';

export const b = (text: string): Buffer => Buffer.from(text, 'latin1');
export const s = (buffer: Buffer | null | undefined): string | null => buffer?.toString('latin1') ?? null;
export const strs = (buffers: readonly Buffer[]): string[] => buffers.map((buffer) => buffer.toString('latin1'));

export class Fixture {
  readonly state: StateDatabase;
  readonly ks: Keyspace;
  /** Index of the last applied entry. */
  index = 0;

  constructor(state: StateDatabase = StateDatabase.open(':memory:'), rowCacheBytes?: number) {
    this.state = state;
    this.ks = new Keyspace(state, {}, rowCacheBytes);
    this.index = state.applied().index;
  }

  /** Apply one entry: `fn` runs at the next index, in a transaction that also records it as applied. */
  apply<R>(fn: (index: LogIndex) => R): R {
    const index = logIndex(this.index + 1);
    const result = this.state.transaction(() => {
      const value = fn(index);
      this.state.setApplied(index, term(1));
      return value;
    });
    this.index = index;
    return result;
  }

  close(): void {
    this.state.close();
  }
}

/** A fresh temporary directory and its removal. */
export function tempDir(): { readonly dir: string; readonly remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'raftis-state-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
