// A typed client of the admin API over HTTPS, for the admin CLI and tests. The server is trusted by
// a PEM CA (its self-signed certificate works), or pinned by the SHA-256 fingerprint of its
// certificate (hex, colons optional), or by the system roots.
//
//   const r = await api.route(routes.requestsCreate, { body: { deployment, services, reason, duration } });
//   await api.route(routes.requestsApprove, { params: { id: r.id } });
//
// `route` calls a declared route (routes/): path parameters filled in and percent-encoded, the query
// encoded, the answer typed as declared. `call` and `raw` take a method and path as strings, for
// the tests that send what no declaration allows.
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { ControlError } from './errors.ts';
import { pathOf, queryOf, type ResponseOf, type Route, type RouteArgs } from './routes/route.ts';
import { login } from './routes/session.ts';

export interface ApiClientOptions {
  /** https://host:port */
  server: string;
  token?: string;
  ca?: string;
  fingerprint?: string;
  /** Largest response body; default 16 MiB. */
  maxBody?: number;
  signal?: AbortSignal;
}

/** A non-2xx answer: `code` is the API's error code, `status` the HTTP status. */
export class ApiError extends ControlError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(code, message);
  }
}

const normFp = (s: string) => s.replace(/:/g, '').toLowerCase();

/** What `raw` answers: never an exception for an HTTP status. */
export interface RawAnswer<B = unknown> {
  status: number;
  /** Parsed JSON when the answer is JSON, else the text. */
  body: B;
  text: string;
  headers: IncomingHttpHeaders;
}

/** The API's error body. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

const inputOf = (input: unknown) =>
  (input ?? {}) as {
    params?: Record<string, string>;
    query?: Record<string, string | number | boolean | undefined>;
    body?: unknown;
  };

export class ApiClient {
  readonly #o: ApiClientOptions;
  constructor(opts: ApiClientOptions) {
    this.#o = opts;
  }

  withToken(token: string): ApiClient {
    return new ApiClient({ ...this.#o, token });
  }

  /** Raw request: status, headers and parsed JSON (or text) body. Never throws for an HTTP status. */
  raw(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<RawAnswer> {
    const o = this.#o;
    const url = new URL(path, o.server);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          headers: {
            ...(payload !== undefined
              ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
              : {}),
            ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
            ...headers,
          },
          ...(o.ca ? { ca: o.ca } : {}),
          // A pinned request never shares a pooled socket: every connection is checked.
          ...(o.fingerprint ? { rejectUnauthorized: false, agent: false } : {}),
          ...(o.signal ? { signal: o.signal } : {}),
        },
        (res) => {
          if (o.fingerprint) {
            const got = (res.socket as TLSSocket).getPeerCertificate?.().fingerprint256 ?? '';
            if (normFp(got) !== normFp(o.fingerprint)) {
              req.destroy(
                new ControlError('TLS_PIN', `server certificate fingerprint ${got} is not the pinned one`),
              );
              return;
            }
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > (o.maxBody ?? 16 << 20)) {
              req.destroy(new ControlError('TOO_LARGE', 'response too large'));
              return;
            }
            chunks.push(c);
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            if ((res.headers['content-type'] ?? '').includes('json')) {
              try {
                parsed = JSON.parse(text);
              } catch {
                /* leave as text */
              }
            }
            resolve({ status: res.statusCode ?? 0, body: parsed, text, headers: res.headers });
          });
          res.on('error', reject);
        },
      );
      if (o.fingerprint) {
        req.on('socket', (s) => {
          s.once('secureConnect', () => {
            const got = (s as TLSSocket).getPeerCertificate().fingerprint256 ?? '';
            if (normFp(got) !== normFp(o.fingerprint!))
              req.destroy(
                new ControlError('TLS_PIN', `server certificate fingerprint ${got} is not the pinned one`),
              );
          });
        });
      }
      req.on('error', (e) =>
        reject(
          e instanceof ControlError
            ? e
            : new ControlError('CONNECT', `${url.origin}: ${e.message}`, { cause: e, retryable: true }),
        ),
      );
      req.end(payload);
    });
  }

  /** JSON request; throws ApiError for a non-2xx status. */
  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.raw(method, path, body);
    if (r.status >= 200 && r.status < 300) return r.body as T;
    const e = (r.body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(r.status, e?.code ?? `HTTP_${r.status}`, e?.message ?? r.text.slice(0, 200));
  }

  /**
   * Calls a declared route with its path parameters, query and body; answers its declared
   * response. Throws ApiError for a non-2xx status, as `call` does.
   */
  route<R extends Route>(r: R, ...[input]: RouteArgs<R>): Promise<ResponseOf<R>> {
    const i = inputOf(input);
    return this.call<ResponseOf<R>>(r.method, pathOf(r.path, i.params) + queryOf(i.query), i.body);
  }

  /**
   * A declared route, raw: status, headers and body (the declared response when 2xx, else the
   * error body). Never throws for an HTTP status; `headers` are sent as well (a cookie, a CSRF token).
   */
  routeRaw<R extends Route>(
    r: R,
    input: RouteArgs<R>[0],
    headers: Record<string, string> = {},
  ): Promise<RawAnswer<ResponseOf<R> | ErrorBody>> {
    const i = inputOf(input);
    return this.raw(r.method, pathOf(r.path, i.params) + queryOf(i.query), i.body, headers) as Promise<
      RawAnswer<ResponseOf<R> | ErrorBody>
    >;
  }

  async login(user: string, password: string): Promise<ApiClient> {
    const r = await this.route(login, { body: { user, password } });
    return this.withToken(r.token);
  }
}
