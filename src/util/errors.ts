/**
 * The base of every sallyport error: a stable machine-readable `code` (callers branch on it,
 * never on the message), an optional `cause`, and whether retrying may help.
 */
export class SallyportError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, opts: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = opts.retryable ?? false;
  }
}
