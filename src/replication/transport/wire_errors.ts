// The named failures of the cluster wire layer: bytes that are not a valid frame,
// values a frame cannot carry, frames too large for the transport, and use of a
// closed transport. Decoding failures are expected values from the network (drop
// the frame, log it); encoding failures are bugs in the caller.

/** Bytes from the network that are not a valid frame: unknown version or type, truncation, trailing bytes, bad values. */
export class WireDecodeError extends Error {
  override readonly name = 'WireDecodeError';
  /** Byte offset in the frame where decoding stopped. */
  readonly offset: number;
  constructor(reason: string, offset: number, options?: { cause?: unknown }) {
    super(`invalid frame at byte ${offset}: ${reason}`, options);
    this.offset = offset;
  }
}

/** A value the wire format cannot represent (a term that is not a safe integer, a node id over 64 bytes...): a caller bug. */
export class WireEncodeError extends Error {
  override readonly name = 'WireEncodeError';
}

/** A frame larger than the transport's payload limit; big data must travel as snapshot chunks. */
export class FrameTooLargeError extends Error {
  override readonly name = 'FrameTooLargeError';
  readonly frameBytes: number;
  readonly limitBytes: number;
  constructor(frameBytes: number, limitBytes: number) {
    super(`frame of ${frameBytes} bytes exceeds the transport limit of ${limitBytes} bytes; send big data as chunks`);
    this.frameBytes = frameBytes;
    this.limitBytes = limitBytes;
  }
}

/** send/start on a transport after close(). */
export class TransportClosedError extends Error {
  override readonly name = 'TransportClosedError';
}
