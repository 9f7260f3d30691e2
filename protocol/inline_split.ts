// Owns splitting one inline request line into arguments, as Redis's sdssplitargs.
// Must not see the line terminator: the caller strips "\n" and one "\r" before it.
// Invariant: same tokens as Redis for any line without NUL bytes; NUL is an ordinary
// byte here (Redis treats the line as a C string and stops at the first NUL).

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const VT = 0x0b;
const FF = 0x0c;
const CR = 0x0d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const BACKSLASH = 0x5c;

/** C isspace() in the "C" locale: the blanks skipped between tokens. */
function isSpace(byte: number): boolean {
  return byte === SPACE || (byte >= TAB && byte <= CR);
}

/** Ends an unquoted token (sdssplitargs' switch: not \v or \f). */
function endsBareToken(byte: number): boolean {
  return byte === SPACE || byte === LF || byte === CR || byte === TAB;
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  return -1;
}

function unescape(byte: number): number {
  switch (byte) {
    case 0x6e: return LF; // n
    case 0x72: return CR; // r
    case 0x74: return TAB; // t
    case 0x62: return 0x08; // b
    case 0x61: return 0x07; // a
    default: return byte;
  }
}

/** A closing quote must be followed by a blank or the end of the line. */
function closesCleanly(line: Uint8Array, after: number): boolean {
  return after >= line.length || isSpace(line[after]!);
}

/** Result of reading one token: its bytes and where scanning resumes, or unbalanced. */
type TokenRead = { readonly token: Buffer; readonly next: number } | undefined;

function readToken(line: Uint8Array, start: number, scratch: Buffer): TokenRead {
  let p = start;
  let size = 0;
  let quote = 0; // 0, DQUOTE or SQUOTE
  for (;;) {
    const byte = line[p];
    if (quote === DQUOTE) {
      if (byte === undefined) return undefined;
      if (byte === BACKSLASH && line[p + 1] === 0x78 && hexValue(line[p + 2]) >= 0 && hexValue(line[p + 3]) >= 0) {
        scratch[size++] = hexValue(line[p + 2]) * 16 + hexValue(line[p + 3]);
        p += 4;
      } else if (byte === BACKSLASH && p + 1 < line.length) {
        scratch[size++] = unescape(line[p + 1]!);
        p += 2;
      } else if (byte === DQUOTE) {
        if (!closesCleanly(line, p + 1)) return undefined;
        return { token: Buffer.from(scratch.subarray(0, size)), next: p + 1 };
      } else {
        scratch[size++] = byte;
        p++;
      }
    } else if (quote === SQUOTE) {
      if (byte === undefined) return undefined;
      if (byte === BACKSLASH && line[p + 1] === SQUOTE) {
        scratch[size++] = SQUOTE;
        p += 2;
      } else if (byte === SQUOTE) {
        if (!closesCleanly(line, p + 1)) return undefined;
        return { token: Buffer.from(scratch.subarray(0, size)), next: p + 1 };
      } else {
        scratch[size++] = byte;
        p++;
      }
    } else if (byte === undefined || endsBareToken(byte)) {
      return { token: Buffer.from(scratch.subarray(0, size)), next: p };
    } else if (byte === DQUOTE || byte === SQUOTE) {
      quote = byte;
      p++;
    } else {
      scratch[size++] = byte;
      p++;
    }
  }
}

/**
 * Splits an inline request line into arguments. Returns undefined when quotes are
 * unbalanced (Redis: "Protocol error: unbalanced quotes in request"). An empty or
 * all-blank line yields []. Each argument is a fresh Buffer.
 */
export function splitInlineArgs(line: Uint8Array): Buffer[] | undefined {
  const args: Buffer[] = [];
  // A token is never longer than the line, so one scratch buffer serves all tokens.
  const scratch = Buffer.allocUnsafe(line.length);
  let p = 0;
  for (;;) {
    while (p < line.length && isSpace(line[p]!)) p++;
    if (p >= line.length) return args;
    const read = readToken(line, p, scratch);
    if (read === undefined) return undefined;
    args.push(read.token);
    p = read.next;
  }
}
