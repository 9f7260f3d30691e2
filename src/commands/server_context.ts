// What local commands (CLIENT, INFO, CONFIG, SAVE, COMMAND...) may ask of the
// running server, as an interface, so src/commands never reaches into net,
// replication or the process directly.

import type { Session } from '../net/session.ts';
import type { Keyspace } from '../state/keyspace.ts';

export interface RaftInfo {
  readonly nodeId: string;
  readonly role: string;
  readonly term: number;
  readonly leader: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastLogIndex: number;
  readonly firstLogIndex: number;
  readonly voters: readonly string[];
  readonly learners: readonly string[];
  readonly peers: ReadonlyArray<{ readonly id: string; readonly match: number; readonly mode: string }>;
  /** fdatasyncs of the Raft log since the process started. */
  readonly logFsyncs: number;
  /** Commits of the state database's batch transaction since the process started. */
  readonly stateCommits: number;
}

export interface PersistenceInfo {
  readonly lastSaveMs: number;
  readonly lastSaveOk: boolean;
  readonly saveInProgress: boolean;
  readonly changesSinceSave: number;
  readonly lastSnapshotIndex: number;
}

/** Cluster administration (RAFT commands); membership changes run on the leader. */
export interface RaftAdmin {
  /** Proposes a one-step membership change; resolves when it is applied, or with an error reply. */
  changeMembership(kind: 'addLearner' | 'addVoter' | 'promote' | 'remove', node: string): Promise<import('../../protocol/index.ts').Reply>;
  transferLeadership(node: string): import('../../protocol/index.ts').Reply;
  /** Test-only partitions (started with --enable-fault-injection): drop traffic to/from peers, or heal. */
  fault(action: 'drop' | 'heal', peers: readonly string[]): import('../../protocol/index.ts').Reply;
  /** The cluster transport's connection state ('none' on a single node). */
  transportState(): string;
  /** Every node's announced client and HTTP addresses ("host:port"; http "" when none). */
  nodeAddresses(): ReadonlyArray<{ readonly id: string; readonly resp: string; readonly http: string }>;
}

export interface ServerContext {
  readonly raftAdmin: RaftAdmin;
  readonly startedAtMs: number;
  readonly runId: string;
  /** Effective configuration, by Redis parameter name (CONFIG GET). */
  readonly config: ReadonlyMap<string, string>;
  readonly requirePass: string | null;
  readonly tcpPort: number;
  sessions(): Iterable<Session>;
  /** Counters for INFO stats/clients (name → value). */
  netStats(): Readonly<Record<string, number>>;
  raftInfo(): RaftInfo;
  persistence(): PersistenceInfo;
  /** Local (possibly stale) view of the keyspace for INFO keyspace and memory figures. */
  keyspace(): Keyspace;
  stateBytes(): number;
  /** SAVE: a consistent snapshot of the state file, resolved when it is durable. */
  save(): Promise<void>;
  /** BGSAVE: starts a snapshot; false if one is already running. */
  bgsave(): boolean;
  commandStats(): ReadonlyMap<string, { calls: number; usec: number; failed: number }>;
}
