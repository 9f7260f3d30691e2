// A typed decoder of server replies (RESP2 and RESP3) for differential tests, plus a
// request encoder and a canonical rendering. Unlike redis-parser 3 (which returns
// "+OK" and "$2 OK" alike and knows no RESP3), it keeps every reply's type, so two
// servers' answers compare exactly. Incremental: decode() consumes whole replies only.

export type Reply =
  | { readonly t: 'simple'; readonly v: string }
  | { readonly t: 'error'; readonly v: string }
  | { readonly t: 'int'; readonly v: bigint }
  | { readonly t: 'bulk'; readonly v: Buffer }
  | { readonly t: 'nil' } // $-1
  | { readonly t: 'nil-array' } // *-1
  | { readonly t: 'null' } // RESP3 _
  | { readonly t: 'array'; readonly v: readonly Reply[] }
  | { readonly t: 'set'; readonly v: readonly Reply[] }
  | { readonly t: 'push'; readonly v: readonly Reply[] }
  | { readonly t: 'map'; readonly v: ReadonlyArray<readonly [Reply, Reply]> }
  | { readonly t: 'double'; readonly v: string }
  | { readonly t: 'bool'; readonly v: boolean }
  | { readonly t: 'bignum'; readonly v: string }
  | { readonly t: 'verbatim'; readonly format: string; readonly v: Buffer };

export type Arg = string | Buffer | number | bigint;

/** One request as a RESP multibulk. */
export function encodeCommand(args: readonly Arg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a), 'latin1');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Thrown for bytes that are not a reply at all. */
export class ReplyFormatError extends Error {}

type Step = { readonly reply: Reply; readonly end: number } | { readonly need: number };

/** Decodes one reply at `pos`, or says how many bytes in total would at least be needed. */
export function decodeReply(buf: Buffer, pos: number): Step {
  const nl = buf.indexOf('\r\n', pos, 'latin1');
  if (nl < 0) return { need: buf.length + 1 };
  const type = String.fromCharCode(buf[pos]!);
  const line = buf.toString('latin1', pos + 1, nl);
  const next = nl + 2;
  const num = (): number => {
    if (!/^-?\d+$/.test(line)) throw new ReplyFormatError(`bad length ${JSON.stringify(line)}`);
    return Number(line);
  };
  const aggregate = (n: number, make: (items: Reply[]) => Reply): Step => {
    const items: Reply[] = [];
    let at = next;
    for (let i = 0; i < n; i++) {
      const s = decodeReply(buf, at);
      if ('need' in s) return s;
      items.push(s.reply);
      at = s.end;
    }
    return { reply: make(items), end: at };
  };
  switch (type) {
    case '+': return { reply: { t: 'simple', v: line }, end: next };
    case '-': return { reply: { t: 'error', v: line }, end: next };
    case ':': return { reply: { t: 'int', v: BigInt(line) }, end: next };
    case '_': return { reply: { t: 'null' }, end: next };
    case ',': return { reply: { t: 'double', v: line }, end: next };
    case '#': return { reply: { t: 'bool', v: line === 't' }, end: next };
    case '(': return { reply: { t: 'bignum', v: line }, end: next };
    case '$':
    case '=': {
      const n = num();
      if (n < 0) return { reply: { t: 'nil' }, end: next };
      if (buf.length < next + n + 2) return { need: next + n + 2 };
      const body = Buffer.from(buf.subarray(next, next + n));
      const end = next + n + 2;
      if (type === '$') return { reply: { t: 'bulk', v: body }, end };
      return { reply: { t: 'verbatim', format: body.toString('latin1', 0, 3), v: body.subarray(4) }, end };
    }
    case '*': {
      const n = num();
      if (n < 0) return { reply: { t: 'nil-array' }, end: next };
      return aggregate(n, (v) => ({ t: 'array', v }));
    }
    case '~': return aggregate(num(), (v) => ({ t: 'set', v }));
    case '>': return aggregate(num(), (v) => ({ t: 'push', v }));
    case '%': return aggregate(num() * 2, (v) => {
      const pairs: Array<[Reply, Reply]> = [];
      for (let i = 0; i < v.length; i += 2) pairs.push([v[i]!, v[i + 1]!]);
      return { t: 'map', v: pairs };
    });
    default:
      throw new ReplyFormatError(`unknown reply type byte 0x${buf[pos]!.toString(16)} in ${JSON.stringify(buf.toString('latin1', pos, Math.min(buf.length, pos + 40)))}`);
  }
}

const quote = (b: Buffer): string => JSON.stringify(b.toString('latin1'));

/** A canonical one-line rendering: equal renderings ⇔ equal replies. */
export function render(r: Reply): string {
  switch (r.t) {
    case 'simple': return `+${r.v}`;
    case 'error': return `-${r.v}`;
    case 'int': return `:${r.v}`;
    case 'bulk': return quote(r.v);
    case 'nil': return '(nil)';
    case 'nil-array': return '(nil-array)';
    case 'null': return '_';
    case 'array': return `[${r.v.map(render).join(', ')}]`;
    case 'set': return `~{${r.v.map(render).join(', ')}}`;
    case 'push': return `>[${r.v.map(render).join(', ')}]`;
    case 'map': return `%{${r.v.map(([k, v]) => `${render(k)}: ${render(v)}`).join(', ')}}`;
    case 'double': return `,${r.v}`;
    case 'bool': return `#${r.v ? 't' : 'f'}`;
    case 'bignum': return `(${r.v}`;
    case 'verbatim': return `=${r.format}:${quote(r.v)}`;
    default: {
      const never: never = r;
      throw new Error(`unknown reply ${JSON.stringify(never)}`);
    }
  }
}

export const bulkText = (r: Reply): string | null => (r.t === 'bulk' ? r.v.toString('latin1') : null);
