// Owns the per-client state that commands read and change (Redis's `client` struct
// minus the buffers): identity, name, db, protocol, auth, flags, and a view of stats.
// Must not touch sockets: closing and delivering go through the `SessionControl` the
// connection provides. Invariant: `id` is unique per server and never reused.

import type { Reply } from '../../protocol/index.ts';

/** What a session needs from its connection; a detached control is used in unit tests. */
export interface SessionControl {
  closeAfterReply(): void;
  kill(): void;
  /** Queue an unrequested reply (pub/sub message) after all replies due; false if closed. */
  deliver(reply: Reply): boolean;
  readonly closing: 'no' | 'after-reply' | 'now';
  readonly queryBufferBytes: number;
  readonly outputBufferBytes: number;
  readonly pendingReplies: number;
  readonly totalCommands: number;
  readonly netInputBytes: number;
  readonly netOutputBytes: number;
}

export interface SessionInit {
  readonly id: number;
  readonly addr?: string;
  readonly laddr?: string;
  readonly createdAtMs?: number;
  /** False when requirepass is set at connection time. Default true. */
  readonly authenticated?: boolean;
  /** Default: a detached control that records close requests and delivers nothing. */
  readonly control?: SessionControl;
}

/** Redis's CLIENT LIST flag letters, in the order Redis prints them (networking.c). */
const FLAG_ORDER = 'OSMPxbtRBdcuAUreT';

/** One per connection, owned by net, read and mutated by commands. */
export class Session {
  /** Monotonic from 1, as Redis client ids. */
  readonly id: number;
  /** Peer as "ip:port" ("[ip6]:port" for IPv6, as Redis formats it). */
  readonly addr: string;
  /** Local end as "ip:port". */
  readonly laddr: string;
  readonly createdAtMs: number;
  /** Last read or write on the connection (idle timeout, CLIENT LIST idle=). */
  lastInteractionMs: number;
  name = '';
  libName = '';
  libVer = '';
  db = 0;
  /** Replies to commands executed after a change are encoded in the new protocol. */
  protocol: 2 | 3 = 2;
  /** While false and requirepass is set, the decoder applies Redis's pre-AUTH limits. */
  authenticated: boolean;
  /**
   * Lowercased name of the last command (CLIENT LIST cmd=). Net sets it to the first
   * argument before executing; commands may refine it ('client|list') or reset it
   * to 'NULL' for an unknown command, as Redis shows.
   */
  lastCommand = 'NULL';
  /** Redis flag letters maintained by commands (e.g. 'x' in MULTI); see `renderFlags`. */
  readonly flags = new Set<string>();
  /**
   * What the executor keeps per client (transaction, read consistency, reply mode, the
   * order of its commands): created and typed by src/commands (session_state.ts), never
   * read by net. One field instead of a map per concern: every command looks it up.
   */
  commandState: object | null = null;
  readonly #control: SessionControl;

  constructor(init: SessionInit) {
    this.id = init.id;
    this.addr = init.addr ?? '';
    this.laddr = init.laddr ?? '';
    this.createdAtMs = init.createdAtMs ?? 0;
    this.lastInteractionMs = this.createdAtMs;
    this.authenticated = init.authenticated ?? true;
    this.#control = init.control ?? detachedControl();
  }

  /** QUIT: execute nothing more; close once the replies due so far (this one included) are flushed. */
  closeAfterReply(): void {
    this.#control.closeAfterReply();
  }

  /** CLIENT KILL: close now; replies not yet sent are dropped. */
  kill(): void {
    this.#control.kill();
  }

  /**
   * Sends a reply nobody asked for (pub/sub message, RESP3 push) after every reply
   * already due, encoded in the session's current protocol. Returns false if the
   * session is closing. A client that lets such output pile up is closed.
   */
  deliver(reply: Reply): boolean {
    return this.#control.deliver(reply);
  }

  /** 'no', 'after-reply' (QUIT, protocol error, client half-closed) or 'now' (killed). */
  get closing(): 'no' | 'after-reply' | 'now' {
    return this.#control.closing;
  }

  /** Bytes received and not yet turned into commands (CLIENT LIST qbuf=). */
  get queryBufferBytes(): number {
    return this.#control.queryBufferBytes;
  }

  /** Encoded reply bytes not yet accepted by the kernel (CLIENT LIST omem=). */
  get outputBufferBytes(): number {
    return this.#control.outputBufferBytes;
  }

  /** Replies due and not yet written: in-flight promises plus ready replies behind them. */
  get pendingReplies(): number {
    return this.#control.pendingReplies;
  }

  /** Commands this session has executed (CLIENT LIST tot-cmds=). */
  get totalCommands(): number {
    return this.#control.totalCommands;
  }

  get netInputBytes(): number {
    return this.#control.netInputBytes;
  }

  get netOutputBytes(): number {
    return this.#control.netOutputBytes;
  }

  /**
   * CLIENT LIST flags=: the commands' flags plus net's own ('c' close after reply,
   * 'A' close asap), in Redis's order, unknown letters last, 'N' when none.
   */
  renderFlags(): string {
    const all = new Set(this.flags);
    const closing = this.#control.closing;
    if (closing === 'after-reply') all.add('c');
    if (closing === 'now') all.add('A');
    if (all.size === 0) return 'N';
    let out = '';
    for (const letter of FLAG_ORDER) if (all.has(letter)) out += letter;
    for (const letter of all) if (!FLAG_ORDER.includes(letter)) out += letter;
    return out;
  }
}

/** A control for sessions without a connection (unit tests of commands). */
export function detachedControl(): SessionControl {
  let closing: 'no' | 'after-reply' | 'now' = 'no';
  return {
    closeAfterReply() {
      if (closing === 'no') closing = 'after-reply';
    },
    kill() {
      closing = 'now';
    },
    deliver() {
      return false;
    },
    get closing() {
      return closing;
    },
    queryBufferBytes: 0,
    outputBufferBytes: 0,
    pendingReplies: 0,
    totalCommands: 0,
    netInputBytes: 0,
    netOutputBytes: 0,
  };
}
