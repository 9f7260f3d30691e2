// The stream store's in-memory copies (metadata rows, the tail node known to hold
// entries, the last entry's ID, group rows): a seeded random run of appends, deletes,
// trims, group writes, DEL, COPY and rolled-back transactions on two replicas, one of
// which drops those copies after every step (so it reads everything from SQLite). Both
// must hold the same rows, and what the cached replica reports must be what its own
// SQLite holds.

import test from 'ava';
import { logIndex, term } from '../../consensus/index.ts';
import { Keyspace, StateDatabase, StreamStore, STREAM_TYPE, streamValueHooks, type StreamId } from '../../src/state/index.ts';
import { Rng } from '../sim/rng.ts';
import { b } from './helpers.ts';

const NOW = 1_000_000;

class Replica {
  readonly state = StateDatabase.open(':memory:');
  readonly ks = new Keyspace(this.state, streamValueHooks(this.state));
  readonly store = StreamStore.of(this.state);
  index = 0;
  readonly cold: boolean;
  constructor(cold: boolean) {
    this.cold = cold;
  }
  apply(fn: (index: number) => void, fail: boolean): void {
    const index = this.index + 1;
    try {
      this.state.transaction(() => {
        fn(index);
        if (fail) throw new Error('rolled back on purpose');
        this.state.setApplied(logIndex(index), term(1));
      });
      this.index = index;
    } catch (e) {
      if (!fail) throw e;
    }
    if (this.cold) this.dropCopies();
  }
  /** A rolled-back transaction drops every in-memory copy the store keeps. */
  dropCopies(): void {
    try {
      this.state.transaction(() => {
        throw new Error('drop the copies');
      });
    } catch {
      // expected
    }
  }
  refOf(key: Buffer): number | null {
    const e = this.ks.lookup(0, key, NOW);
    return e === null || e.type !== STREAM_TYPE ? null : StreamStore.refOf(e.value);
  }
  table(sql: string): unknown[] {
    return this.state.sqlite.prepare(sql).all();
  }
}

for (const seed of [7, 11, 2026]) {
  test(`seed ${seed}: stream rows and metadata are the same with and without the in-memory copies`, (t) => {
    const rng = new Rng(seed);
    const replicas = [new Replica(false), new Replica(true)];
    const keys = ['s0', 's1', 's2', 's3'].map(b);
    let ms = 0;
    for (let step = 0; step < 1500; step++) {
      const key = rng.pick(keys);
      const other = rng.pick(keys);
      const op = rng.nextInt(100);
      const fail = rng.chance(0.05);
      const appends = 1 + rng.nextInt(rng.chance(0.1) ? 150 : 3);
      const pickAt = rng.nextInt(1_000_000);
      const keep = rng.nextInt(120);
      const approx = rng.chance(0.5);
      const groupOp = rng.nextInt(10);
      const groupName = b(rng.pick(['g0', 'g1']));
      const groupLastMs = BigInt(rng.nextInt(ms + 1));
      const firstMs = ms + 1;
      ms += appends;
      for (const rep of replicas) {
        rep.apply((index) => {
          let ref = rep.refOf(key);
          if (ref !== null && groupOp < 2) rep.store.groups.put(ref, groupName, { ms: groupLastMs, seq: 0n }, groupOp === 0 ? null : groupLastMs);
          else if (ref !== null && groupOp === 2) rep.store.groups.destroy(ref, groupName);
          if (op < 55) {
            if (ref === null) {
              ref = rep.store.create();
              rep.ks.setValue(0, key, STREAM_TYPE, StreamStore.refValue(ref), null, NOW, logIndex(index));
            }
            for (let i = 0; i < appends; i++) rep.store.append(ref, { ms: BigInt(firstMs + i), seq: 0n }, [b('f'), b(String(step))]);
          } else if (ref === null) {
            return;
          } else if (op < 75) {
            const ids = rep.store.range(ref, { ms: 0n, seq: 0n }, { ms: BigInt(ms), seq: 0n }, 0).map((e) => e.id);
            if (ids.length > 0) rep.store.delete(ref, ids[pickAt % ids.length]!);
          } else if (op < 85) {
            rep.store.trim(ref, { strategy: { kind: 'maxlen', maxlen: BigInt(keep) }, approx, limit: 0 });
          } else if (op < 90) {
            const minid: StreamId = { ms: BigInt(Math.max(0, ms - keep)), seq: 0n };
            rep.store.trim(ref, { strategy: { kind: 'minid', minid }, approx, limit: 0 });
          } else if (op < 95) {
            rep.ks.delete(0, key, NOW, logIndex(index));
          } else {
            rep.ks.copy(0, key, 0, other, true, NOW, logIndex(index));
          }
        }, fail);
      }
      if (step % 25 !== 0 && step !== 1499) continue;
      const [cached, cold] = replicas as [Replica, Replica];
      t.deepEqual(cached.table('SELECT * FROM streams ORDER BY ref'), cold.table('SELECT * FROM streams ORDER BY ref'), `streams at step ${step}`);
      const entries = 'SELECT ref, id, node, fields FROM stream_entries ORDER BY ref, id';
      t.deepEqual(cached.table(entries), cold.table(entries), `stream_entries at step ${step}`);
      const groupRows = 'SELECT * FROM stream_groups ORDER BY ref, name';
      t.deepEqual(cached.table(groupRows), cold.table(groupRows), `stream_groups at step ${step}`);
      for (const k of keys) {
        const ref = cached.refOf(k);
        if (ref === null) continue;
        const read = () => ({
          meta: cached.store.meta(ref),
          lastEntryId: cached.store.lastEntryId(ref),
          groups: ['g0', 'g1'].map((g) => cached.store.groups.group(ref, b(g))),
        });
        const fromMemory = read();
        cached.dropCopies();
        t.deepEqual(fromMemory, read(), `what the store reports for ${k.toString()} at step ${step}`);
      }
    }
  });
}

test('metadata written once per transaction level: a rolled-back savepoint drops only its own appends, in a batch too', (t) => {
  const rep = new Replica(false);
  const metaRow = (ref: number) => rep.state.sqlite.prepare('SELECT length, entries_added FROM streams WHERE ref = ?').get(ref);
  let ref = 0;
  rep.state.beginBatch(); // as a node applies: savepoints inside one long transaction
  rep.state.transaction(() => {
    ref = rep.store.create();
    rep.store.append(ref, { ms: 1n, seq: 0n }, [b('f'), b('1')]);
    t.throws(() =>
      rep.state.transaction(() => {
        rep.store.append(ref, { ms: 2n, seq: 0n }, [b('f'), b('2')]);
        throw new Error('rolled back on purpose');
      }),
    );
    rep.store.append(ref, { ms: 3n, seq: 0n }, [b('f'), b('3')]);
  });
  t.like(rep.store.meta(ref), { length: 2, entriesAdded: 2n, lastId: { ms: 3n, seq: 0n } });
  t.deepEqual(metaRow(ref), { length: 2, entries_added: 2 }, 'SQLite holds the row once the level ended');
  rep.state.transaction(() => rep.store.append(ref, { ms: 4n, seq: 0n }, [b('f'), b('4')]));
  rep.state.commitBatch();
  t.deepEqual(metaRow(ref), { length: 3, entries_added: 3 });
  rep.dropCopies();
  t.like(rep.store.meta(ref), { length: 3, entriesAdded: 3n, lastId: { ms: 4n, seq: 0n } });
});
