// The Raft node: roles, terms, elections (with pre-vote and check-quorum), the
// public input API and the Ready/advance cycle. Replication lives in replication.ts
// (leader) and follower.ts. Pure and synchronous: inputs are ticks, messages and
// proposals; the only output is ready().
// Invariants: term never decreases; at most one vote per term; a Ready is
// acknowledged by advance() before the next ready() (inputs may arrive in between).

import type { Config, ConfigChange, Entry, HardState, LogIndex, Message, NodeId, ReadState, Term } from './types.ts';
import type { Logger, Prng, ReadMode, ResolvedOptions, RaftOptions } from './options.ts';
import type { ProposeResult, Ready, RoleKind, SoftState, Status } from './ready.ts';
import { resolveOptions } from './options.ts';
import { RaftLog } from './raft_log.ts';
import { Progress } from './progress.ts';
import { ReadTracker } from './read_only.ts';
import { applyConfigChange, decodeConfigChange, encodeConfigChange, isMember, isVoter, members, tallyVotes } from './config.ts';
import * as leader from './replication.ts';
import * as follower from './follower.ts';

export interface LeaderState {
  readonly kind: 'leader';
  readonly progress: Map<NodeId, Progress>;
  readonly reads: ReadTracker;
  /** Peers with something to send; appends are built once per Ready (batching). */
  readonly dirty: Set<NodeId>;
  /** Of the dirty peers, those that must get an append even if it is empty. */
  readonly resend: Set<NodeId>;
  /** First index of this term (the no-op): committed => the leader knows the commit index (§6.4). */
  readonly termStart: LogIndex;
  transferee: NodeId | null;
  transferElapsed: number;
  uncommittedBytes: number;
  /** Entries this leader appended and not yet committed, oldest first: their index and data bytes. */
  readonly uncommitted: { readonly index: number[]; readonly bytes: number[]; head: number };
}

export type Role =
  | { readonly kind: 'follower'; readonly leader: NodeId | null }
  | { readonly kind: 'preCandidate'; readonly votes: Map<NodeId, boolean> }
  | { readonly kind: 'candidate'; readonly votes: Map<NodeId, boolean> }
  | LeaderState;

interface ConfigAt {
  readonly index: LogIndex;
  readonly config: Config;
}

export class Raft {
  readonly id: NodeId;
  readonly opts: ResolvedOptions;
  readonly log: RaftLog;
  readonly logger: Logger;
  readonly #prng: Prng;
  term: Term;
  vote: NodeId | null;
  role: Role = { kind: 'follower', leader: null };
  /** Thesis §4.1: a server uses the latest configuration in its log, committed or not. */
  configs: ConfigAt[];
  /** Ticks since the last election timeout reset (followers, candidates) or check-quorum round (leader). */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTicks = 0;
  /** Ticks since start; stamps lease rounds. */
  now = 0;
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  #prevHard: HardState;
  #prevSoft: SoftState;
  #outstanding: { lastIndex: LogIndex; lastTerm: Term; snapshot: LogIndex | null; appliedTo: LogIndex } | null = null;

  constructor(options: RaftOptions) {
    this.opts = resolveOptions(options);
    this.id = options.id;
    this.logger = this.opts.logger;
    this.#prng = options.prng;
    const { hardState, snapshot } = options.storage.initialState();
    this.log = new RaftLog(options.storage, hardState.commit);
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.configs = [{ index: snapshot.index, config: snapshot.config }];
    this.#scanConfigs(this.log.firstIndex(), (this.log.lastIndex() + 1) as LogIndex);
    this.#prevHard = this.hardState();
    this.#prevSoft = this.softState();
    this.#resetElectionTimer();
  }

  // ---- inputs ----

