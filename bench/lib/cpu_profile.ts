// Reads a V8 `.cpuprofile` (node --cpu-prof) and sums self time per function, so a
// bench can say where a server spent its CPU. Self time of a node = its hit count
// times the sampling interval; nodes of one function (same name, file, line) merge.

import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly fn: string;
  readonly where: string;
  readonly ms: number;
  readonly share: number;
}

export function topSelfTime(file: string, limit: number): { readonly totalMs: number; readonly top: readonly SelfTime[] } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byNode = new Map<number, ProfileNode>(p.nodes.map((n) => [n.id, n]));
  const us = new Map<string, { fn: string; where: string; us: number }>();
  let totalUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const node = byNode.get(p.samples[i]!);
    const dt = p.timeDeltas[i + 1] ?? 0; // a sample's time runs until the next one
    if (!node) continue;
    const cf = node.callFrame;
    const where = cf.url === '' ? '' : `${cf.url.replace(/^file:\/\/.*?\/(src|consensus|protocol|node_modules)\//, '$1/')}:${cf.lineNumber + 1}`;
    const fn = cf.functionName || '(anonymous)';
    const key = `${fn}@${where}`;
    const e = us.get(key) ?? { fn, where, us: 0 };
    e.us += dt;
    us.set(key, e);
    totalUs += dt;
  }
  const top = [...us.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, limit)
    .map((e) => ({ fn: e.fn, where: e.where, ms: e.us / 1000, share: totalUs === 0 ? 0 : e.us / totalUs }));
  return { totalMs: totalUs / 1000, top };
}
