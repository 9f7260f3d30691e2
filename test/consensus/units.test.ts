// Unit tests of the consensus pieces: configs and their codec, quorum arithmetic,
// the log with its unstable tail, progress windows, and the Raft node's API contract.

import test from 'ava';
import {
  MemoryStorage,
  Raft,
  applyConfigChange,
  configOf,
  createPrng,
  decodeConfigChange,
  encodeConfigChange,
  logIndex,
  nodeId,
  term,
  type Entry,
} from '../../consensus/index.ts';
import { quorumIndex, tallyVotes } from '../../consensus/config.ts';
import { RaftLog } from '../../consensus/raft_log.ts';
import { Inflights, Progress } from '../../consensus/progress.ts';

const n = nodeId;
const entry = (index: number, t: number, data = ''): Entry => ({
  index: logIndex(index),
  term: term(t),
  type: 'normal',
  data: new TextEncoder().encode(data),
});

test('config changes move one member at a time and are no-ops when they do not apply', (t) => {
  const c = configOf(['n1', 'n2', 'n3']);
  const withLearner = applyConfigChange(c, { kind: 'addLearner', node: n('n4') });
  t.deepEqual(withLearner, configOf(['n1', 'n2', 'n3'], ['n4']));
  t.deepEqual(applyConfigChange(withLearner, { kind: 'promote', node: n('n4') }), configOf(['n1', 'n2', 'n3', 'n4']));
  t.deepEqual(applyConfigChange(c, { kind: 'remove', node: n('n2') }), configOf(['n1', 'n3']));
  t.is<unknown, unknown>(applyConfigChange(c, { kind: 'remove', node: n('n9') }), c);
  t.is<unknown, unknown>(applyConfigChange(c, { kind: 'addLearner', node: n('n1') }), c, 'a voter is not demoted by addLearner');
});

test('config change codec round-trips and rejects garbage', (t) => {
  for (const kind of ['addLearner', 'promote', 'addVoter', 'remove'] as const) {
    const ch = { kind, node: n('node-ü') };
    t.deepEqual(decodeConfigChange(encodeConfigChange(ch)), ch);
  }
  t.throws(() => decodeConfigChange(new Uint8Array([9, 65])));
  t.throws(() => decodeConfigChange(new Uint8Array([0])));
});

test('quorum index and vote tallies', (t) => {
  const voters = ['a', 'b', 'c', 'd', 'e'].map(n);
  const match = new Map([['a', 9], ['b', 7], ['c', 5], ['d', 3], ['e', 1]]);
  t.is<unknown, unknown>(Number(quorumIndex(voters, (id) => match.get(id)!)), 5);
  t.is<unknown, unknown>(Number(quorumIndex(voters.slice(0, 4), (id) => match.get(id)!)), 5, 'even count: the lower median');
  const votes = new Map([[n('a'), true], [n('b'), true]]);
  t.is<unknown, unknown>(tallyVotes(voters, votes), 'pending');
  votes.set(n('c'), true);
  t.is<unknown, unknown>(tallyVotes(voters, votes), 'won');
  t.is<unknown, unknown>(tallyVotes(voters, new Map([[n('a'), false], [n('b'), false], [n('c'), false]])), 'lost');
});

test('RaftLog: appends, conflicts truncate the suffix, committed entries are never truncated', (t) => {
  const s = new MemoryStorage();
  s.append([entry(1, 1), entry(2, 1), entry(3, 2)]);
  const log = new RaftLog(s, logIndex(0));
  t.is<unknown, unknown>(log.lastIndex(), 3);
  const r = log.maybeAppend(logIndex(2), term(1), logIndex(3), [entry(3, 3, 'x'), entry(4, 3, 'y')]);
  t.is<unknown, unknown>(Number(r?.lastNew), 4);
  t.is<unknown, unknown>(log.term(logIndex(3)), 3, 'the conflicting entry was replaced');
  t.is<unknown, unknown>(log.committed, 3);
  t.is<unknown, unknown>(log.maybeAppend(logIndex(4), term(2), logIndex(4), []), null, 'a mismatching prev term is rejected');
  t.throws(() => log.append([entry(2, 9)]), { message: /committed/ });
  const dup = log.maybeAppend(logIndex(2), term(1), logIndex(3), [entry(3, 3, 'x')]);
  t.is<unknown, unknown>(dup?.appended.length, 0, 'a duplicate append changes nothing');
  t.is<unknown, unknown>(log.lastIndex(), 4, 'and does not truncate entries after it');
});

test('RaftLog: findConflictByTerm skips a whole term', (t) => {
  const s = new MemoryStorage();
  s.append([entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2), entry(5, 4)]);
  const log = new RaftLog(s, logIndex(0));
  t.is<unknown, unknown>(log.findConflictByTerm(logIndex(5), term(3)), 4);
  t.is<unknown, unknown>(log.findConflictByTerm(logIndex(5), term(1)), 2);
  t.is<unknown, unknown>(log.findConflictByTerm(logIndex(9), term(9)), 5);
});

