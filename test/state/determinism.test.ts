// Determinism: replicas fed the same entries (same indexes, stamps and random choices)
// end with identical rows, whatever their storage (file or memory) and batching.

import test from 'ava';
import { join } from 'node:path';
import { createPrng, logIndex, term, type LogIndex } from '../../consensus/index.ts';
import { StateDatabase, stateDigest, type Keyspace } from '../../src/state/index.ts';
import { b, Fixture, tempDir } from './helpers.ts';

type Op = (ks: Keyspace, index: LogIndex) => void;

/** A random workload; every parameter (time, keys, random choices) is inside the ops. */
function workload(seed: number, length: number): { nowMs: number; op: Op }[] {
  const rng = createPrng(seed);
  const key = () => b(`k${rng.nextInt(40)}`);
  const db = () => rng.nextInt(3);
  const ops: { nowMs: number; op: Op }[] = [];
  let nowMs = 1_000_000;
  for (let i = 0; i < length; i++) {
    nowMs += rng.nextInt(50);
    const at = nowMs;
    const [k1, k2, d1, d2] = [key(), key(), db(), db()];
    const value = b(`v${rng.nextInt(1000)}`);
    const deadline = rng.nextInt(3) === 0 ? at + rng.nextInt(500) : null;
    const choice = rng.nextInt(100);
    const r = rng.nextInt(1000) / 1000;
    const expireAt = at + rng.nextInt(300) - 50;
    const op: Op =
      choice < 35 ? (ks, index) => ks.setString(d1, k1, value, deadline, at, index)
      : choice < 45 ? (ks, index) => void ks.delete(d1, k1, at, index)
      : choice < 55 ? (ks, index) => void ks.setExpiry(d1, k1, expireAt, at, index)
      : choice < 63 ? (ks, index) => void ks.rename(d1, k1, k2, 'replace', at, index)
      : choice < 70 ? (ks, index) => void ks.copy(d1, k1, d2, k2, true, at, index)
      : choice < 76 ? (ks, index) => void ks.move(d1, k1, d2, at, index)
      : choice < 86 ? (ks, index) => void ks.deleteExpired(ks.expiredKeys(5, at), at, index)
      : choice < 88 ? (ks, index) => ks.flushDb(d1, index)
      : choice < 89 ? (ks, index) => ks.flushAll(index)
      : choice < 91 ? (ks, index) => void ks.pruneTombstones(logIndex(Math.max(0, index - 30)))
      : (ks, index) => {
          const picked = ks.randomKey(d1, at, r);
          if (picked !== null) ks.setString(d1, picked, value, 'keep', at, index);
        };
    ops.push({ nowMs: at, op });
  }
  return ops;
}

function run(f: Fixture, ops: readonly { op: Op }[], batch: number): string {
  for (let start = 0; start < ops.length; start += batch) {
    f.state.transaction(() => {
      const slice = ops.slice(start, start + batch);
      slice.forEach(({ op }, i) => op(f.ks, logIndex(f.index + i + 1)));
      f.index += slice.length;
      f.state.setApplied(logIndex(f.index), term(1));
    });
  }
  return stateDigest(f.state);
}

for (const seed of [7, 8, 9]) {
  test(`same entries give identical state on a file replica and a memory replica (seed ${seed})`, (t) => {
    const temp = tempDir();
    t.teardown(temp.remove);
    const ops = workload(seed, 1500);
    const onFile = new Fixture(StateDatabase.open(join(temp.dir, 'state.db')));
    t.teardown(() => onFile.close());
    const inMemory = new Fixture();
    const digestA = run(onFile, ops, 1);
    const digestB = run(inMemory, ops, 37);
    t.is(digestA, digestB);
    const rows = inMemory.state.sqlite.prepare('SELECT count(*) FROM keys').pluck().get() as number;
    t.true(rows > 0, 'the workload leaves data to compare');
  });
}

test('the digest tells different histories apart', (t) => {
  const one = new Fixture();
  const two = new Fixture();
  t.is(stateDigest(one.state), stateDigest(two.state));
  run(one, workload(11, 200), 10);
  run(two, workload(12, 200), 10);
  t.not(stateDigest(one.state), stateDigest(two.state));
  const three = new Fixture();
  run(three, workload(11, 200), 10);
  three.apply((index) => three.ks.setString(0, b('k1'), b('v'), null, 0, index));
  t.not(stateDigest(one.state), stateDigest(three.state));
});
