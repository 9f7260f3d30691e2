// A Map used as a bounded memo of rows kept in memory (stream metadata, group rows): set
// a key's value, dropping the entry remembered first once past the bound. A key already
// there keeps its place: moving it last on every hit (delete, set) cost ~2 % of XADD's
// CPU, and an evicted hot entry only costs one SELECT to come back.

export function rememberBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  const size = map.size;
  map.set(key, value);
  if (map.size > size && map.size > max) map.delete(map.keys().next().value!);
}
