// INCRBYFLOAT's arithmetic as Redis does it on x86-64: operands parsed by strtold
// into 80-bit long doubles (64-bit significand), added with one rounding, printed
// with "%.17Lf" and trailing zeros trimmed. Emulated exactly with BigInt so every
// replica and every platform produce Redis's bytes. Pure; no floating point used.

interface LongDouble {
  readonly neg: boolean;
  /** Significand, 0 or in [2^63, 2^64) once normalised. */
  readonly m: bigint;
  /** value = m * 2^e */
  readonly e: number;
}

const SIG_BITS = 64;
const EXP_LIMIT = 16384; // |x| >= 2^16384 overflows an 80-bit long double

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/** Rounds the exact value (x / den) * 2^e, x >= 0, to a 64-bit significand, ties to even. */
function roundExact(neg: boolean, x: bigint, den: bigint, e: number): LongDouble {
  if (x === 0n) return { neg, m: 0n, e: 0 };
  // Choose a shift so that the quotient has 64 bits before rounding.
  let shift = bitLength(x) - bitLength(den) - SIG_BITS;
  let q: bigint;
  let r: bigint;
  let d: bigint;
  for (;;) {
    const num = shift >= 0 ? x : x << BigInt(-shift);
    d = shift >= 0 ? den << BigInt(shift) : den;
    q = num / d;
    r = num % d;
    if (bitLength(q) > SIG_BITS) shift++;
    else if (bitLength(q) < SIG_BITS) shift--;
    else break;
  }
  const twice = r * 2n;
  if (twice > d || (twice === d && (q & 1n) === 1n)) q += 1n;
  if (bitLength(q) > SIG_BITS) {
    q >>= 1n;
    shift++;
  }
  return { neg, m: q, e: e + shift };
}

/** Redis's MAX_LONG_DOUBLE_CHARS: string2ld refuses inputs this long or longer. */
const LONG_DOUBLE_CHARS_MAX = 5 * 1024;
/** Below half the smallest denormal (2^-16445), strtold rounds to zero with ERANGE. */
const UNDERFLOW_BITS = -16446;

/**
 * Redis's string2ld: strtold of a decimal, hex ("0x1.8p3") or inf string, rejecting
 * NaN, surrounding junk, overflow to infinity and underflow to zero (ERANGE); null
 * when Redis would answer "value is not a valid float".
 */
export function parseLongDouble(s: string): LongDouble | 'inf' | '-inf' | null {
  if (s.length === 0 || s.length >= LONG_DOUBLE_CHARS_MAX) return null;
  const inf = /^([+-]?)(inf|infinity)$/i.exec(s);
  if (inf) return inf[1] === '-' ? '-inf' : 'inf';
  const x = parseHex(s) ?? parseDecimal(s);
  if (x === null || x === 'invalid') return null;
  if (x.m !== 0n && (bitLength(x.m) + x.e > EXP_LIMIT || bitLength(x.m) + x.e <= UNDERFLOW_BITS)) return null;
  return x;
}

/** Whether INCRBYFLOAT accepts `b` (as the current value or the increment). */
export const isLongDouble = (b: Buffer): boolean => parseLongDouble(b.toString('latin1')) !== null;

function parseDecimal(s: string): LongDouble | 'invalid' {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return 'invalid';
  const neg = m[1] === '-';
  const digits = (m[2] ?? '') + (m[3] ?? '');
  const n = BigInt(digits === '' ? '0' : digits);
  if (n === 0n) return { neg, m: 0n, e: 0 };
  const exp10 = Number(m[4] ?? '0') - (m[3] ?? '').length;
  // Far beyond the long double range either way: overflow or underflow, both refused.
  if (!Number.isFinite(exp10) || Math.abs(exp10) > 100_000) return 'invalid';
  return exp10 >= 0 ? roundExact(neg, n * 10n ** BigInt(exp10), 1n, 0) : roundExact(neg, n, 10n ** BigInt(-exp10), 0);
}

/** C99 hex floats as strtold reads them: 0x, hex digits with an optional point, optional p exponent. */
function parseHex(s: string): LongDouble | 'invalid' | null {
  if (!/^[+-]?0[xX]/.test(s)) return null;
  const m = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return 'invalid';
  const neg = m[1] === '-';
  const n = BigInt(`0x${(m[2] ?? '') + (m[3] ?? '') || '0'}`);
  if (n === 0n) return { neg, m: 0n, e: 0 };
  const exp2 = Number(m[4] ?? '0') - 4 * (m[3] ?? '').length;
  if (!Number.isFinite(exp2) || Math.abs(exp2) > 100_000) return 'invalid';
  return roundExact(neg, n, 1n, exp2);
}

function add(a: LongDouble, b: LongDouble): LongDouble {
  const e = Math.min(a.e, b.e);
  const av = (a.neg ? -a.m : a.m) << BigInt(a.e - e);
  const bv = (b.neg ? -b.m : b.m) << BigInt(b.e - e);
  const s = av + bv;
  // An exact zero sum is +0 in round-to-nearest, except -0 + -0.
  if (s === 0n) return { neg: a.neg && b.neg, m: 0n, e: 0 };
  return roundExact(s < 0n, s < 0n ? -s : s, 1n, e);
}

/** "%.17Lf", ties to even, then Redis's human form: trailing zeros and a bare '.' trimmed. */
function formatHuman(x: LongDouble): string {
  const scale = 10n ** 17n;
  let q: bigint;
  if (x.e >= 0) q = (x.m << BigInt(x.e)) * scale;
  else {
    const num = x.m * scale;
    const den = 1n << BigInt(-x.e);
    q = num / den;
    const twice = (num % den) * 2n;
    if (twice > den || (twice === den && (q & 1n) === 1n)) q += 1n;
  }
  const int = (q / scale).toString();
  const frac = (q % scale).toString().padStart(17, '0').replace(/0+$/, '');
  const out = `${x.neg ? '-' : ''}${int}${frac === '' ? '' : `.${frac}`}`;
  return out === '-0' ? '0' : out; // Redis never answers "-0"
}

/** INCRBYFLOAT's new value as Redis stores and replies it, or null for NaN/Infinity. */
export function formatIncrFloat(current: string, increment: string): string | null {
  const a = parseLongDouble(current);
  const b = parseLongDouble(increment);
  if (a === null || b === null) throw new Error(`formatIncrFloat on unparsed input ${current} + ${increment}`);
  if (typeof a === 'string' || typeof b === 'string') return null;
  const sum = add(a, b);
  if (sum.m !== 0n && bitLength(sum.m) + sum.e > EXP_LIMIT) return null;
  return formatHuman(sum);
}
