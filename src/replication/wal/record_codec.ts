// The on-disk record format of the write-ahead log: encoding into a batch buffer,
// header checks and payload decoding. No I/O. Records are 8-byte aligned so that
// recovery can look for valid records after a bad one at every aligned offset.
//
// Record:   [crc32c u32][len u32][payload: len bytes][zero padding to a multiple of 8]
//           crc32c covers bytes [4, 8 + len): the length field and the payload.
//           All integers little-endian. A header of eight zero bytes marks the logical
//           end of a segment (files are zero-filled ahead of the end); len is 1..recordBytesMax.
// Payload:  [kind u8][body]; u64 = [lo u32][hi u32], value < 2^53; str = [n u16][n bytes UTF-8]
//   1 normal entry, 2 config entry: [term u64][index u64][data: the rest]
//   3 hard state:   [term u64][commit u64][hasVote u8][vote str]
//   4 snapshot:     [keep u8][meta]   keep=1: entries after meta.index survive; 0: the whole log is discarded
//   5 open:         [magic "RWAL"][version u32][seq u64][lastIndex u64][hard state body][meta]
//                   first record of every segment: the state as of its creation, so any suffix
//                   of segments replays on its own (see log_state.ts)
//   6 seal:         [nextSeq u64]   last record of every segment but the newest
//   meta = [index u64][term u64][voters u16][learners u16][str × (voters + learners)]

import type { Config, Entry, HardState, LogIndex, NodeId, SnapshotMeta, Term } from '../../../consensus/types.ts';
import { crc32c } from './crc32c.ts';

export const HEADER_BYTES = 8;
/** kind + term + index in front of an entry's data. */
export const ENTRY_PREFIX_BYTES = 17;
export const FORMAT_VERSION = 1;
const MAGIC = 0x4c415752; // "RWAL" read as u32 LE

const KIND_NORMAL = 1;
const KIND_CONFIG = 2;
const KIND_HARD_STATE = 3;
const KIND_SNAPSHOT = 4;
const KIND_OPEN = 5;
const KIND_SEAL = 6;

export type WalRecord =
  | { readonly kind: 'entry'; readonly entry: Entry }
  | { readonly kind: 'hardState'; readonly hardState: HardState }
  | { readonly kind: 'snapshot'; readonly meta: SnapshotMeta; readonly keep: boolean }
  | { readonly kind: 'open'; readonly seq: number; readonly lastIndex: LogIndex; readonly hardState: HardState; readonly snapshot: SnapshotMeta }
  | { readonly kind: 'seal'; readonly nextSeq: number };

export const align8 = (n: number): number => Math.ceil(n / 8) * 8;
/** Bytes a record with this payload occupies in the file, header and padding included. */
export const recordBytes = (payloadBytes: number): number => HEADER_BYTES + align8(payloadBytes);
export const entryPayloadBytes = (e: Entry): number => ENTRY_PREFIX_BYTES + e.data.length;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A growable buffer of whole records, written to a segment with one positional write. */
export class RecordBuffer {
  #buf: Buffer;
  #len = 0;
  readonly #shrinkAboveBytes: number;

