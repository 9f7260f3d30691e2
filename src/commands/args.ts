// Argument parsing with Redis's exact rules: integers as string2ll (no '+', no
// leading zeros, no spaces, int64 range), floats as strtold without spaces or
// NaN, case-insensitive option tokens. Pure functions; errors are RedisError values.

import { errors, type RedisError } from './errors.ts';

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/** Redis's string2ll as a bigint, or null when the bytes are not a canonical int64. */
export function parseInt64(b: Buffer | string): bigint | null {
  const s = typeof b === 'string' ? b : b.toString('latin1');
  if (s.length === 0 || s.length > 20) return null;
  if (s === '0') return 0n;
  if (!/^-?[1-9][0-9]*$/.test(s)) return null;
  const v = BigInt(s);
  return v > INT64_MAX || v < INT64_MIN ? null : v;
}

export const fitsInt64 = (v: bigint): boolean => v <= INT64_MAX && v >= INT64_MIN;

/** An int64 argument as a JS number when it is safe, else the "not an integer" error. */
export function intArg(b: Buffer): number | RedisError {
  const v = parseInt64(b);
  if (v === null) return errors.notInteger();
  return Number(v);
}

export function bigIntArg(b: Buffer): bigint | RedisError {
  return parseInt64(b) ?? errors.notInteger();
}

/** strtold-like: decimal or hex floats, inf/infinity; no surrounding spaces; NaN rejected. */
export function parseFloatArg(b: Buffer | string): number | null {
  const s = typeof b === 'string' ? b : b.toString('latin1');
  if (s.length === 0 || /^\s|\s$/.test(s)) return null;
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return null;
  const v = Number(s);
  return Number.isNaN(v) ? null : v;
}

/** Case-insensitive comparison of an argument with an ASCII token in lower case. */
export function is(arg: Buffer | undefined, token: string): boolean {
  if (arg === undefined || arg.length !== token.length) return false;
  for (let i = 0; i < token.length; i++) {
    let c = arg[i]!;
    if (c >= 65 && c <= 90) c += 32;
    if (c !== token.charCodeAt(i)) return false;
  }
  return true;
}

export const lower = (b: Buffer): string => b.toString('latin1').toLowerCase();
