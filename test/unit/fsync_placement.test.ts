// Where fsyncs run: on the event loop while the disk is fast; one spike among fast
// fsyncs keeps them there, a sustained slow disk or one very slow fsync sends them to
// the thread pool for a while, and a disk still slow afterwards sends them back soon.

import test from 'ava';
import { FsyncPlacement, FSYNC_PLACEMENT_DEFAULTS } from '../../src/replication/fsync_placement.ts';

const opts = { avgMsMax: 2, oneMsMax: 20, threadPoolMs: 1000, weight: 0.1 };

test('fast fsyncs stay on the event loop', (t) => {
  const p = new FsyncPlacement(opts);
  for (let i = 0; i < 1000; i++) p.observe(i, 0.2);
  t.true(p.inline(1000));
  t.true(Math.abs(p.averageMs - 0.2) < 0.01);
});

test('a spike among fast fsyncs does not move them (the old rule: any one over 2 ms did)', (t) => {
  const p = new FsyncPlacement(opts);
  for (let i = 0; i < 100; i++) p.observe(i, 0.15);
  p.observe(100, 15);
  t.true(p.inline(116), 'one 15 ms fsync');
  for (let i = 0; i < 50; i++) p.observe(200 + i, 0.15);
  p.observe(300, 12);
  t.true(p.inline(313), 'another, later');
});

test('a sustained slow disk moves them to the thread pool for threadPoolMs', (t) => {
  const p = new FsyncPlacement(opts);
  let now = 0;
  let moved = -1;
  for (let i = 0; i < 100 && moved < 0; i++) {
    p.observe(now, 4);
    now += 4;
    if (!p.inline(now)) moved = i;
  }
  t.true(moved >= 1 && moved <= 20, `moved after ${moved + 1} fsyncs of 4 ms`);
  t.false(p.inline(now + 999));
  t.true(p.inline(now + 1000));
  // Still slow: back within a few fsyncs, not another 20.
  let again = -1;
  for (let i = 0; i < 20 && again < 0; i++) {
    const start = now + 1000 + i * 4;
    p.observe(start, 4);
    if (!p.inline(start + 4)) again = i;
  }
  t.true(again >= 0 && again <= 5, `moved again after ${again + 1} fsyncs`);
});

test('one very slow fsync moves them at once', (t) => {
  const p = new FsyncPlacement(opts);
  p.observe(0, 0.1);
  p.observe(10, 25);
  t.false(p.inline(35));
  t.true(p.inline(1035));
});

test('the defaults are the documented ones, and a bad weight is refused', (t) => {
  t.deepEqual(FSYNC_PLACEMENT_DEFAULTS, opts);
  t.throws(() => new FsyncPlacement({ ...opts, weight: 0 }), { instanceOf: RangeError });
  t.throws(() => new FsyncPlacement({ ...opts, weight: 1.5 }), { instanceOf: RangeError });
});