  constructor(initialBytes = 64 << 10, shrinkAboveBytes = 16 << 20) {
    this.#buf = Buffer.alloc(initialBytes);
    this.#shrinkAboveBytes = shrinkAboveBytes;
  }
  get length(): number {
    return this.#len;
  }
  view(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }
  /** Empties the buffer, giving back memory a huge batch made it take. */
  clear(): void {
    this.#len = 0;
    if (this.#buf.length > this.#shrinkAboveBytes) this.#buf = Buffer.alloc(64 << 10);
  }
  appendEntry(e: Entry): void {
    const body = this.#begin(entryPayloadBytes(e));
    this.#buf[body] = e.type === 'config' ? KIND_CONFIG : KIND_NORMAL;
    writeU64(this.#buf, body + 1, e.term);
    writeU64(this.#buf, body + 9, e.index);
    this.#buf.set(e.data, body + ENTRY_PREFIX_BYTES);
    this.#finish(body);
  }
  appendPayload(payload: Uint8Array): void {
    const body = this.#begin(payload.length);
    this.#buf.set(payload, body);
    this.#finish(body);
  }
  #begin(payloadBytes: number): number {
    const need = this.#len + recordBytes(payloadBytes);
    if (need > this.#buf.length) {
      const next = Buffer.alloc(Math.max(need, this.#buf.length * 2));
      next.set(this.view());
      this.#buf = next;
    }
    this.#buf.writeUInt32LE(payloadBytes, this.#len + 4);
    return this.#len + HEADER_BYTES;
  }
  #finish(body: number): void {
    const start = body - HEADER_BYTES;
    const payloadBytes = this.#buf.readUInt32LE(start + 4);
    const end = start + recordBytes(payloadBytes);
    this.#buf.fill(0, body + payloadBytes, end);
    this.#buf.writeUInt32LE(crc32c(this.#buf, start + 4, body + payloadBytes), start);
    this.#len = end;
  }
}

/** The header at `off`: `end` for eight zero bytes, else the stored checksum and payload length. */
export function readHeader(buf: Uint8Array, off: number): { readonly end: boolean; readonly crc: number; readonly payloadBytes: number } {
  const dv = new DataView(buf.buffer, buf.byteOffset + off, HEADER_BYTES);
  const crc = dv.getUint32(0, true);
  const payloadBytes = dv.getUint32(4, true);
  return { end: crc === 0 && payloadBytes === 0, crc, payloadBytes };
}

/** True when the record at `off` (whole, in `buf`) matches its checksum. */
export const crcMatches = (buf: Uint8Array, off: number, crc: number, payloadBytes: number): boolean =>
  crc32c(buf, off + 4, off + HEADER_BYTES + payloadBytes) === crc;

// ---- control record payloads ----

class PayloadWriter {
  readonly bytes: number[] = [];
  u8(n: number): this {
    this.bytes.push(n & 0xff);
    return this;
  }
  u16(n: number): this {
    if (n > 0xffff) throw new RangeError(`value ${n} does not fit in u16`);
    return this.u8(n).u8(n >>> 8);
  }
  u32(n: number): this {
    return this.u16(n & 0xffff).u16(n >>> 16);
  }
  u64(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`value ${n} is not a u64 below 2^53`);
    return this.u32(n >>> 0).u32(Math.floor(n / 2 ** 32));
  }
  str(s: string): this {
    const b = encoder.encode(s);
    this.u16(b.length);
    for (const x of b) this.bytes.push(x);
    return this;
  }
  hardState(hs: HardState): this {
    this.u64(hs.term).u64(hs.commit).u8(hs.vote === null ? 0 : 1);
    return this.str(hs.vote ?? '');
  }
  meta(m: SnapshotMeta): this {
    this.u64(m.index).u64(m.term).u16(m.config.voters.length).u16(m.config.learners.length);
    for (const id of [...m.config.voters, ...m.config.learners]) this.str(id);
    return this;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

export const encodeHardState = (hs: HardState): Uint8Array => new PayloadWriter().u8(KIND_HARD_STATE).hardState(hs).done();
export const encodeSnapshot = (meta: SnapshotMeta, keep: boolean): Uint8Array =>
  new PayloadWriter().u8(KIND_SNAPSHOT).u8(keep ? 1 : 0).meta(meta).done();
export const encodeSeal = (nextSeq: number): Uint8Array => new PayloadWriter().u8(KIND_SEAL).u64(nextSeq).done();
export const encodeOpen = (seq: number, lastIndex: LogIndex, hs: HardState, snapshot: SnapshotMeta): Uint8Array =>
  new PayloadWriter().u8(KIND_OPEN).u32(MAGIC).u32(FORMAT_VERSION).u64(seq).u64(lastIndex).hardState(hs).meta(snapshot).done();

function writeU64(buf: Buffer, off: number, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`value ${n} is not a u64 below 2^53`);
  buf.writeUInt32LE(n >>> 0, off);
  buf.writeUInt32LE(Math.floor(n / 2 ** 32), off + 4);
}

class PayloadReader {
  readonly #dv: DataView;
  readonly #p: Uint8Array;
  at = 0;
  constructor(p: Uint8Array) {
    this.#p = p;
    this.#dv = new DataView(p.buffer, p.byteOffset, p.length);
  }
  #need(n: number): number {
    if (this.at + n > this.#p.length) throw new RangeError(`payload too short: need ${this.at + n} of ${this.#p.length} bytes`);
    const at = this.at;
    this.at += n;
    return at;
  }
  u8(): number {
    return this.#p[this.#need(1)]!;
  }
  u16(): number {
    return this.#dv.getUint16(this.#need(2), true);
  }
  u32(): number {
    return this.#dv.getUint32(this.#need(4), true);
  }
  u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    if (hi >= 2 ** 21) throw new RangeError(`u64 with high word ${hi} exceeds 2^53`);
    return hi * 2 ** 32 + lo;
  }
  str(): string {
    const n = this.u16();
    const at = this.#need(n);
    return decoder.decode(this.#p.subarray(at, at + n));
  }
  hardState(): HardState {
    const term = this.u64() as Term;
    const commit = this.u64() as LogIndex;
    const hasVote = this.u8();
    const vote = this.str();
    if (hasVote > 1 || (hasVote === 0 && vote !== '')) throw new RangeError('malformed vote');
    return { term, vote: hasVote === 1 ? (vote as NodeId) : null, commit };
  }
  meta(): SnapshotMeta {
    const index = this.u64() as LogIndex;
    const term = this.u64() as Term;
    const nv = this.u16();
    const nl = this.u16();
    const voters: NodeId[] = [];
    const learners: NodeId[] = [];
    for (let i = 0; i < nv; i++) voters.push(this.str() as NodeId);
    for (let i = 0; i < nl; i++) learners.push(this.str() as NodeId);
    const config: Config = { voters, learners };
    return { index, term, config };
  }
  end(): void {
    if (this.at !== this.#p.length) throw new RangeError(`${this.#p.length - this.at} trailing payload bytes`);
  }
}

/** Decodes a checksummed payload; entry data is a view into `payload`. Throws RangeError if malformed. */
export function decodePayload(payload: Uint8Array): WalRecord {
  const r = new PayloadReader(payload);
  const kind = r.u8();
  let rec: WalRecord;
  switch (kind) {
    case KIND_NORMAL:
    case KIND_CONFIG: {
      const term = r.u64() as Term;
      const index = r.u64() as LogIndex;
      const data = payload.subarray(ENTRY_PREFIX_BYTES);
      return { kind: 'entry', entry: { term, index, type: kind === KIND_CONFIG ? 'config' : 'normal', data } };
    }
    case KIND_HARD_STATE:
      rec = { kind: 'hardState', hardState: r.hardState() };
      break;
    case KIND_SNAPSHOT: {
      const keep = r.u8();
      if (keep > 1) throw new RangeError(`snapshot keep flag ${keep}`);
      rec = { kind: 'snapshot', keep: keep === 1, meta: r.meta() };
      break;
    }
    case KIND_OPEN: {
      if (r.u32() !== MAGIC) throw new RangeError('bad segment magic');
      const version = r.u32();
      if (version !== FORMAT_VERSION) throw new RangeError(`unsupported WAL format version ${version}`);
      const seq = r.u64();
      const lastIndex = r.u64() as LogIndex;
      rec = { kind: 'open', seq, lastIndex, hardState: r.hardState(), snapshot: r.meta() };
      break;
    }
    case KIND_SEAL:
      rec = { kind: 'seal', nextSeq: r.u64() };
      break;
    default:
      throw new RangeError(`unknown record kind ${kind}`);
  }
  r.end();
  return rec;
}
