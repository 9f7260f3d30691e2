// Where each node can be reached by clients: its RESP and HTTP addresses, announced
// by the node itself through the log, so every replica answers the same (RAFT NODES,
// SENTINEL, INFO replication). Deterministic upserts only.

import type { StateDatabase } from './database.ts';
import type { Statement } from './sqlite.ts';

export interface NodeAddress {
  readonly id: string;
  /** "host:port" for RESP clients. */
  readonly resp: string;
  /** "host:port" of the HTTP API, or "" when the node runs none. */
  readonly http: string;
}

export class NodeAddresses {
  readonly #state: StateDatabase;
  readonly #put: Statement;
  readonly #all: Statement;

  constructor(state: StateDatabase) {
    this.#state = state;
    this.#put = state.sqlite.prepare(
      'INSERT INTO nodes (id, resp_addr, http_addr) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET resp_addr = excluded.resp_addr, http_addr = excluded.http_addr',
    );
    this.#all = state.sqlite.prepare('SELECT id, resp_addr AS resp, http_addr AS http FROM nodes ORDER BY id');
  }

  announce(a: NodeAddress): void {
    this.#state.assertInTransaction('node announcement');
    this.#put.run(a.id, a.resp, a.http);
  }

  all(): NodeAddress[] {
    return this.#all.all() as NodeAddress[];
  }

  get(id: string): NodeAddress | undefined {
    return this.all().find((a) => a.id === id);
  }
}
