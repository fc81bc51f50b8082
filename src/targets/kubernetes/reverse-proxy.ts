// A small HTTP/1.1 reverse proxy over one client Duplex (the router's plaintext side, mTLS already
// terminated), shared by the kubernetes and prometheus targets. node:http parses the client (a
// server that never listens, fed with `emit('connection', duplex)`); a policy decides each request;
// allowed requests go upstream with rewritten headers and the answer streams back (watches,
// `logs -f`) until either side ends or ctx.signal aborts (grant end, revocation).
//
//   client ─► http.Server ─► decide(req) ──refuse──► status + rendered body (counted, onDone)
//                                └─allow─► headers(req) ─► upstream http(s).request ─► pipe back
//   upgrade (SPDY, WebSocket), CONNECT ─► always refused: none of the read APIs we proxy needs one
//   a literal '#' in the request target ─► 400 before the policy: a fragment never belongs in a
//     request (clients strip it), and the target and the policy could read the path differently
//
// Whatever the target adds, the client's credentials (Authorization, Proxy-Authorization, Cookie)
// and hop-by-hop headers never go upstream.
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { ProxyContext, TargetProxy } from '../types.ts';

/** Why a request is not forwarded. */
export interface Refusal {
  status: number;
  /** A short stable word (e.g. Forbidden, secrets, exec): counted and audited. */
  reason: string;
  message: string;
}

/** What the policy sees of one request. */
export interface GateRequest {
  method: string;
  /** The raw request target (path and query), as the client sent it. */
  target: string;
  headers: IncomingHttpHeaders;
}

/** One finished request, for the target's audit and usage counters. */
export interface GateOutcome {
  method: string;
  target: string;
  status: number;
  /** The refusal reason when the proxy refused it itself; 'upstream' when the target failed. */
  refused?: string;
}

export interface ReverseProxyOptions {
  upstream: {
    protocol: 'http:' | 'https:';
    host: string;
    port: number;
    /** PEM CA bundle to verify an https upstream; default the system roots. */
    ca?: string;
    /** Name to verify in the upstream's certificate (and SNI); default the host. */
    servername?: string;
  };
  /** undefined: forward. Called for every request, upgrade and CONNECT included. */
  decide(req: GateRequest, ctx: ProxyContext): Refusal | undefined;
  /** The headers to send upstream, from the client's less credentials and hop-by-hop headers. */
  headers(h: OutgoingHttpHeaders, ctx: ProxyContext): OutgoingHttpHeaders;
  /** Body of a refusal or an upstream failure in the target's own error format. */
  render(r: Refusal): { contentType: string; body: string };
  onDone?(o: GateOutcome, ctx: ProxyContext): void;
  /** Most upstream sockets at once; default 64. */
  maxSockets?: number;
  /** How long the target may take to answer a request (its headers); default RESPONSE_TIMEOUT_MS. */
  responseTimeoutMs?: number;
}

/** Default wait for the target's response headers (a watch's headers come at once). */
export const RESPONSE_TIMEOUT_MS = 30_000;

/** Hop-by-hop headers (RFC 9110 §7.6.1) and client credentials: never forwarded. */
const DROP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'authorization',
  'proxy-authorization',
  'cookie',
]);

/** The client's headers less hop-by-hop ones (including those its Connection header names) and credentials. */
export function baseHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    String(h.connection ?? '')
      .toLowerCase()
      .split(',')
      .map((s) => s.trim()),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || DROP.has(k) || named.has(k)) continue;
    out[k] = v;
  }
  return out;
}

/** A literal '#' (a fragment) in a request target: refused by every target (an encoded %23 is data). */
export function fragmentRefusal(target: string): Refusal | undefined {
  return target.includes('#')
    ? { status: 400, reason: 'fragment', message: "a '#' is not allowed in the request target" }
    : undefined;
}

const RESPONSE_DROP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'trailer',
]);

interface Conn {
  ctx: ProxyContext;
  upstream: Set<http.ClientRequest>;
}

export class ReverseProxy implements TargetProxy {
  readonly #o: ReverseProxyOptions;
  readonly #server: http.Server;
  readonly #agent: http.Agent;
  readonly #conns = new Map<Duplex, Conn>();
  /** Requests refused by the proxy itself, by reason (never reset). */
  readonly refused = new Map<string, number>();
  forwarded = 0;
  #closed = false;

