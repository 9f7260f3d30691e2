// Owns glob matching with Redis's exact semantics: a port of `stringmatchlen_impl`
// (Redis 7.2 src/util.c) over bytes, used by KEYS, SCAN MATCH and (later) PSUBSCRIBE.
// Invariants: byte-for-byte the same answers as Redis on x86-64, including its quirks
// (unterminated '[', a trailing '\', signed-char ranges); at most 1000 nested '*'.

/** Redis's "protection against abusive patterns": deeper '*' nesting never matches. */
export const GLOB_NESTING_MAX = 1000;

/**
 * Does `subject` match glob `pattern`? `*` any run (not the empty subject: Redis answers
 * no for `*` against "", which is why KEYS/SCAN special-case the pattern "*"), `?` one
 * byte, `[abc]` `[a-z]` `[^...]` classes (reversed ranges allowed), `\x` a literal x.
 * `nocase` folds ASCII A-Z only (the C locale's tolower).
 */
export function globMatch(pattern: Uint8Array, subject: Uint8Array, nocase = false): boolean {
  const state = { skipLongerMatches: false };
  return matchFrom(pattern, 0, subject, 0, nocase, state, 0);
}

/** True for the pattern "*", which Redis treats as "every key" without matching. */
export function isMatchAll(pattern: Uint8Array): boolean {
  return pattern.length === 1 && pattern[0] === STAR;
}

/**
 * The bytes every subject matching `pattern` starts with: its literal bytes up to the
 * first `*`, `?` or `[` (`\x` is a literal x; a trailing `\` is itself). KEYS reads only
 * the keys in [prefix, globPrefixEnd(prefix)) of the key index.
 */
export function globLiteralPrefix(pattern: Uint8Array): Buffer {
  const out: number[] = [];
  for (let p = 0; p < pattern.length; p++) {
    const c = pattern[p]!;
    if (c === STAR || c === QUESTION || c === OPEN) break;
    if (c === BACKSLASH && pattern.length - p >= 2) p++;
    out.push(pattern[p]!);
  }
  return Buffer.from(out);
}

/** The least byte string greater than every string starting with `prefix`; null if none (all 0xff, or empty). */
export function globPrefixEnd(prefix: Uint8Array): Buffer | null {
  let n = prefix.length;
  while (n > 0 && prefix[n - 1] === 0xff) n--;
  if (n === 0) return null;
  const end = Buffer.from(prefix.subarray(0, n));
  end[n - 1] = prefix[n - 1]! + 1;
  return end;
}

const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;
const BACKSLASH = 0x5c;

/** C `tolower` in the C locale (only A-Z change); applies to signed values too. */
function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 32 : c;
}

/** x86-64 `char` is signed: bytes 0x80-0xff compare as -128..-1 in ranges. */
function signed(byte: number): number {
  return (byte << 24) >> 24;
}

/**
 * The C code walks `pattern`/`string` pointers with remaining lengths; here `p` and `s`
 * are offsets and the lengths are `pattern.length - p`, `subject.length - s`. Reading at
 * or past the end yields 0, as the C code reads the sds string's NUL terminator.
 */
function matchFrom(
  pattern: Uint8Array,
  p: number,
  subject: Uint8Array,
  s: number,
  nocase: boolean,
  state: { skipLongerMatches: boolean },
  nesting: number,
): boolean {
  if (nesting > GLOB_NESTING_MAX) return false;
  const patternEnd = pattern.length;
  const subjectEnd = subject.length;
  const at = (i: number): number => (i < patternEnd ? pattern[i]! : 0);

  while (p < patternEnd && s < subjectEnd) {
    const c = subject[s]!;
    switch (pattern[p]) {
      case STAR: {
        while (p < patternEnd && at(p + 1) === STAR) p++;
        if (patternEnd - p === 1) return true;
        while (s < subjectEnd) {
          if (matchFrom(pattern, p + 1, subject, s, nocase, state, nesting + 1)) return true;
          if (state.skipLongerMatches) return false;
          s++;
        }
        // No match for the rest of the pattern from anywhere in the rest of the subject:
        // earlier '*'s need not try longer runs either (the rest would start later still).
        state.skipLongerMatches = true;
        return false;
      }
      case QUESTION:
        s++;
        break;
      case OPEN: {
        p++;
        const not = at(p) === CARET;
        if (not) p++;
        let match = false;
        for (;;) {
          const left = patternEnd - p;
          if (at(p) === BACKSLASH && left >= 2) {
            p++;
            if (at(p) === c) match = true; // escaped: compared without case folding, as Redis does
          } else if (at(p) === CLOSE) {
            break;
          } else if (left === 0) {
            p--; // unterminated class: stop on its last byte
            break;
          } else if (left >= 3 && at(p + 1) === DASH) {
            let start = signed(at(p));
            let end = signed(at(p + 2));
            let ch = signed(c);
            if (start > end) [start, end] = [end, start];
            if (nocase) {
              start = lower(start);
              end = lower(end);
              ch = lower(ch);
            }
            p += 2;
            if (ch >= start && ch <= end) match = true;
          } else if (nocase ? lower(at(p)) === lower(c) : at(p) === c) {
            match = true;
          }
          p++;
        }
        if (not) match = !match;
        if (!match) return false;
        s++;
        break;
      }
      case BACKSLASH:
        if (patternEnd - p >= 2) p++;
        if (nocase ? lower(at(p)) !== lower(c) : at(p) !== c) return false;
        s++;
        break;
      default:
        if (nocase ? lower(at(p)) !== lower(c) : at(p) !== c) return false;
        s++;
        break;
    }
    p++;
    if (s === subjectEnd) {
      while (at(p) === STAR) p++;
      break;
    }
  }
  return p >= patternEnd && s === subjectEnd;
}
