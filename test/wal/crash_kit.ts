// Shared by crash.test.ts and its child crash_writer.ts: the options and the
// deterministic entry at each index, so the parent can verify what the child wrote.

import type { Entry } from '../../consensus/index.ts';
import type { WalOptions } from '../../src/replication/wal/index.ts';
import { makeEntry } from './wal_kit.ts';

/** Small segments so that kills also land during rollovers and segment deletions. */
export const CRASH_WAL_OPTIONS: WalOptions = { fsync: 'always', segmentBytes: 64 << 10, preallocateBytes: 16 << 10 };

export const crashEntry = (index: number): Entry => makeEntry(index, 1, (index * 7919) % 301);
