// The cluster wire layer: the frame codec, the NATS transport and snapshot streaming.
// The driver (src/replication/node.ts) imports from here.

export { WIRE_VERSION, FRAME_TYPE, type Frame, type FrameKind, type CorrelationId, type SnapshotChunk, type SnapshotAck, type SnapshotAckStatus, type ForwardRequest, type ForwardResponse } from './frames.ts';
export { encodeFrame, encodeMessage, decodeFrame, SNAPSHOT_CHUNK_OVERHEAD_BYTES_MAX } from './codec.ts';
export { NODE_ID_BYTES_MAX } from './wire_bytes.ts';
export { WireDecodeError, WireEncodeError, FrameTooLargeError, TransportClosedError } from './wire_errors.ts';
export { ENVELOPE_VERSION, ENVELOPE_BYTES_MAX, checkSubjectToken, envelopeHeader, parseEnvelope } from './envelope.ts';
export {
  NatsTransport,
  type NatsTransportOptions,
  type TransportState,
  type TransportStats,
  type FrameHandler,
  type StateHandler,
} from './nats_transport.ts';
export type { DropFilter, FrameDirection } from './fault_switch.ts';
export * from './snapshot_stream.ts';
