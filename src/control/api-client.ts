// A typed client of the admin API over HTTPS, for the admin CLI and tests. The server is trusted by
// a PEM CA (its self-signed certificate works), or pinned by the SHA-256 fingerprint of its
// certificate (hex, colons optional), or by the system roots.
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { ControlError } from './errors.ts';

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

export class ApiClient {
  readonly #o: ApiClientOptions;
  constructor(opts: ApiClientOptions) {
    this.#o = opts;
  }

  withToken(token: string): ApiClient {
    return new ApiClient({ ...this.#o, token });
  }

  /** Raw request: status and parsed JSON (or text) body. Never throws for an HTTP status. */
  raw(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: unknown; text: string }> {
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
            resolve({ status: res.statusCode ?? 0, body: parsed, text });
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

  async login(user: string, password: string): Promise<ApiClient> {
    const r = await this.call<{ token: string }>('POST', '/api/v1/login', { user, password });
    return this.withToken(r.token);
  }
}
