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

/** strtold of a decimal or inf string; null when not a number Redis accepts. */
export function parseLongDouble(s: string): LongDouble | 'inf' | '-inf' | null {
  const inf = /^([+-]?)(inf|infinity)$/i.exec(s);
  if (inf) return inf[1] === '-' ? '-inf' : 'inf';
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return null;
  const neg = m[1] === '-';
  const digits = (m[2] ?? '') + (m[3] ?? '');
  const exp10 = Number(m[4] ?? '0') - (m[3] ?? '').length;
  if (!Number.isFinite(exp10) || Math.abs(exp10) > 100_000) return null;
  const n = BigInt(digits === '' ? '0' : digits);
  return exp10 >= 0 ? roundExact(neg, n * 10n ** BigInt(exp10), 1n, 0) : roundExact(neg, n, 10n ** BigInt(-exp10), 0);
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
