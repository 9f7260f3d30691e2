// Owns the public surface of the protocol library (RESP2/RESP3 requests and replies).
// Must not import anything outside protocol/ or touch sockets; consumers import from here.
// Invariant: only names re-exported here are API; other exports are internal.

export { RequestDecoder } from './request_decoder.ts';
export { commandName, COMMAND_NAME_BYTES_MAX } from './command_name.ts';
export type { DecoderOptions } from './request_decoder.ts';
export { DEFAULT_LIMITS, UNAUTHENTICATED_BULK_BYTES_MAX, UNAUTHENTICATED_MULTIBULK_ARGS_MAX } from './limits.ts';
export type { DecoderLimits } from './limits.ts';
export { ProtocolError, QueryBufferLimitError } from './errors.ts';
export type { DecodeError, ProtocolErrorReason } from './errors.ts';
export { ReplyWriter } from './reply_writer.ts';
export type { ReplyWriterOptions, RespVersion } from './reply_writer.ts';
export { formatDouble } from './double_format.ts';
export { writeReply } from './reply.ts';
export type { Reply } from './reply.ts';
export { splitInlineArgs } from './inline_split.ts';
export { ByteReader } from './byte_reader.ts';
export { encodeReply, decodeReply, ReplyDecodeError } from './reply_codec.ts';
