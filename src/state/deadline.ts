// Owns what a key's expiry deadline is: its one representation in memory (a number
// while a safe integer, a bigint beyond, up to int64's max as Redis takes), how SQLite
// must hand it out so nothing rounds it, and the check every stored deadline passes.

/**
 * An absolute deadline in ms. Redis takes any positive int64; a deadline is a number
 * while it is a safe integer (every real one: 2^53 ms is the year 287396) and a bigint
 * beyond, so PEXPIRETIME and PTTL still answer it exactly. Compared with `<` against
 * numbers directly; arithmetic must mind the two kinds.
 */
export type Deadline = number | bigint;

const SAFE_MS_MAX = BigInt(Number.MAX_SAFE_INTEGER);

const INT64_MAX = 2n ** 63n - 1n;

/** The deadline `ms` (a positive int64) in its one representation. */
export const deadline = (ms: bigint): Deadline => (ms <= SAFE_MS_MAX ? Number(ms) : ms);

/**
 * `keys.expires_at` as SQLite must hand it out: better-sqlite3 would round an integer
 * beyond 2^53 to a number, so those come as text (see `deadlineFromSql`).
 */
export const EXPIRES_AT_EXACT = `CASE WHEN expires_at > ${Number.MAX_SAFE_INTEGER} THEN CAST(expires_at AS TEXT) ELSE expires_at END`;

/** A deadline read through EXPIRES_AT_EXACT. */
export const deadlineFromSql = (v: number | string | null): Deadline | null => (typeof v === 'string' ? BigInt(v) : v);

export function assertDeadline(expiresAtMs: Deadline | null): void {
  const ok =
    expiresAtMs === null ||
    (typeof expiresAtMs === 'number' ? Number.isSafeInteger(expiresAtMs) : expiresAtMs > SAFE_MS_MAX && expiresAtMs <= INT64_MAX);
  if (!ok) throw new Error(`expiry deadline ${expiresAtMs} is not a Deadline (the command layer must bound it)`);
}
