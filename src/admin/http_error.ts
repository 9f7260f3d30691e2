// An expected failure of an HTTP request: a status and the text for `{"error": ...}`.
// Anything else thrown while handling a request is a bug (logged, answered 500).

export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, message: string, headers: Readonly<Record<string, string>> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}
