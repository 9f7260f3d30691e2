// Owns an optional value model of replies: a `Reply` union and `writeReply`.
// Must not be needed on hot paths (handlers may call ReplyWriter directly); it exists
// for code that builds a reply before knowing the connection's protocol (state
// machine results, forwarded replies, tests). Invariant: `writeReply` emits exactly
// the frames the equivalent ReplyWriter calls would.

import type { ReplyWriter } from './reply_writer.ts';

export type Reply =
  | { readonly type: 'simple'; readonly value: string }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'integer'; readonly value: number | bigint }
  | { readonly type: 'bulk'; readonly value: Uint8Array | string }
  | { readonly type: 'null' }
  | { readonly type: 'null-array' }
  | { readonly type: 'array'; readonly items: readonly Reply[] }
  | { readonly type: 'set'; readonly items: readonly Reply[] }
  | { readonly type: 'push'; readonly items: readonly Reply[] }
  | { readonly type: 'map'; readonly entries: readonly (readonly [Reply, Reply])[] }
  | { readonly type: 'double'; readonly value: number }
  | { readonly type: 'boolean'; readonly value: boolean }
  | { readonly type: 'verbatim'; readonly value: Uint8Array | string; readonly format: string }
  | { readonly type: 'big-number'; readonly value: bigint | string };

export function writeReply(writer: ReplyWriter, reply: Reply): void {
  switch (reply.type) {
    case 'simple': return writer.simple(reply.value);
    case 'error': return writer.error(reply.message);
    case 'integer': return writer.integer(reply.value);
    case 'bulk': return writer.bulk(reply.value);
    case 'null': return writer.null();
    case 'null-array': return writer.nullArray();
    case 'array':
      writer.array(reply.items.length);
      return writeAll(writer, reply.items);
    case 'set':
      writer.set(reply.items.length);
      return writeAll(writer, reply.items);
    case 'push':
      writer.push(reply.items.length);
      return writeAll(writer, reply.items);
    case 'map':
      writer.map(reply.entries.length);
      for (const [key, value] of reply.entries) {
        writeReply(writer, key);
        writeReply(writer, value);
      }
      return;
    case 'double': return writer.double(reply.value);
    case 'boolean': return writer.boolean(reply.value);
    case 'verbatim': return writer.verbatim(reply.value, reply.format);
    case 'big-number': return writer.bigNumber(reply.value);
    default: {
      const unreachable: never = reply;
      throw new TypeError(`unknown reply ${JSON.stringify(unreachable)}`);
    }
  }
}

function writeAll(writer: ReplyWriter, items: readonly Reply[]): void {
  for (const item of items) writeReply(writer, item);
}
