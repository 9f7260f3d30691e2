// Server-Sent Events for the dashboard (`GET /api/events`): every open stream gets the
// same snapshot once a second. Bounded: at most SSE_CLIENTS_MAX streams per node; a
// client whose socket does not drain is dropped rather than buffered without end.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './http_error.ts';

export const SSE_CLIENTS_MAX = 16;
/** A stream with more than this many unsent bytes is closed (a stalled browser tab). */
const SSE_BUFFER_BYTES_MAX = 1024 * 1024;

export class EventHub {
  readonly #clients = new Set<ServerResponse>();

  get size(): number {
    return this.#clients.size;
  }

  /** Opens a stream and sends `first` at once; throws 503 when the limit is reached. */
  open(req: IncomingMessage, res: ServerResponse, first: string): void {
    if (this.#clients.size >= SSE_CLIENTS_MAX) {
      throw new HttpError(503, `too many event streams open (at most ${SSE_CLIENTS_MAX}); poll /api/stats instead`, { 'Retry-After': '5' });
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    // Ask the browser to reconnect after 1 s if the stream breaks.
    res.write('retry: 1000\n\n');
    this.#clients.add(res);
    const drop = (): void => void this.#clients.delete(res);
    req.once('close', drop);
    res.once('close', drop);
    this.#send(res, first);
  }

  broadcast(data: string): void {
    for (const res of this.#clients) this.#send(res, data);
  }

  #send(res: ServerResponse, data: string): void {
    if (res.writableLength > SSE_BUFFER_BYTES_MAX) {
      this.#clients.delete(res);
      res.destroy();
      return;
    }
    res.write(`data: ${data}\n\n`);
  }

  closeAll(): void {
    for (const res of this.#clients) res.end();
    this.#clients.clear();
  }
}
