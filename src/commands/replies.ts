// Small constructors for reply values shared by the command families.

import type { Reply } from '../../protocol/index.ts';

export const OK: Reply = { type: 'simple', value: 'OK' };
export const QUEUED: Reply = { type: 'simple', value: 'QUEUED' };
export const nil: Reply = { type: 'null' };
export const nilArray: Reply = { type: 'null-array' };
export const int = (value: number | bigint): Reply => ({ type: 'integer', value });
export const bulk = (value: Uint8Array | string): Reply => ({ type: 'bulk', value });
export const simple = (value: string): Reply => ({ type: 'simple', value });
export const array = (items: readonly Reply[]): Reply => ({ type: 'array', items });
export const bulks = (xs: readonly (Uint8Array | string)[]): Reply => ({ type: 'array', items: xs.map(bulk) });