test('RaftLog: slice honours the byte bound but returns at least one entry', (t) => {
  const s = new MemoryStorage();
  s.append([entry(1, 1, 'a'.repeat(100)), entry(2, 1, 'b'.repeat(100)), entry(3, 1, 'c')]);
  const log = new RaftLog(s, logIndex(0));
  t.is<unknown, unknown>(log.slice(logIndex(1), logIndex(4), 10, 100)!.length, 1);
  t.is<unknown, unknown>(log.slice(logIndex(1), logIndex(4), 1 << 20, 100)!.length, 3);
  t.is<unknown, unknown>(log.slice(logIndex(1), logIndex(4), 1 << 20, 2)!.length, 2);
});

test('Inflights: bounded window, freed by acknowledgement in order', (t) => {
  const f = new Inflights(3, 1000);
  f.add(logIndex(5), 10);
  f.add(logIndex(9), 10);
  f.add(logIndex(12), 10);
  t.true(f.full());
  t.throws(() => f.add(logIndex(13), 1));
  f.freeTo(logIndex(9));
  t.is<unknown, unknown>(f.count, 1);
  t.is<unknown, unknown>(f.bytes, 10);
  const byBytes = new Inflights(10, 25);
  byBytes.add(logIndex(1), 20);
  t.false(byBytes.full());
  byBytes.add(logIndex(2), 20);
  t.true(byBytes.full());
});

test('Progress: stale rejections are ignored; probe backs off with the hint', (t) => {
  const p = new Progress(logIndex(11), 4, 1 << 20);
  p.match = logIndex(5);
  t.false(p.maybeDecrTo(logIndex(7), logIndex(6)), 'rejection of an append we did not just send');
  t.true(p.maybeDecrTo(logIndex(10), logIndex(7)));
  t.is<unknown, unknown>(p.next, 8);
  p.becomeReplicate();
  t.is<unknown, unknown>(p.next, 6);
  t.false(p.maybeDecrTo(logIndex(4), logIndex(0)), 'below match: stale');
});

test('Raft: one voter elects itself and commits proposals; inputs may arrive between ready and advance, a second ready may not', (t) => {
  const storage = MemoryStorage.bootstrap([n('solo')]);
  const r = new Raft({ id: n('solo'), storage, prng: createPrng(1) });
  for (let i = 0; i < 30 && r.role.kind !== 'leader'; i++) r.tick();
  t.is<unknown, unknown>(r.role.kind, 'leader');
  const res = r.propose(new TextEncoder().encode('hello'));
  t.true(res.ok);
  const rd = r.ready();
  t.throws(() => r.ready(), { message: /advance/ });
  const later = r.propose(new TextEncoder().encode('meanwhile'));
  t.true(later.ok);
  t.false(rd.entries.some((e) => new TextDecoder().decode(e.data) === 'meanwhile'), 'not in the outstanding Ready');
  storage.append(rd.entries);
  if (rd.hardState) storage.setHardState(rd.hardState);
  r.advance();
  t.true(rd.committedEntries.some((e) => new TextDecoder().decode(e.data) === 'hello'));
  t.throws(() => r.advance(), { message: /without ready/ });
  const next = r.ready();
  t.true(next.entries.some((e) => new TextDecoder().decode(e.data) === 'meanwhile'), 'it comes in the next Ready');
});

test('Raft: proposals are refused with a reason on a follower and when too large', (t) => {
  const storage = MemoryStorage.bootstrap([n('a'), n('b'), n('c')]);
  const r = new Raft({ id: n('a'), storage, prng: createPrng(2), proposalBytesMax: 4 });
  const res = r.propose(new Uint8Array(1));
  t.deepEqual(res, { ok: false, reason: 'not-leader', leader: null });
  const solo = new Raft({ id: n('s'), storage: MemoryStorage.bootstrap([n('s')]), prng: createPrng(3), proposalBytesMax: 4 });
  for (let i = 0; i < 30 && solo.role.kind !== 'leader'; i++) solo.tick();
  t.like(solo.propose(new Uint8Array(5)), { ok: false, reason: 'too-large' });
  t.like(solo.proposeConfigChange({ kind: 'remove', node: n('s') }), { ok: false }, 'removing the last voter is refused');
});

test('Raft: options are validated', (t) => {
  const storage = new MemoryStorage();
  t.throws(() => new Raft({ id: n('a'), storage, prng: createPrng(1), electionTicksMin: 1, heartbeatTicks: 1 }), { instanceOf: RangeError });
  t.throws(() => new Raft({ id: n('a'), storage, prng: createPrng(1), readMode: 'lease', checkQuorum: false }), { instanceOf: RangeError });
});

test('the PRNG is deterministic per seed and within bounds', (t) => {
  const a = createPrng(42);
  const b = createPrng(42);
  const xs = Array.from({ length: 100 }, () => a.nextInt(10));
  t.deepEqual(xs, Array.from({ length: 100 }, () => b.nextInt(10)));
  t.true(xs.every((x) => x >= 0 && x < 10));
  t.true(new Set(xs).size > 5);
});
