// The follower's side: accepting appends (with conflict hints for fast
// backtracking), heartbeats, snapshots, leadership-transfer and read-index answers.
// Invariant: a follower never moves its commit index backwards and never installs
// a snapshot at or below what it has committed.

import type { LogIndex, Message, Term } from './types.ts';
import type { Raft } from './raft.ts';

export function stepFollower(r: Raft, m: Message): void {
  const role = r.role;
  if (role.kind !== 'follower') return;
  switch (m.type) {
    case 'append':
      heardFromLeader(r, m.from);
      handleAppend(r, m);
      return;
    case 'heartbeat':
      heardFromLeader(r, m.from);
      r.log.commitTo(Math.min(m.commit, r.log.lastIndex()) as LogIndex);
      r.onCommitted();
      r.send({ type: 'heartbeatResponse', from: r.id, to: m.from, term: r.term, context: m.context });
      return;
    case 'snapshot':
      heardFromLeader(r, m.from);
      handleSnapshot(r, m);
      return;
    case 'timeoutNow':
      // Leadership transfer (thesis §3.10): campaign at once, skipping pre-vote.
      r.logger.info('campaigning on TimeoutNow', { id: r.id, from: m.from });
      r.campaign('vote', true);
      return;
    case 'readIndex':
      // Only a leader answers; the asker will retry with the leader it learns of.
      r.send({ type: 'readIndexResponse', from: r.id, to: m.from, term: r.term, context: m.context, index: 0 as LogIndex, reject: true });
      return;
    case 'readIndexResponse':
      r.readStates.push({ context: m.context, index: m.reject ? null : m.index });
      return;
    case 'transferLeadership':
      if (role.leader !== null) r.send({ ...m, from: r.id, to: role.leader, term: r.term });
      return;
    default:
      return;
  }
}

function heardFromLeader(r: Raft, from: Message['from']): void {
  r.electionElapsed = 0;
  const role = r.role;
  if (role.kind === 'follower' && role.leader !== from) r.role = { kind: 'follower', leader: from };
}

function handleAppend(r: Raft, m: Extract<Message, { type: 'append' }>): void {
  const reply = (index: LogIndex, reject: boolean, hintIndex: LogIndex, hintTerm: Term): void =>
    r.send({ type: 'appendResponse', from: r.id, to: m.from, term: r.term, index, reject, hintIndex, hintTerm });
  if (m.prevIndex < r.log.committed) {
    // Already committed here: whatever this carries is in our log (Log Matching).
    reply(r.log.committed, false, 0 as LogIndex, 0 as Term);
    return;
  }
  const result = r.log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries);
  if (result !== null) {
    // Keep the config history in step with what was appended (entries that matched were already counted).
    r.onAppended(result.appended);
    r.onCommitted();
    reply(result.lastNew, false, 0 as LogIndex, 0 as Term);
    return;
  }
  // Reject with a hint: the last index <= prevIndex whose term is <= prevTerm (etcd's
  // optimisation of §5.3's "optimisation"), so the leader skips a whole term per round trip.
  const hintIndex = r.log.findConflictByTerm(Math.min(m.prevIndex, r.log.lastIndex()) as LogIndex, m.prevTerm);
  reply(m.prevIndex, true, hintIndex, r.log.term(hintIndex) ?? (0 as Term));
}

function handleSnapshot(r: Raft, m: Extract<Message, { type: 'snapshot' }>): void {
  const snap = m.snapshot;
  const reply = (index: LogIndex): void =>
    r.send({ type: 'appendResponse', from: r.id, to: m.from, term: r.term, index, reject: false, hintIndex: 0 as LogIndex, hintTerm: 0 as Term });
  if (snap.index <= r.log.committed) {
    reply(r.log.committed);
    return;
  }
  if (r.log.matchTerm(snap.index, snap.term)) {
    // We already hold the snapshot's last entry: just fast-forward commit (§7).
    r.log.commitTo(snap.index);
    r.onCommitted();
    reply(r.log.lastIndex());
    return;
  }
  r.logger.info('installing snapshot', { id: r.id, index: snap.index, term: snap.term });
  r.log.restore(snap);
  r.restoreConfig(snap.index, snap.config);
  reply(snap.index);
}
