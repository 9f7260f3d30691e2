// Command-line values of the benchmark scripts, checked with a message naming the flag.

export function positive(name: string, raw: string | undefined): number {
  const v = Number(raw);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return v;
}
