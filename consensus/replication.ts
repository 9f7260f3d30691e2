// The leader's side: appending proposals, building append messages once per Ready
// (batching, pipelining within each follower's window), counting acknowledgements
// to commit, heartbeats, ReadIndex rounds, check-quorum and leadership transfer.
// Invariant: only entries of the current term are committed by counting (§3.6.2, Figure 8).

import type { Entry, LogIndex, Message, NodeId } from './types.ts';
import type { LeaderState, Raft } from './raft.ts';
import type { ReadMode } from './options.ts';
import { Progress } from './progress.ts';
import { entryBytes } from './storage.ts';
import { hasQuorum, isVoter, members, quorumIndex } from './config.ts';

export function appendAsLeader(r: Raft, s: LeaderState, entries: Entry[]): void {
  r.appendEntries(entries);
  for (const e of entries) {
    s.uncommittedBytes += e.data.length;
    s.uncommitted.index.push(e.index);
    s.uncommitted.bytes.push(e.data.length);
  }
  const self = s.progress.get(r.id);
  if (self) self.maybeUpdate(r.log.lastIndex());
  for (const id of s.progress.keys()) if (id !== r.id) s.dirty.add(id);
  maybeCommit(r, s);
}

/** Makes the progress set match the current config (called on election and on config entries). */
export function syncProgress(r: Raft, s: LeaderState): void {
  const cfg = r.config();
  const want = members(cfg);
  for (const id of [...s.progress.keys()]) if (!want.includes(id)) s.progress.delete(id);
  for (const id of want) {
    if (s.progress.has(id)) continue;
    const p = new Progress((r.log.lastIndex() + 1) as LogIndex, r.opts.inflightMsgsMax, r.opts.inflightBytesMax);
    if (id === r.id) p.maybeUpdate(r.log.lastIndex());
    s.progress.set(id, p);
    if (id !== r.id) s.dirty.add(id);
  }
  if (s.transferee !== null && !isVoter(cfg, s.transferee)) s.transferee = null;
}

export function maybeCommit(r: Raft, s: LeaderState): void {
  const voters = r.config().voters;
  const idx = quorumIndex(voters, (id) => s.progress.get(id)?.match ?? 0);
  if (idx <= r.log.committed || r.log.term(idx) !== r.term) return;
  const before = r.log.committed;
  r.log.commitTo(idx);
  // Committed bytes no longer count against the backpressure bound (no re-read of the log).
  const q = s.uncommitted;
  while (q.head < q.index.length && q.index[q.head]! <= idx) s.uncommittedBytes -= q.bytes[q.head++]!;
  if (q.head > 4096 && q.head * 2 > q.index.length) {
    q.index.splice(0, q.head);
    q.bytes.splice(0, q.head);
    q.head = 0;
  }
  r.onCommitted();
  for (const id of s.progress.keys()) if (id !== r.id) s.dirty.add(id);
  if (before < s.termStart && idx >= s.termStart) releaseWaitingReads(r, s);
  if (!isVoter(r.config(), r.id) && r.configIndex() <= r.log.committed) {
    // Thesis §4.2.2: a leader removed by a committed config steps down.
    r.logger.info('removed from the cluster; stepping down', { id: r.id, term: r.term });
    r.becomeFollower(r.term, null);
  }
}

/** Builds append messages for every peer with something to send; called once per Ready. */
export function flush(r: Raft, s: LeaderState): void {
  if (s.reads.roundWanted) broadcastHeartbeat(r, s);
  if (s.dirty.size === 0) return;
  for (const id of s.dirty) {
    const pr = s.progress.get(id);
    if (pr) sendAppends(r, s, id, pr, s.resend.has(id));
  }
  s.dirty.clear();
  s.resend.clear();
}

/**
 * Sends what `to` lacks, pipelined up to its window. With `resend`, sends at least one
 * (possibly empty) append even when everything was sent: the follower's reply
 * (a rejection if an append was lost) restarts replication.
 */
