// Owns turning a request's first argument into its command name: lowercased (Redis
// command names are case-insensitive), at most COMMAND_NAME_BYTES_MAX bytes of it read.
// A pipeline repeats the same few names, so the last one converted is kept and a request
// whose name has the same bytes gets it without a new string (a native call each).

/** A huge first argument costs nothing: no command name is longer (also what CLIENT LIST and logs keep). */
export const COMMAND_NAME_BYTES_MAX = 64;

let lastBytes: Uint8Array = new Uint8Array(0);
let lastName = '';

/** The lowercased command name of `first` (as latin1: one char per byte). */
export function commandName(first: Uint8Array): string {
  const n = Math.min(first.length, COMMAND_NAME_BYTES_MAX);
  if (n === lastBytes.length && n <= 16) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (first[i] !== lastBytes[i]) {
        same = false;
        break;
      }
    }
    if (same) return lastName;
  }
  const name = Buffer.from(first.buffer, first.byteOffset, n).toString('latin1').toLowerCase();
  lastBytes = Uint8Array.from(first.subarray(0, n));
  lastName = name;
  return name;
}
