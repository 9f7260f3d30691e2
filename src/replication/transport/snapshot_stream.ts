// Snapshot streaming over any frame transport: the sender (snapshot_sender.ts) reads a
// snapshot file and sends it as chunks under flow control; the receiver
// (snapshot_receiver.ts) writes them in order and publishes the file atomically.
// Wiring: route decoded `snapshotAck` frames to SnapshotSender.handleAck and
// `snapshotChunk` frames to SnapshotReceiver.handleChunk.

export {
  SNAPSHOT_CHUNK_BYTES_DEFAULT,
  SnapshotSender,
  type SnapshotSendFailure,
  type SnapshotSendResult,
  type SnapshotSenderOptions,
  type SnapshotSource,
} from './snapshot_sender.ts';
export { SnapshotReceiver, finalPathOf, tempPathOf, type ReceivedSnapshot, type SnapshotReceiverOptions } from './snapshot_receiver.ts';
