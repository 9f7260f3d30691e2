// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven slice-by-8.
// Owns only the checksum; no I/O. crc32c(ascii "123456789") === 0xE3069283.
// Tables are computed once at module load (8 × 256 words, 8 KiB).

const POLY = 0x82f63b78;

function makeTables(): Int32Array {
  const t = new Int32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 8; s++) {
      const prev = t[(s - 1) * 256 + i]!;
      t[s * 256 + i] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
}

const T = makeTables();

/** CRC-32C of `bytes[start, end)`, as an unsigned 32-bit number. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = ~0;
  let i = start;
  // Eight bytes per step: the first four are folded into the running CRC, the
  // next four are looked up directly; each table advances its byte by s+1 positions.
  for (; i + 8 <= end; i += 8) {
    crc ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    crc =
      T[7 * 256 + (crc & 0xff)]! ^
      T[6 * 256 + ((crc >>> 8) & 0xff)]! ^
      T[5 * 256 + ((crc >>> 16) & 0xff)]! ^
      T[4 * 256 + (crc >>> 24)]! ^
      T[3 * 256 + bytes[i + 4]!]! ^
      T[2 * 256 + bytes[i + 5]!]! ^
      T[256 + bytes[i + 6]!]! ^
      T[bytes[i + 7]!]!;
  }
  for (; i < end; i++) crc = T[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
