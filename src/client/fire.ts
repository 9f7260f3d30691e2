// Fire-and-forget: operations queue, and once per event-loop turn the queue is cut into
// pipelines (at most fireBatchMax operations each, fireBatchesInFlightMax at once) sent
// on the pool. Each operation's callback is called exactly once, with its reply or its
// error, after the same retry policy as the promise API. Bounded: fireQueueMax
// operations outstanding at most. No order between batches (see docs/api.md).

import { ClientClosedError, QueueFullError } from './errors.ts';
import type { ResolvedOptions } from './options.ts';
import type { Pool, Slot } from './pool.ts';
import { afterFailure, startAttempts, type Attempts } from './retry_policy.ts';

export type FireCallback = (err: Error | null, result?: unknown) => void;

type Arg = string | Buffer | number;

interface FireOp {
  readonly command: string;
  readonly args: readonly Arg[];
  readonly cb: FireCallback;
  readonly attempts: Attempts;
  done: boolean;
}

export interface FireDeps {
  readonly pool: Pool;
  readonly options: ResolvedOptions;
  /** A command failed in a way that says the topology may have changed. */
  readonly onTrouble: () => void;
  readonly stats: { retries: number; outcomeUnknown: number };
  readonly retrySafe: (command: string) => boolean;
}

export class FireQueue {
  readonly #d: FireDeps;
  #queue: FireOp[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  #outstanding = 0;
  #inFlight = 0;
  #turn: NodeJS.Immediate | null = null;
  #idle: Array<() => void> = [];
  #closed = false;

  constructor(d: FireDeps) {
    this.#d = d;
  }

  get outstanding(): number {
    return this.#outstanding;
  }

  push(command: string, args: readonly Arg[], cb: FireCallback, idempotent: boolean): void {
    if (this.#closed) return void queueMicrotask(() => cb(new ClientClosedError()));
    if (this.#outstanding >= this.#d.options.fireQueueMax) return void queueMicrotask(() => cb(new QueueFullError(this.#d.options.fireQueueMax)));
    const retrySafe = idempotent || this.#d.retrySafe(command);
    this.#outstanding++;
    this.#queue.push({ command, args, cb, attempts: startAttempts(command, retrySafe, performance.now(), this.#d.options), done: false });
    this.#schedule();
  }

  /** Resolves once every operation queued so far (and any queued meanwhile) has had its callback. */
  flush(): Promise<void> {
    if (this.#outstanding === 0) return Promise.resolve();
    return new Promise((res) => this.#idle.push(res));
  }

  /** Fails whatever is still queued or waiting for a retry with ClientClosedError; in-flight batches finish. */
  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const left = this.#queue;
    this.#queue = [];
    for (const op of left) this.#complete(op, new ClientClosedError());
    if (this.#turn) clearImmediate(this.#turn);
    this.#turn = null;
  }

  #schedule(): void {
    this.#turn ??= setImmediate(() => {
      this.#turn = null;
      this.#pump();
    });
  }

  #pump(): void {
    const { fireBatchMax, fireBatchesInFlightMax } = this.#d.options;
    while (this.#queue.length > 0 && this.#inFlight < fireBatchesInFlightMax) {
      const batch = this.#queue.splice(0, fireBatchMax);
      this.#inFlight++;
      void this.#send(batch).finally(() => {
        this.#inFlight--;
        if (this.#queue.length > 0) this.#schedule();
      });
    }
  }

  async #send(batch: readonly FireOp[]): Promise<void> {
    let slot: Slot;
    try {
      slot = await this.#d.pool.acquire(Math.min(...batch.map((o) => o.attempts.deadlineAt)));
    } catch (e) {
      this.#failed(batch.map((op) => [op, e]));
      return;
    }
    slot.pending++;
    let results: Array<[Error | null, unknown]>;
    try {
      results = ((await slot.redis.pipeline(batch.map((o) => [o.command, ...o.args])).exec()) ?? []) as Array<[Error | null, unknown]>;
    } catch (e) {
      results = batch.map(() => [e instanceof Error ? e : new Error(String(e)), null]);
    } finally {
      this.#d.pool.release(slot);
    }
    let timedOut = false;
    const failed: Array<[FireOp, unknown]> = [];
    batch.forEach((op, i) => {
      const [err, value] = results[i] ?? [new Error('no reply in the pipeline result'), null];
      if (err === null) return this.#complete(op, null, value);
      if (/timed out/i.test(err.message)) timedOut = true;
      failed.push([op, err]);
    });
    if (timedOut) this.#d.pool.discard(slot);
    this.#failed(failed);
  }

  /** Reports the failures that are final; the others go back to the queue together after one backoff. */
  #failed(failures: ReadonlyArray<readonly [FireOp, unknown]>): void {
    if (failures.length === 0) return;
    const later: FireOp[] = [];
    let delayMs = 0;
    const now = performance.now();
    for (const [op, err] of failures) {
      const step = afterFailure(op.attempts, err, now, this.#d.options);
      if (step.kind === 'fail' || this.#closed) {
        if (step.kind === 'fail' && step.error.name === 'OutcomeUnknownError') this.#d.stats.outcomeUnknown++;
        this.#complete(op, step.kind === 'fail' ? step.error : new ClientClosedError());
        continue;
      }
      later.push(op);
      delayMs = Math.max(delayMs, step.delayMs);
    }
    if (later.length === 0) return;
    this.#d.stats.retries += later.length;
    this.#d.onTrouble();
    // One timer for the group: the batch stays together instead of trickling back one by one.
    const t = setTimeout(() => {
      this.#timers.delete(t);
      for (const op of later) this.#queue.push(op);
      this.#schedule();
    }, delayMs);
    this.#timers.add(t);
  }

  #complete(op: FireOp, err: Error | null, value?: unknown): void {
    if (op.done) return;
    op.done = true;
    this.#outstanding--;
    try {
      op.cb(err, value);
    } catch (e) {
      // A throwing callback is the caller's bug: surface it like an EventEmitter listener would.
      process.nextTick(() => {
        throw e;
      });
    }
    if (this.#outstanding === 0) for (const res of this.#idle.splice(0)) res();
  }
}