  tick(): void {
    this.now++;
    if (this.role.kind === 'leader') {
      leader.tickLeader(this, this.role);
      return;
    }
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTicks) {
      this.campaign(this.opts.preVote ? 'preVote' : 'vote', false);
    }
  }

  step(m: Message): void {
    if (m.to !== this.id) throw new Error(`message for ${m.to} stepped into ${this.id}`);
    if (m.term > this.term) {
      if ((m.type === 'vote' || m.type === 'preVote') && !m.transfer && this.#inLease()) {
        // Thesis §4.2.3: a server that heard from a leader within the minimum election
        // timeout ignores vote requests, so a removed or rejoining server cannot disrupt.
        return;
      }
      if (m.type === 'preVote' || (m.type === 'preVoteResponse' && !m.reject)) {
        // A pre-vote is for a future term; it changes no one's term.
      } else {
        const heardLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
        this.becomeFollower(m.term, heardLeader ? m.from : null);
      }
    } else if (m.term < this.term) {
      this.#stepStale(m);
      return;
    }
    switch (m.type) {
      case 'vote':
      case 'preVote':
        this.#handleVoteRequest(m);
        return;
      default:
        break;
    }
    switch (this.role.kind) {
      case 'leader':
        leader.stepLeader(this, this.role, m);
        return;
      case 'candidate':
      case 'preCandidate':
        this.#stepCandidate(m);
        return;
      case 'follower':
        follower.stepFollower(this, m);
        return;
      default: {
        const never: never = this.role;
        throw new Error(`unknown role ${JSON.stringify(never)}`);
      }
    }
  }

  propose(data: Uint8Array): ProposeResult {
    return this.#proposeEntry('normal', data);
  }

  proposeConfigChange(change: ConfigChange): ProposeResult {
    const r = this.role;
    if (r.kind === 'leader') {
      // One change at a time, and only after an entry of this term is committed
      // (the fix to single-server changes in Ongaro's raft-dev post of 2015).
      if (this.log.committed < r.termStart || this.log.committed < this.configIndex()) {
        return { ok: false, reason: 'config-change-pending', leader: this.id };
      }
      const next = applyConfigChange(this.config(), change);
      if (next === this.config() || next.voters.length === 0) {
        return { ok: false, reason: 'config-change-invalid', leader: this.id };
      }
    }
    return this.#proposeEntry('config', encodeConfigChange(change));
  }

  /** Asks for a linearizable read; the answer comes as a ReadState with the same context. */
  /**
   * `mode` 'lease' lets a leader answer at once while its lease holds (check-quorum
   * only; see ReadMode). A follower always asks its leader for a confirmed read index.
   */
  readIndex(context: number, mode: ReadMode = this.opts.readMode): void {
    const r = this.role;
    if (r.kind === 'leader') {
      leader.handleReadRequest(this, r, context, null, mode);
    } else if (r.kind === 'follower' && r.leader !== null) {
      this.send({ type: 'readIndex', from: this.id, to: r.leader, term: this.term, context });
    } else {
      this.readStates.push({ context, index: null });
    }
  }

  transferLeadership(to: NodeId): void {
    const r = this.role;
    if (r.kind === 'leader') leader.startTransfer(this, r, to);
    else if (r.kind === 'follower' && r.leader !== null) {
      this.send({ type: 'transferLeadership', from: this.id, to: r.leader, term: this.term, transferee: to });
    }
  }

  /** The driver could not deliver the snapshot to `to` (ok=false) or delivered it (ok=true). */
  reportSnapshot(to: NodeId, ok: boolean): void {
    const r = this.role;
    const pr = r.kind === 'leader' ? r.progress.get(to) : undefined;
    if (r.kind !== 'leader' || pr?.mode.kind !== 'snapshot') return;
    if (!ok) pr.mode = { kind: 'snapshot', pendingIndex: 0 as LogIndex };
    pr.becomeProbe();
    // Wait for the follower's response (or the next heartbeat) before probing again.
    pr.markProbeSent();
  }

  reportUnreachable(to: NodeId): void {
    const r = this.role;
    const pr = r.kind === 'leader' ? r.progress.get(to) : undefined;
    if (pr?.mode.kind === 'replicate') pr.becomeProbe();
  }

  // ---- output ----

  hasReady(): boolean {
    if (this.role.kind === 'leader') leader.flush(this, this.role);
    return (
      this.msgs.length > 0 ||
      this.readStates.length > 0 ||
      this.log.unstable.length > 0 ||
      this.log.pendingSnapshot !== null ||
      this.log.committed > this.log.applied ||
      !sameHard(this.hardState(), this.#prevHard) ||
      !sameSoft(this.softState(), this.#prevSoft)
    );
  }

  ready(): Ready {
    this.#assertNoReady();
    if (this.role.kind === 'leader') leader.flush(this, this.role);
    const hard = this.hardState();
    const soft = this.softState();
    const entries = this.log.unstable.slice();
    const committedEntries = this.log.nextCommitted(this.opts.applyBytesMax, this.opts.applyEntriesMax);
    const last = entries[entries.length - 1];
    const rd: Ready = {
      softState: sameSoft(soft, this.#prevSoft) ? null : soft,
      hardState: sameHard(hard, this.#prevHard) ? null : hard,
      snapshot: this.log.pendingSnapshot,
      entries,
      messages: this.msgs,
      committedEntries,
      readStates: this.readStates,
    };
    this.msgs = [];
    this.readStates = [];
    this.#prevHard = hard;
    this.#prevSoft = soft;
    this.#outstanding = {
      lastIndex: last?.index ?? (0 as LogIndex),
      lastTerm: last?.term ?? (0 as Term),
      snapshot: this.log.pendingSnapshot?.index ?? null,
      appliedTo: committedEntries[committedEntries.length - 1]?.index ?? this.log.applied,
    };
    return rd;
  }

  advance(): void {
    const o = this.#outstanding;
    if (o === null) throw new Error('advance() without ready()');
    this.#outstanding = null;
    if (o.snapshot !== null) {
      this.log.stableSnapshotTo(o.snapshot);
      this.log.applied = Math.max(this.log.applied, o.snapshot) as LogIndex;
    }
    if (o.lastIndex > 0) this.log.stableTo(o.lastIndex, o.lastTerm);
    this.log.applied = Math.max(this.log.applied, o.appliedTo) as LogIndex;
  }

  status(): Status {
    const r = this.role;
    const cfg = this.config();
    return {
      id: this.id,
      role: r.kind,
      learner: !isVoter(cfg, this.id) && isMember(cfg, this.id),
      term: this.term,
      vote: this.vote,
      leader: this.leader(),
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      firstIndex: this.log.firstIndex(),
      config: cfg,
      transferee: r.kind === 'leader' ? r.transferee : null,
      peers:
        r.kind !== 'leader'
          ? []
          : [...r.progress].map(([id, p]) => ({
              id,
              match: p.match,
              next: p.next,
              mode: p.mode.kind,
              voter: isVoter(cfg, id),
              recentActive: p.recentActive,
            })),
    };
  }

  // ---- shared helpers (used by replication.ts and follower.ts) ----

  config(): Config {
    return this.configs[this.configs.length - 1]!.config;
  }
  configIndex(): LogIndex {
    return this.configs[this.configs.length - 1]!.index;
  }
  leader(): NodeId | null {
    const r = this.role;
    return r.kind === 'leader' ? this.id : r.kind === 'follower' ? r.leader : null;
  }
  /**
   * May campaign: a voter in the latest config, or in one still pending before it. A
   * leader that removed itself and lost leadership before committing the removal may
   * hold the only log that can win; it campaigns and counts votes in its latest config
   * (any majority of which overlaps the previous one's), commits the removal, then steps down.
   */
  promotable(): boolean {
    return this.configs.some((c) => isVoter(c.config, this.id));
  }
  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }
  softState(): SoftState {
    return { role: this.role.kind as RoleKind, leader: this.leader() };
  }
  send(m: Message): void {
    this.msgs.push(m);
  }

  /** Appends to the log and keeps the config history (and a leader's progress set) in step. */
  appendEntries(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    this.log.append(entries);
    this.onAppended(entries);
  }

  onAppended(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const before = this.config();
    while (this.configs.length > 1 && this.configs[this.configs.length - 1]!.index >= first.index) this.configs.pop();
    for (const e of entries) if (e.type === 'config') this.#pushConfig(e);
    if (this.config() !== before && this.role.kind === 'leader') leader.syncProgress(this, this.role);
  }

  /** After commit advanced: forget configs superseded by a committed one. */
  onCommitted(): void {
    while (this.configs.length > 1 && this.configs[1]!.index <= this.log.committed) this.configs.shift();
  }

  restoreConfig(index: LogIndex, config: Config): void {
    this.configs = [{ index, config }];
  }

  becomeFollower(term: Term, leaderId: NodeId | null): void {
    this.#leaveLeader();
    if (term !== this.term) {
      this.term = term;
      this.vote = null;
    }
    this.role = { kind: 'follower', leader: leaderId };
    this.#resetElectionTimer();
  }

  campaign(kind: 'preVote' | 'vote', transfer: boolean): void {
    if (!this.promotable()) return;
    this.#leaveLeader();
    const votes = new Map<NodeId, boolean>([[this.id, true]]);
    let voteTerm: Term;
    if (kind === 'preVote') {
      this.role = { kind: 'preCandidate', votes };
      voteTerm = (this.term + 1) as Term;
    } else {
      this.term = (this.term + 1) as Term;
      this.vote = this.id;
      this.role = { kind: 'candidate', votes };
      voteTerm = this.term;
    }
    this.#resetElectionTimer();
    this.logger.debug('campaign', { id: this.id, kind, term: voteTerm });
    if (tallyVotes(this.config().voters, votes) === 'won') {
      if (kind === 'preVote') this.campaign('vote', transfer);
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const to of this.config().voters) {
      if (to === this.id) continue;
      this.send({ type: kind, from: this.id, to, term: voteTerm, lastIndex, lastTerm, transfer });
    }
  }

  becomeLeader(): void {
    const termStart = (this.log.lastIndex() + 1) as LogIndex;
    const role: LeaderState = {
      kind: 'leader',
      progress: new Map(),
      reads: new ReadTracker(),
      dirty: new Set(),
      resend: new Set(),
      termStart,
      transferee: null,
      transferElapsed: 0,
      uncommittedBytes: 0,
      uncommitted: { index: [], bytes: [], head: 0 },
    };
    this.role = role;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    leader.syncProgress(this, role);
    this.logger.info('became leader', { id: this.id, term: this.term });
    // Thesis §3.6.2 / §6.4: a no-op of the new term lets earlier entries commit and
    // tells the leader which entries are committed.
    leader.appendAsLeader(this, role, [{ term: this.term, index: termStart, type: 'normal', data: new Uint8Array(0) }]);
  }

  // ---- private ----

  #proposeEntry(type: Entry['type'], data: Uint8Array): ProposeResult {
    const r = this.role;
    if (r.kind !== 'leader') return { ok: false, reason: 'not-leader', leader: this.leader() };
    if (r.transferee !== null) return { ok: false, reason: 'transferring', leader: this.id };
    if (data.length > this.opts.proposalBytesMax) return { ok: false, reason: 'too-large', leader: this.id };
    if (r.uncommittedBytes > 0 && r.uncommittedBytes + data.length > this.opts.uncommittedBytesMax) {
      return { ok: false, reason: 'overloaded', leader: this.id };
    }
    const index = (this.log.lastIndex() + 1) as LogIndex;
    leader.appendAsLeader(this, r, [{ term: this.term, index, type, data }]);
    return { ok: true, index, term: this.term };
  }

  #handleVoteRequest(m: Extract<Message, { type: 'vote' | 'preVote' }>): void {
    const leaderId = this.leader();
    const canVote =
      this.vote === m.from ||
      (this.vote === null && leaderId === null) ||
      (m.type === 'preVote' && m.term > this.term);
    const grant = canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm);
    const type = m.type === 'vote' ? 'voteResponse' : 'preVoteResponse';
    // A granted pre-vote answers in the candidate's future term, so it is not mistaken for stale.
    this.send({ type, from: this.id, to: m.from, term: grant ? m.term : this.term, reject: !grant });
    if (grant && m.type === 'vote') {
      this.vote = m.from;
      this.electionElapsed = 0;
    }
  }

  #stepCandidate(m: Message): void {
    const r = this.role;
    if (r.kind !== 'candidate' && r.kind !== 'preCandidate') return;
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // A leader of our term exists (§3.4): yield to it.
        this.becomeFollower(this.term, m.from);
        follower.stepFollower(this, m);
        return;
      case 'voteResponse':
      case 'preVoteResponse': {
        if ((m.type === 'voteResponse') !== (r.kind === 'candidate')) return;
        r.votes.set(m.from, !m.reject);
        const result = tallyVotes(this.config().voters, r.votes);
        if (result === 'won') {
          if (r.kind === 'preCandidate') this.campaign('vote', false);
          else this.becomeLeader();
        } else if (result === 'lost') {
          this.becomeFollower(this.term, null);
        }
        return;
      }
      case 'readIndex':
        this.send({ type: 'readIndexResponse', from: this.id, to: m.from, term: this.term, context: m.context, index: 0 as LogIndex, reject: true });
        return;
      default:
        return;
    }
  }

  /** A message from an older term. */
  #stepStale(m: Message): void {
    if ((this.opts.checkQuorum || this.opts.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
      // Tell a deposed leader about the newer term, or it may never learn of it when
      // pre-vote keeps our side from bumping terms (etcd raft's rationale).
      this.send({ type: 'appendResponse', from: this.id, to: m.from, term: this.term, index: 0 as LogIndex, reject: false, hintIndex: 0 as LogIndex, hintTerm: 0 as Term });
    } else if (m.type === 'preVote') {
      this.send({ type: 'preVoteResponse', from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  #inLease(): boolean {
    const r = this.role;
    return this.opts.checkQuorum && r.kind === 'follower' && r.leader !== null && this.electionElapsed < this.opts.electionTicksMin;
  }

  #leaveLeader(): void {
    const r = this.role;
    if (r.kind !== 'leader') return;
    for (const req of r.reads.drain()) {
      if (req.from === null) this.readStates.push({ context: req.context, index: null });
      else this.send({ type: 'readIndexResponse', from: this.id, to: req.from, term: this.term, context: req.context, index: 0 as LogIndex, reject: true });
    }
  }

  #resetElectionTimer(): void {
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    const { electionTicksMin: lo, electionTicksMax: hi } = this.opts;
    this.randomizedElectionTicks = lo + this.#prng.nextInt(hi - lo);
  }

  #pushConfig(e: Entry): void {
    const next = applyConfigChange(this.config(), decodeConfigChange(e.data));
    this.configs.push({ index: e.index, config: next });
  }

  #scanConfigs(lo: LogIndex, hi: LogIndex): void {
    for (let i: number = lo; i < hi; ) {
      const batch = this.log.slice(i as LogIndex, hi, 64 << 20, 65536) ?? [];
      if (batch.length === 0) break;
      for (const e of batch) if (e.type === 'config') this.#pushConfig(e);
      i += batch.length;
    }
  }

  #assertNoReady(): void {
    if (this.#outstanding !== null) throw new Error('ready() while a Ready is outstanding: call advance() first');
  }
}

export const allMembers = (r: Raft): NodeId[] => members(r.config());

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader;
}