function sendAppends(r: Raft, s: LeaderState, to: NodeId, pr: Progress, resend: boolean): void {
  const last = r.log.lastIndex();
  let sentAny = false;
  while (!pr.paused()) {
    const hasEntries = pr.next <= last;
    // Nothing new to send: stay quiet unless the follower lacks the commit index (it would
    // otherwise learn it only from the next heartbeat, delaying its applies and reads).
    const quiet = pr.mode.kind === 'replicate' && pr.sentCommit >= Math.min(r.log.committed, pr.match) && !resend;
    if (!hasEntries && (sentAny || quiet)) return;
    if (!sendOneAppend(r, s, to, pr)) return;
    sentAny = true;
    if (pr.mode.kind !== 'replicate' || pr.next > last) return;
  }
}

/** Sends one append (or a snapshot when the entries were compacted); false when nothing was sent. */
function sendOneAppend(r: Raft, s: LeaderState, to: NodeId, pr: Progress): boolean {
  const prevIndex = (pr.next - 1) as LogIndex;
  const prevTerm = r.log.term(prevIndex);
  const entries =
    prevTerm === undefined
      ? null
      : r.log.slice(pr.next, (r.log.lastIndex() + 1) as LogIndex, r.opts.appendBytesMax, r.opts.appendEntriesMax);
  if (prevTerm === undefined || entries === null) {
    if (!pr.recentActive) return false;
    const snapshot = r.log.pendingSnapshot ?? r.log.storage.snapshot();
    pr.becomeSnapshot(snapshot.index);
    r.send({ type: 'snapshot', from: r.id, to, term: r.term, snapshot });
    return true;
  }
  r.send({ type: 'append', from: r.id, to, term: r.term, prevIndex, prevTerm, entries, commit: r.log.committed });
  pr.sentCommit = r.log.committed;
  const lastSent = entries[entries.length - 1];
  switch (pr.mode.kind) {
    case 'replicate':
      if (lastSent) {
        pr.next = (lastSent.index + 1) as LogIndex;
        let bytes = 0;
        for (const e of entries) bytes += entryBytes(e);
        pr.inflights.add(lastSent.index, bytes);
      }
      break;
    case 'probe':
      pr.mode.probeSent = true;
      break;
    case 'snapshot':
      throw new Error('append sent while a snapshot is pending');
  }
  return true;
}

export function broadcastHeartbeat(r: Raft, s: LeaderState): void {
  const round = s.reads.startRound(r.now, r.opts.electionTicksMax * 4);
  for (const [id, pr] of s.progress) {
    if (id === r.id) continue;
    const commit = Math.min(pr.match, r.log.committed) as LogIndex;
    r.send({ type: 'heartbeat', from: r.id, to: id, term: r.term, commit, context: round });
    if (commit > pr.sentCommit) pr.sentCommit = commit;
  }
  // A cluster where this leader is the only voter confirms its rounds by itself.
  releaseReads(r, s, s.reads.ack(r.id, r.id, round, r.config().voters, leaseTicks(r)));
}

export function tickLeader(r: Raft, s: LeaderState): void {
  r.heartbeatElapsed++;
  r.electionElapsed++;
  if (s.transferee !== null && ++s.transferElapsed >= r.opts.electionTicksMin) {
    r.logger.info('leadership transfer timed out', { id: r.id, to: s.transferee });
    s.transferee = null;
  }
  if (r.electionElapsed >= r.opts.electionTicksMin) {
    r.electionElapsed = 0;
    if (r.opts.checkQuorum) {
      const voters = r.config().voters;
      const active = hasQuorum(voters, (id) => id === r.id || s.progress.get(id)?.recentActive === true);
      for (const [id, pr] of s.progress) if (id !== r.id) pr.recentActive = false;
      if (!active && voters.length > 0) {
        // Thesis §6.2: a leader that cannot reach a majority steps down, so clients go elsewhere.
        r.logger.info('lost quorum; stepping down', { id: r.id, term: r.term });
        r.becomeFollower(r.term, null);
        return;
      }
    }
  }
  if (r.heartbeatElapsed >= r.opts.heartbeatTicks) {
    r.heartbeatElapsed = 0;
    broadcastHeartbeat(r, s);
  }
}

