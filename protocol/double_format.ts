// Owns the text of a double in replies, as Redis 7.2+ d2string(): "nan", "inf",
// "-inf", "0"/"-0", integers up to 2^62 exactly, otherwise shortest round-trip digits
// laid out by fpconv_dtoa's emit_digits. Must not depend on locale or Number#toString
// layout. Caveat: Redis uses Grisu2, which on rare inputs emits one more digit than
// the shortest representation JavaScript gives; the value still round-trips.

/** LLONG_MAX / 2 as a double (double2ll's safe range). */
const INTEGER_LIMIT = 2 ** 62;

export function formatDouble(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  if (Number.isInteger(value) && value >= -INTEGER_LIMIT && value <= INTEGER_LIMIT) {
    // BigInt, not String(): String(2 ** 60) rounds to "1152921504606847000".
    return BigInt(value).toString();
  }
  const sign = value < 0 ? '-' : '';
  return sign + emitDigits(Math.abs(value));
}

/** fpconv's layout of the shortest digits `d1d2...dn` times 10^K. */
function emitDigits(magnitude: number): string {
  const exponential = magnitude.toExponential(); // "d.ddde+X": shortest round-trip digits
  const ePos = exponential.indexOf('e');
  const digits = exponential.slice(0, ePos).replace('.', '');
  const decimalExponent = Number(exponential.slice(ePos + 1));
  const ndigits = digits.length;
  const K = decimalExponent - ndigits + 1;
  const exp = Math.abs(decimalExponent);

  if (K >= 0 && exp < ndigits + 7) {
    return digits + '0'.repeat(K);
  }
  if (K < 0 && (K > -7 || exp < 4)) {
    const offset = ndigits + K;
    if (offset <= 0) return '0.' + '0'.repeat(-offset) + digits;
    return digits.slice(0, offset) + '.' + digits.slice(offset);
  }
  const mantissa = ndigits > 1 ? `${digits[0]!}.${digits.slice(1)}` : digits;
  return `${mantissa}e${decimalExponent < 0 ? '-' : '+'}${exp}`;
}
