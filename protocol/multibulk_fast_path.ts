// Owns the fast path of request decoding: canonical `*N` / `$len` frames lying
// wholly inside one chunk, parsed with plain loops and no intermediate objects.
// Must not report errors or wait: anything unusual (odd digits, limits, a frame
// crossing the chunk end) stops the fast path and is left to the general decoder,
// which re-reads it from the same position. So both paths always agree.

const CR = 0x0d;
const DOLLAR = 0x24;
/** Digits beyond this many are left to the general parser (exactness, limits). */
const FAST_DIGITS_MAX = 15;

/**
 * Reads a canonical decimal (no sign, no leading zero, 1..15 digits) at `start`,
 * terminated by CR plus one more byte inside `chunk`. Returns the value and sets
 * `afterCrlf[0]` to the position after those two bytes; -1 when not canonical/complete.
 */
export function readCanonicalLength(chunk: Uint8Array, start: number, afterCrlf: number[]): number {
  const end = Math.min(chunk.length, start + FAST_DIGITS_MAX + 1);
  let value = 0;
  let i = start;
  for (; i < end; i++) {
    const byte = chunk[i]!;
    if (byte === CR) break;
    const digit = byte - 0x30;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  if (i === start || i >= end || i + 1 >= chunk.length) return -1;
  if (chunk[start] === 0x30 && i - start > 1) return -1;
  afterCrlf[0] = i + 2;
  return value;
}

/**
 * Appends to `args` up to `count` bulk arguments found complete in `chunk` from
 * `start`, each at most `bulkBytesMax` long, as views of the chunk. Returns the
 * position after the last one taken (== start when none). `cursor` is scratch.
 */
export function readCanonicalArgs(
  chunk: Buffer,
  start: number,
  count: number,
  bulkBytesMax: number,
  args: Buffer[],
  cursor: number[],
): number {
  let pos = start;
  for (let taken = 0; taken < count; taken++) {
    if (pos >= chunk.length || chunk[pos] !== DOLLAR) return pos;
    const length = readCanonicalLength(chunk, pos + 1, cursor);
    if (length < 0 || length > bulkBytesMax) return pos;
    const body = cursor[0]!;
    if (body + length + 2 > chunk.length) return pos;
    args.push(chunk.subarray(body, body + length));
    pos = body + length + 2;
  }
  return pos;
}
