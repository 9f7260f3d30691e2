// Observation points for metrics: the node and the dispatcher call these at the moment
// something happens (a histogram needs each sample); the HTTP admin module installs
// real ones. No-ops by default, so nothing depends on metrics being enabled.

export interface Observers {
  /** One fsync of the Raft log, in seconds. */
  fsyncSeconds(seconds: number): void;
  /** Entries proposed by this node (client writes, forwarded writes, internal entries). */
  proposed(count: number): void;
  /** Forwarded writes: sent or re-sent by this follower, received by this leader. */
  forwarded(event: 'sent' | 'retried' | 'received'): void;
  /** One command executed, its latency in seconds (for a write: until its reply). */
  command(name: string, seconds: number, failed: boolean): void;
}

export function noObservers(): Observers {
  return { fsyncSeconds() {}, proposed() {}, forwarded() {}, command() {} };
}
