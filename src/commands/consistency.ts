// The read consistency a client chose (RAFT CONSISTENCY): linearizable (default: a read
// point confirmed by the leader), lease (the leader answers from its lease, trusting
// bounded clock drift), or stale (this node's state as it is, possibly behind; still
// after the client's own writes). Kept per connection, on the node it talks to.

import type { Session } from '../net/session.ts';
import { stateOf, type Consistency } from './session_state.ts';

export type { Consistency };

export const consistencyOf = (s: Session): Consistency => stateOf(s).consistency;

export function setConsistency(s: Session, c: Consistency): void {
  stateOf(s).consistency = c;
}
