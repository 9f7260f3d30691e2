// The seed batch the default test command runs: a fixed range plus one seed derived
// from the commit being tested, so every commit also explores a new schedule.

import { execFileSync } from 'node:child_process';

export const FIXED_SEEDS = 2000;
export const CHAOS_TICKS = 600;

/** A seed from the current commit hash (or CI's), or null outside a git checkout. */
export function commitSeed(): { seed: number; commit: string } | null {
  let commit = process.env['GITHUB_SHA'] ?? '';
  if (!/^[0-9a-f]{8,}$/.test(commit)) {
    try {
      commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  }
  if (!/^[0-9a-f]{8,}$/.test(commit)) return null;
  // Above the fixed range, so it never repeats one of them.
  return { seed: FIXED_SEEDS + 1 + (parseInt(commit.slice(0, 8), 16) % 1_000_000_000), commit };
}
