// router-auth: ClickHouse's HTTP interface for an engineer whose mTLS the router has terminated.
//
//   client ─► http.Server (never listens; fed the router's Duplex) ─► request
//     ├─ path `/` (GET or POST) or `/ping`; anything else → 404
//     ├─ query = URL `query` + "\n" + body (as ClickHouse joins them), at most MAX_QUERY_BYTES
//     ├─ checkQuery(query) refused → 403 "sallyport: refused: …" (audited, counted as a failure)
//     └─ POST to ClickHouse: body = query; headers X-ClickHouse-User/Key = the grant user's (from
//        the reconciler, never from the client); only `default_format` and `query_id` survive from
//        the client's parameters — user/password/database/session/settings (readonly, allow_*) do
//        not, nor any X-ClickHouse-*, Authorization or Cookie header. ClickHouse's own answers,
//        errors 291/164 included, stream back unchanged.
//   ctx.signal (grant end, revocation) destroys the client and any request in flight.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { LocalAuditSink, ProxyContext, TargetProxy } from '../types.ts';
import type { HostPort } from './http.ts';
import { checkQuery } from './sql-gate.ts';
import { MAX_QUERY_BYTES } from './sql-lexer.ts';

export interface ProxyOptions {
  upstream: HostPort;
  service: string;
  /** The grant user's ClickHouse credentials, or undefined when the grant has no user (ended). */
  credentials(grantId: string): { user: string; password: string } | undefined;
  audit: LocalAuditSink;
  /** A query the gate refused (it never reached ClickHouse, so query_log will not count it). */
  onRefused?(grantId: string): void;
}

const PASS_PARAMS = new Set(['default_format', 'query_id']);
const PASS_RESPONSE =
  /^(content-type|content-length|x-clickhouse-[a-z-]+|transfer-encoding|content-encoding)$/;
const MAX_AUDITED_QUERY = 4096;

export class ClickHouseProxy implements TargetProxy {
  readonly #o: ProxyOptions;
  readonly #server: http.Server;
  readonly #ctx = new WeakMap<object, ProxyContext>();
  readonly #live = new Set<Duplex>();

  constructor(o: ProxyOptions) {
    this.#o = o;
    this.#server = http.createServer({ requestTimeout: 0, maxHeaderSize: 16 * 1024 }, (req, res) => {
      const ctx = this.#ctx.get(req.socket);
      if (!ctx) {
        res.destroy();
        return;
      }
      this.#handle(req, res, ctx).catch((e: unknown) => {
        ctx.logger.warn({ err: (e as Error).message }, 'clickhouse proxy request failed');
        if (!res.headersSent)
          this.#reply(res, 502, `sallyport: clickhouse unreachable: ${(e as Error).message}\n`);
        else res.destroy();
      });
    });
    this.#server.on('clientError', (_e, socket) => socket.destroy());
  }

  serve(client: Duplex, ctx: ProxyContext): void {
    try {
      if (ctx.signal.aborted) {
        client.destroy();
        return;
      }
      this.#ctx.set(client, ctx);
      this.#live.add(client);
      const onAbort = () => client.destroy();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      client.once('close', () => {
        ctx.signal.removeEventListener('abort', onAbort);
        this.#live.delete(client);
      });
      client.on('error', () => undefined);
      this.#server.emit('connection', client);
    } catch (e) {
      ctx.logger.warn({ err: (e as Error).message }, 'clickhouse proxy could not serve');
      client.destroy();
    }
  }

  #reply(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  #refuse(res: ServerResponse, ctx: ProxyContext, reason: string, query: string): void {
    this.#o.onRefused?.(ctx.grantId);
    this.#o.audit.append('clickhouse.query.refused', `grant:${ctx.grantId}`, {
      service: this.#o.service,
      engineer: ctx.user,
      reason,
      query: query.slice(0, MAX_AUDITED_QUERY),
    });
    ctx.logger.info({ grantId: ctx.grantId, reason }, 'clickhouse query refused');
    this.#reply(res, 403, `sallyport: refused: ${reason}\n`);
  }

  async #handle(req: IncomingMessage, res: ServerResponse, ctx: ProxyContext): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://clickhouse.invalid');
    if (req.method !== 'GET' && req.method !== 'POST') {
      req.resume();
      return this.#reply(res, 405, 'sallyport: only GET and POST\n');
    }
    if (url.pathname !== '/' && url.pathname !== '/ping') {
      req.resume();
      return this.#reply(res, 404, 'sallyport: only / and /ping are proxied\n');
    }
    if (ctx.notAfter !== null && ctx.clock.wallMs() >= ctx.notAfter) {
      req.resume();
      return this.#refuse(res, ctx, 'the grant has ended', '');
    }
    const cred = this.#o.credentials(ctx.grantId);
    if (!cred) {
      req.resume();
      return this.#refuse(res, ctx, 'the grant has no ClickHouse user (ended or not yet reconciled)', '');
    }
    const body = await readBody(req, MAX_QUERY_BYTES + 1);
    if (body === undefined)
      return this.#reply(res, 413, `sallyport: query longer than ${MAX_QUERY_BYTES} bytes\n`);
    const params = url.searchParams.get('query') ?? '';
    const query = params && body ? `${params}\n${body}` : params || body;
    if (url.pathname === '/ping') return this.#forward(res, ctx, cred, '/ping', 'GET', '');
    const verdict = checkQuery(query);
    if (!verdict.ok) return this.#refuse(res, ctx, verdict.reason, query);
    const pass = new URLSearchParams();
    for (const [k, v] of url.searchParams) if (PASS_PARAMS.has(k) && v.length <= 128) pass.append(k, v);
    const qs = pass.toString();
    return this.#forward(res, ctx, cred, qs ? `/?${qs}` : '/', 'POST', query);
  }

  #forward(
    res: ServerResponse,
    ctx: ProxyContext,
    cred: { user: string; password: string },
    path: string,
    method: string,
    query: string,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const up = http.request(
        {
          host: this.#o.upstream.host,
          port: this.#o.upstream.port,
          method,
          path,
          signal: ctx.signal,
          headers: {
            'X-ClickHouse-User': cred.user,
            'X-ClickHouse-Key': cred.password,
            'Content-Type': 'text/plain; charset=utf-8',
            'Content-Length': Buffer.byteLength(query),
          },
        },
        (ur) => {
          const headers: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(ur.headers))
            if (v !== undefined && PASS_RESPONSE.test(k)) headers[k] = v;
          res.writeHead(ur.statusCode ?? 502, headers);
          ur.pipe(res);
          ur.on('end', resolve);
          ur.on('error', reject);
        },
      );
      up.on('error', reject);
      res.on('close', () => up.destroy());
      up.end(query);
    });
  }

  async close(): Promise<void> {
    for (const c of this.#live) c.destroy();
    this.#live.clear();
    this.#server.close();
  }
}

/** The request body as UTF-8, or undefined when longer than max bytes. */
function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
