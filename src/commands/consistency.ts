// The read consistency a client chose (RAFT CONSISTENCY): linearizable (default: a read
// point confirmed by the leader), lease (the leader answers from its lease, trusting
// bounded clock drift), or stale (this node's state as it is, possibly behind; still
// after the client's own writes). Kept per connection, on the node it talks to.

import type { Session } from '../net/session.ts';

export type Consistency = 'linearizable' | 'lease' | 'stale';

const levels = new WeakMap<Session, Consistency>();

export const consistencyOf = (s: Session): Consistency => levels.get(s) ?? 'linearizable';

export function setConsistency(s: Session, c: Consistency): void {
  if (c === 'linearizable') levels.delete(s);
  else levels.set(s, c);
}