  constructor(o: ReverseProxyOptions) {
    this.#o = o;
    const u = o.upstream;
    const agentOpts = { keepAlive: true, maxSockets: o.maxSockets ?? 64, maxFreeSockets: 8 };
    this.#agent =
      u.protocol === 'https:'
        ? new https.Agent({
            ...agentOpts,
            ...(u.ca ? { ca: u.ca } : {}),
            ...(u.servername ? { servername: u.servername } : {}),
          })
        : new http.Agent(agentOpts);
    this.#server = http.createServer({ requestTimeout: 0 }, (req, res) => this.#request(req, res));
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex) => this.#refuseRaw(req, socket));
    this.#server.on('connect', (req: IncomingMessage, socket: Duplex) => this.#refuseRaw(req, socket));
    this.#server.on('clientError', (_e, socket: Duplex) => {
      this.#count('malformed');
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      socket.destroy();
    });
  }

  serve(client: Duplex, ctx: ProxyContext): void {
    if (this.#closed || ctx.signal.aborted) {
      client.destroy();
      return;
    }
    const conn: Conn = { ctx, upstream: new Set() };
    this.#conns.set(client, conn);
    const onAbort = (): void => {
      for (const r of conn.upstream) r.destroy();
      client.destroy();
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    client.on('error', () => client.destroy());
    client.once('close', () => {
      ctx.signal.removeEventListener('abort', onAbort);
      for (const r of conn.upstream) r.destroy();
      this.#conns.delete(client);
    });
    this.#server.emit('connection', client);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const c of [...this.#conns.keys()]) c.destroy();
    this.#agent.destroy();
    this.#server.close();
  }

  #count(reason: string): void {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
  }

  #conn(req: IncomingMessage): Conn | undefined {
    return this.#conns.get(req.socket);
  }

  #gate(req: IncomingMessage): GateRequest {
    return { method: req.method ?? '', target: req.url ?? '', headers: req.headers };
  }

  /** Refuses an upgrade or CONNECT on the raw socket (node hands those over unparsed). */
  #refuseRaw(req: IncomingMessage, socket: Duplex): void {
    const conn = this.#conn(req);
    const gate = this.#gate(req);
    const r = fragmentRefusal(gate.target) ??
      (conn && this.#o.decide(gate, conn.ctx)) ?? {
        status: 403,
        reason: req.method === 'CONNECT' ? 'connect' : 'upgrade',
        message: `${req.method === 'CONNECT' ? 'CONNECT' : 'protocol upgrades'} are not allowed through this proxy`,
      };
    this.#count(r.reason);
    const { contentType, body } = this.#o.render(r);
    socket.on('error', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${r.status} ${http.STATUS_CODES[r.status] ?? 'Refused'}\r\n` +
        `Content-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    if (conn)
      this.#o.onDone?.(
        { method: gate.method, target: gate.target, status: r.status, refused: r.reason },
        conn.ctx,
      );
  }

  #reply(res: http.ServerResponse, r: Refusal): void {
    const { contentType, body } = this.#o.render(r);
    res.writeHead(r.status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  #request(req: IncomingMessage, res: http.ServerResponse): void {
    const conn = this.#conn(req);
    if (!conn) return void res.destroy();
    const { ctx } = conn;
    const gate = this.#gate(req);
    let reported = false;
    const done = (status: number, refused?: string): void => {
      if (reported) return;
      reported = true;
      this.#o.onDone?.(
        { method: gate.method, target: gate.target, status, ...(refused ? { refused } : {}) },
        ctx,
      );
    };
    const refusal = fragmentRefusal(gate.target) ?? this.#o.decide(gate, ctx);
    if (refusal) {
      this.#count(refusal.reason);
      req.resume();
      this.#reply(res, refusal);
      return done(refusal.status, refusal.reason);
    }
    this.forwarded++;
    const u = this.#o.upstream;
    const headers = this.#o.headers(baseHeaders(req.headers), ctx);
    headers.host = `${u.host.includes(':') ? `[${u.host}]` : u.host}:${u.port}`;
    const up = (u.protocol === 'https:' ? https : http).request({
      agent: this.#agent,
      protocol: u.protocol,
      host: u.host,
      port: u.port,
      method: gate.method,
      path: gate.target,
      headers,
    });
    conn.upstream.add(up);
    const fail = (status: number, reason: string, message: string): void => {
      if (res.headersSent) return void res.destroy();
      this.#count(reason);
      this.#reply(res, { status, reason, message });
      done(status, reason);
    };
    // Until the target answers (headers), at most RESPONSE_TIMEOUT_MS; streams then run freely.
    const waitMs = this.#o.responseTimeoutMs ?? RESPONSE_TIMEOUT_MS;
    const timer = ctx.clock.setTimeout(() => {
      fail(504, 'timeout', `the target did not answer within ${waitMs / 1000} s`);
      up.destroy();
    }, waitMs);
    up.on('response', (ur) => {
      ctx.clock.clearTimeout(timer);
      const out: OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(ur.headers))
        if (v !== undefined && !RESPONSE_DROP.has(k)) out[k] = v;
      res.writeHead(ur.statusCode ?? 502, out);
      // Streams (watch, follow) must reach the client as they come.
      res.flushHeaders();
      ur.pipe(res);
      ur.on('error', () => res.destroy());
      ur.on('close', () => done(ur.statusCode ?? 502));
    });
    up.on('error', (e) => fail(502, 'upstream', `the target did not answer: ${e.message}`));
    up.on('close', () => {
      ctx.clock.clearTimeout(timer);
      conn.upstream.delete(up);
    });
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  }
}
