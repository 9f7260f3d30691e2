// Owns Redis's strict decimal parser (util.c string2ll) over bytes.
// Must not accept what Redis rejects: no sign "+", no leading zeros, no "-0",
// no spaces, at most 20 characters. Returns undefined for anything invalid.

/** LONG_STR_SIZE in Redis: a string this long or longer is never a number. */
const LONG_STR_SIZE = 21;
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/**
 * Parses bytes [start, end) of `bytes` like string2ll. Results beyond
 * Number.MAX_SAFE_INTEGER are returned as a lossy number; callers compare them
 * against limits far below 2^53, so the loss never changes a decision.
 */
export function parseLongLong(bytes: Uint8Array, start: number, end: number): number | undefined {
  const len = end - start;
  if (len <= 0 || len >= LONG_STR_SIZE) return undefined;
  let i = start;
  let negative = false;
  if (bytes[i] === 0x2d) {
    negative = true;
    i++;
    if (i === end) return undefined;
  }
  const first = bytes[i]!;
  if (first === 0x30 && len === 1) return 0;
  if (first < 0x31 || first > 0x39) return undefined;
  // Up to 15 digits fit in a double exactly; longer needs the 64-bit overflow check.
  if (end - i <= 15) {
    let value = 0;
    for (; i < end; i++) {
      const digit = bytes[i]! - 0x30;
      if (digit < 0 || digit > 9) return undefined;
      value = value * 10 + digit;
    }
    return negative ? -value : value;
  }
  let value = 0n;
  for (; i < end; i++) {
    const digit = bytes[i]! - 0x30;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10n + BigInt(digit);
  }
  if (negative) value = -value;
  if (value > INT64_MAX || value < INT64_MIN) return undefined;
  return Number(value);
}
