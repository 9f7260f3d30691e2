// Raft's safety properties (paper Figure 3), checked incrementally after every
// step of a simulation: Election Safety, Log Matching, Leader Completeness, State
// Machine Safety, and commit indexes that never go backwards.
// Cost stays linear in what each step adds, so it can run on every step.

import type { Entry, LogIndex, NodeId, Raft, Term } from '../../consensus/index.ts';

export class SafetyViolation extends Error {
  override readonly name = 'SafetyViolation';
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

interface Committed {
  readonly entryTerm: Term;
  readonly data: Uint8Array;
  /** The leader term in which the entry was first known committed. */
  readonly commitTerm: Term;
}

export class SafetyChecker {
  readonly #leaders = new Map<Term, NodeId>();
  /** `index:term` → the entry and the term of the entry before it, as first persisted anywhere. */
  readonly #entries = new Map<string, { data: Uint8Array; prevTerm: Term | undefined }>();
  readonly #applied = new Map<LogIndex, Entry>();
  readonly #committed = new Map<LogIndex, Committed>();
  readonly #commitSeen = new Map<NodeId, LogIndex>();
  readonly #leaderCheckedTerm = new Map<NodeId, Term>();
  readonly #recorded = new Map<NodeId, number>();

  #recordedTo(id: NodeId): number {
    return this.#recorded.get(id) ?? 0;
  }

  /**
   * Election Safety, and Leader Completeness the first time a leader is seen in a term.
   * `persistedLast` is the node's last durable index: a leader counts its own copy
   * towards commitment before its fsync completes, but nothing acts on that commit
   * until it does, so only entries durable on the leader are recorded as committed.
   */
  observe(r: Raft, persistedLast: number = Number.MAX_SAFE_INTEGER): void {
    const st = r.status();
    const prevCommit = this.#commitSeen.get(st.id) ?? 0;
    if (st.commit < prevCommit) throw new SafetyViolation(`${st.id}: commit went back from ${prevCommit} to ${st.commit}`);
    this.#commitSeen.set(st.id, st.commit);
    if (st.role !== 'leader') return;
    const other = this.#leaders.get(st.term);
    if (other !== undefined && other !== st.id) throw new SafetyViolation(`two leaders in term ${st.term}: ${other} and ${st.id}`);
    this.#leaders.set(st.term, st.id);
    if (this.#leaderCheckedTerm.get(st.id) !== st.term) {
      this.#leaderCheckedTerm.set(st.id, st.term);
      this.#checkLeaderCompleteness(r, st.term);
    }
    for (let i = this.#recordedTo(st.id) + 1; i <= Math.min(st.commit, persistedLast); i++) this.#recordCommit(r, i as LogIndex, st.term);
    this.#recorded.set(st.id, Math.max(this.#recordedTo(st.id), Math.min(st.commit, persistedLast)));
  }

  /**
   * A crash forgets what was not persisted, the commit index included (Raft need not
   * persist it): the watermark restarts from what the node recovers.
   */
  crashed(id: NodeId): void {
    this.#commitSeen.delete(id);
    this.#recorded.delete(id);
  }

  /** Log Matching: an (index, term) pair identifies the entry and everything before it. */
  persisted(id: NodeId, entries: readonly Entry[], termAt: (i: LogIndex) => Term | undefined): void {
    for (const e of entries) {
      const key = `${e.index}:${e.term}`;
      const prevTerm = termAt((e.index - 1) as LogIndex);
      const seen = this.#entries.get(key);
      if (seen === undefined) {
        this.#entries.set(key, { data: e.data, prevTerm });
        continue;
      }
      if (!sameBytes(seen.data, e.data)) throw new SafetyViolation(`${id}: entry ${key} differs from another node's`);
      if (seen.prevTerm !== undefined && prevTerm !== undefined && seen.prevTerm !== prevTerm) {
        throw new SafetyViolation(`${id}: entry ${key} follows term ${prevTerm}, elsewhere ${seen.prevTerm}`);
      }
    }
  }

  /** State Machine Safety: no two nodes apply different entries at one index. */
  applied(id: NodeId, e: Entry): void {
    const seen = this.#applied.get(e.index);
    if (seen === undefined) {
      this.#applied.set(e.index, e);
      return;
    }
    if (seen.term !== e.term || !sameBytes(seen.data, e.data)) {
      throw new SafetyViolation(`${id}: applied ${e.index}:${e.term}, another node applied ${e.index}:${seen.term}`);
    }
  }

  appliedCount(): number {
    return this.#applied.size;
  }

  #recordCommit(r: Raft, index: LogIndex, leaderTerm: Term): void {
    if (this.#committed.has(index)) return;
    const t = r.log.term(index);
    const e = t === undefined ? undefined : r.log.slice(index, (index + 1) as LogIndex, 1 << 30, 1)?.[0];
    if (e === undefined) return; // compacted on this leader: it was recorded when committed
    this.#committed.set(index, { entryTerm: e.term, data: e.data, commitTerm: leaderTerm });
  }

  #checkLeaderCompleteness(r: Raft, leaderTerm: Term): void {
    const first = r.log.firstIndex();
    for (const [index, c] of this.#committed) {
      if (c.commitTerm >= leaderTerm || index < first) continue;
      const t = r.log.term(index);
      if (t !== c.entryTerm) {
        throw new SafetyViolation(
          `leader ${r.id} of term ${leaderTerm} lacks entry ${index}:${c.entryTerm} committed in term ${c.commitTerm} (has term ${t})`,
        );
      }
    }
  }
}
