// The stream family's command list for the table (XADD ... XINFO, XREAD, XREADGROUP),
// built from the dependencies its blocking reads need (the gateway and per-session
// write tracking, as transactions.ts receives them).

import { streamClaimCommands } from './stream_claim.ts';
import { xack, xgroup, xpending } from './stream_groups.ts';
import { xinfo } from './stream_info.ts';
import { streamReadCommands, type StreamDeps } from './stream_read.ts';
import { streamEntryCommands } from './streams.ts';
import type { CommandSpec } from './spec.ts';

export type { StreamDeps } from './stream_read.ts';

export function streamCommands(deps: StreamDeps): readonly CommandSpec[] {
  return [...streamEntryCommands, xgroup, xack, xpending, ...streamClaimCommands, xinfo, ...streamReadCommands(deps)];
}