export function stepLeader(r: Raft, s: LeaderState, m: Message): void {
  const pr = s.progress.get(m.from);
  switch (m.type) {
    case 'appendResponse': {
      if (!pr) return;
      pr.recentActive = true;
      if (m.reject) {
        const hint = m.hintTerm > 0 ? r.log.findConflictByTerm(m.hintIndex, m.hintTerm) : m.hintIndex;
        if (pr.maybeDecrTo(m.index, hint)) {
          if (pr.mode.kind === 'replicate') pr.becomeProbe();
          s.dirty.add(m.from);
        }
        return;
      }
      const wasPaused = pr.paused();
      if (pr.maybeUpdate(m.index)) {
        if (pr.mode.kind === 'probe') pr.becomeReplicate();
        else if (pr.mode.kind === 'snapshot' && pr.match >= pr.mode.pendingIndex) pr.becomeProbe();
        else if (pr.mode.kind === 'replicate') pr.inflights.freeTo(m.index);
        maybeCommit(r, s);
        s.dirty.add(m.from);
        if (s.transferee === m.from && pr.match === r.log.lastIndex()) sendTimeoutNow(r, m.from);
      } else if (wasPaused && !pr.paused()) {
        s.dirty.add(m.from);
      }
      return;
    }
    case 'heartbeatResponse': {
      if (!pr) return;
      pr.recentActive = true;
      if (pr.mode.kind === 'probe') pr.mode.probeSent = false;
      if (pr.match < r.log.lastIndex() || pr.match < r.log.committed) {
        // An append may have been lost: make room in a full window and poke the follower
        // (etcd's heartbeat-response rule).
        if (pr.mode.kind === 'replicate' && pr.inflights.full()) pr.inflights.freeFirst();
        s.dirty.add(m.from);
        s.resend.add(m.from);
      }
      releaseReads(r, s, s.reads.ack(r.id, m.from, m.context, r.config().voters, leaseTicks(r)));
      return;
    }
    case 'readIndex':
      handleReadRequest(r, s, m.context, m.from);
      return;
    case 'transferLeadership':
      startTransfer(r, s, m.transferee);
      return;
    default:
      return;
  }
}

export function handleReadRequest(r: Raft, s: LeaderState, context: number, from: NodeId | null, mode: ReadMode = r.opts.readMode): void {
  if (r.log.committed < s.termStart) {
    s.reads.waitingForTermCommit.push({ context, from, mode });
    return;
  }
  // A leader handing over leadership stops trusting its lease: the transferee may win at once.
  if (mode === 'lease' && r.opts.checkQuorum && s.transferee === null && r.now < s.reads.leaseUntilTick) {
    answerRead(r, context, from, r.log.committed);
    return;
  }
  s.reads.enqueue(r.log.committed, context, from);
}

function releaseWaitingReads(r: Raft, s: LeaderState): void {
  const waiting = s.reads.waitingForTermCommit;
  s.reads.waitingForTermCommit = [];
  for (const w of waiting) handleReadRequest(r, s, w.context, w.from, w.mode);
}

function releaseReads(r: Raft, _s: LeaderState, reqs: ReturnType<LeaderState['reads']['release']>): void {
  for (const q of reqs) answerRead(r, q.context, q.from, q.index);
}

function answerRead(r: Raft, context: number, from: NodeId | null, index: LogIndex): void {
  if (from === null || from === r.id) r.readStates.push({ context, index });
  else r.send({ type: 'readIndexResponse', from: r.id, to: from, term: r.term, context, index, reject: false });
}

/** Lease length in ticks: the minimum election timeout shrunk by the assumed clock drift (§6.4.1). */
function leaseTicks(r: Raft): number {
  if (!r.opts.checkQuorum) return 0;
  return Math.floor((r.opts.electionTicksMin * (100 - r.opts.leaseDriftPercent)) / 100);
}

export function startTransfer(r: Raft, s: LeaderState, to: NodeId): void {
  if (to === r.id || !isVoter(r.config(), to)) return;
  if (s.transferee === to) return;
  s.transferee = to;
  s.transferElapsed = 0;
  r.logger.info('transferring leadership', { id: r.id, to });
  const pr = s.progress.get(to);
  if (pr && pr.match === r.log.lastIndex()) sendTimeoutNow(r, to);
  else s.dirty.add(to);
}

function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.send({ type: 'timeoutNow', from: r.id, to, term: r.term });
}
