// The ingress gateway: the customer's query traffic (ClickHouse HTTPS and native TLS) from its
// clients into the deployment — a separate path from the overlay, which never carries query
// traffic. Per connection, in this order, each step refusing (counted, logged) what fails it:
//
//   accept ─► PROXY v2 header (only from --proxy-from; required when configured)
//          ─► client address: --private-only, then the allow list
//          ─► ClientHello (read before TLS): ALPN acme-tls/1 for a pending validation → the
//             tls-alpn-01 certificate, then close
//          ─► route by listener port and server name
//          ─► TLS handshake with the current certificate (a renewal swaps it for new handshakes;
//             open connections keep theirs) ─► TCP to the backend, bytes piped both ways
//
// Refusals close the TCP connection without a TLS alert: nothing about the deployment is told to
// an address that is not allowed.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import { ACME_TLS_ALPN, follow, type CertSource, type TlsAlpn01Responder } from '../certs/index.ts';
import { isPrivateIp, parseIp } from './address.ts';
import type { AllowList } from './allow-list.ts';
import { parseClientHello } from './client-hello.ts';
import { IngressError } from './errors.ts';
import type { IngressMetrics, Refusal } from './metrics.ts';
import { parseProxyV2 } from './proxy-v2.ts';
import type { Route, Routes } from './routes.ts';

export interface IngressOptions {
  listeners: { host: string; port: number }[];
  routes: Routes;
  allow: AllowList;
  /**
   * The certificate. Undefined at first when ACME validates by tls-alpn-01 on this very listener:
   * until useCertificates() gives one, only validation handshakes are answered.
   */
  certs: CertSource | undefined;
  /** Answers ACME tls-alpn-01 validations (when the certificate comes from ACME that way). */
  tlsAlpn01?: TlsAlpn01Responder;
  /** PROXY protocol v2 required on every connection, accepted only from these balancers. */
  proxyFrom?: AllowList;
  /** Clients (after PROXY) must have private, loopback or link-local addresses. */
  privateOnly?: boolean;
  clock: Clock;
  logger: Logger;
  metrics: IngressMetrics;
  /** From accept to a complete ClientHello (and PROXY header), and the TLS handshake: ms; default 10000. */
  helloTimeoutMs?: number;
  /** Connecting to a backend, ms; default 10000. */
  backendTimeoutMs?: number;
  /** Open client connections at most; more are refused. Default 10000. */
  maxConnections?: number;
}

interface Ctx {
  listener: string;
  port: number;
  client: string;
  route: Route;
  helloAt: number;
}

/** Refusal logs at most this often per reason (a scan must not flood the log). */
const REFUSAL_LOG_MS = 1000;

export class IngressServer {
  readonly #o: IngressOptions;
  readonly #servers: Server[] = [];
  readonly #tls: TlsServer;
  readonly #challenge: TlsServer;
  readonly #ctx = new WeakMap<Socket, Ctx>();
  readonly #open = new Set<Socket>();
  readonly #lastLog = new Map<string, number>();
  #unfollow: (() => void) | undefined;
  addresses: { host: string; port: number }[] = [];

  constructor(o: IngressOptions) {
    this.#o = o;
    if (o.privateOnly)
      for (const l of o.listeners) {
        const ip = parseIp(l.host);
        if (!ip || !isPrivateIp(ip))
          throw new IngressError(
            'INGRESS_CONFIG',
            `--private-only: the listener ${l.host}:${l.port} is not on a private address (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, loopback); give the private interface's address`,
          );
      }
    this.#tls = createTlsServer({
      minVersion: 'TLSv1.2',
      handshakeTimeout: o.helloTimeoutMs ?? 10_000,
    });
    if (o.certs) this.useCertificates(o.certs);
    this.#tls.on('secureConnection', (t: TLSSocket) => this.#secure(t));
    this.#tls.on('tlsClientError', (_e, s) => {
      o.metrics.failures.inc({ kind: 'tls' });
      s.destroy();
    });
    // tls-alpn-01: the certificate is chosen per server name from the pending validations
    this.#challenge = createTlsServer({
      ALPNProtocols: [ACME_TLS_ALPN],
      SNICallback: (name, cb) => cb(null, o.tlsAlpn01?.context(name)),
      minVersion: 'TLSv1.2',
      handshakeTimeout: o.helloTimeoutMs ?? 10_000,
    });
    this.#challenge.on('secureConnection', (t: TLSSocket) => {
      o.metrics.acmeValidations.inc();
      o.logger.info(
        { servername: (t as unknown as { servername?: string }).servername },
        'answered an ACME tls-alpn-01 validation',
      );
      t.end();
    });
    this.#challenge.on('tlsClientError', (_e, s) => s.destroy());
    o.metrics.allowEntries.set(o.allow.size);
  }

  /** Serves `certs` from now on (and each new pair it announces). */
  useCertificates(certs: CertSource): void {
    this.#unfollow?.();
    const pair = certs.current();
    this.#tls.setSecureContext({ cert: pair.cert, key: pair.key });
    const unfollow = follow(this.#tls, certs);
    const m = this.#o.metrics;
    m.certNotAfter.set(certs.status().current.notAfterMs / 1000);
    const off = certs.onChange((_p, info) => m.certNotAfter.set(info.notAfterMs / 1000));
    this.#unfollow = () => {
      unfollow();
      off();
    };
    this.#hasCert = true;
  }

  #hasCert = false;

  async start(): Promise<{ host: string; port: number }[]> {
    for (const l of this.#o.listeners) {
      const srv = createServer({ allowHalfOpen: true, pauseOnConnect: false }, (s) =>
        this.#accept(s, l.port === 0 ? (srv.address() as { port: number }).port : l.port),
      );
      srv.maxConnections = this.#o.maxConnections ?? 10_000;
      srv.on('drop', () =>
        this.#o.metrics.refused.inc({ listener: `${l.host}:${l.port}`, reason: 'too-many-connections' }),
      );
      await new Promise<void>((resolve, reject) => {
        srv.once('error', (e) =>
          reject(
            new IngressError('INGRESS_CONFIG', `cannot listen on ${l.host}:${l.port}: ${e.message}`, {
              cause: e,
            }),
          ),
        );
        srv.listen(l.port, l.host, () => resolve());
      });
      this.#servers.push(srv);
      const a = srv.address() as { address: string; port: number };
      this.addresses.push({ host: a.address, port: a.port });
    }
    return this.addresses;
  }

  /** The allow list changed (reload): the gauge follows. */
  allowListChanged(): void {
    this.#o.metrics.allowEntries.set(this.#o.allow.size);
  }

  /** Stops listening and closes every open connection. */
  async stop(): Promise<void> {
    this.#unfollow?.();
    for (const s of this.#open) s.destroy();
    await Promise.all(this.#servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.#servers.length = 0;
  }

  #refuse(s: Socket, listener: string, reason: Refusal, detail: Record<string, unknown>): void {
    this.#o.metrics.refused.inc({ listener, reason });
    const now = this.#o.clock.now();
    if (now - (this.#lastLog.get(reason) ?? -Infinity) >= REFUSAL_LOG_MS) {
      this.#lastLog.set(reason, now);
      this.#o.logger.info({ listener, reason, ...detail }, 'connection refused');
    }
    s.destroy();
  }

  #accept(s: Socket, port: number): void {
    const o = this.#o;
    const listener = `${s.localAddress}:${port}`;
    o.metrics.hot.connection(listener);
    o.metrics.active.inc();
    this.#open.add(s);
    s.once('close', () => {
      this.#open.delete(s);
      o.metrics.active.dec();
    });
    s.on('error', () => s.destroy());
    const peer = s.remoteAddress ?? '';
    if (o.proxyFrom && !o.proxyFrom.allows(peer))
      return this.#refuse(s, listener, 'proxy-untrusted', { peer });
    let buf: Buffer = Buffer.alloc(0);
    let client = o.proxyFrom ? undefined : peer;
    const timer = o.clock.setTimeout(() => {
      s.off('data', onData);
      this.#refuse(s, listener, 'hello-timeout', { peer });
    }, o.helloTimeoutMs ?? 10_000);
    const done = (): void => {
      o.clock.clearTimeout(timer);
      s.off('data', onData);
    };
    const onData = (chunk: Buffer): void => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      if (client === undefined) {
        const p = parseProxyV2(buf);
        if (!p.ok && 'need' in p) return;
        if (!p.ok) {
          done();
          return this.#refuse(s, listener, 'proxy-malformed', { peer, error: p.error });
        }
        buf = buf.subarray(p.header.length);
        client = p.header.command === 'proxy' ? p.header.source.address : peer;
        if (!validating && !this.#admit(s, listener, client)) return done();
        if (buf.length === 0) return;
      }
      const h = parseClientHello(buf);
      if (!h.ok && 'need' in h) return;
      done();
      if (!h.ok) return this.#refuse(s, listener, 'hello-malformed', { client, error: h.error });
      s.pause();
      s.unshift(buf);
      const sni = h.hello.serverName;
      // An ACME validation of a pending order: the CA's address is on no allow list; it is shown
      // only the challenge certificate (public by design), then the connection is closed.
      if (h.hello.alpn.includes(ACME_TLS_ALPN) && o.tlsAlpn01?.context(sni) !== undefined) {
        this.#challenge.emit('connection', s);
        return;
      }
      if (validating && !this.#admit(s, listener, client!)) return;
      const route = o.routes.find(port, sni);
      if (!route) return this.#refuse(s, listener, 'no-route', { client, servername: sni ?? null });
      if (!this.#hasCert) return this.#refuse(s, listener, 'no-certificate', { client });
      this.#ctx.set(s, { listener, port, client, route, helloAt: o.clock.now() });
      this.#tls.emit('connection', s);
    };
    // While a tls-alpn-01 validation is pending the allow list is applied after the ClientHello
    // (the CA's validation connections come from addresses no allow list names); otherwise at once.
    const validating = (o.tlsAlpn01?.pending ?? 0) > 0;
    if (client !== undefined && !validating && !this.#admit(s, listener, client)) return done();
    s.on('data', onData);
  }

  /** --private-only and the allow list, on the client's address. */
  #admit(s: Socket, listener: string, client: string): boolean {
    const o = this.#o;
    if (o.privateOnly) {
      const ip = parseIp(client);
      if (!ip || !isPrivateIp(ip)) {
        this.#refuse(s, listener, 'not-private', { client });
        return false;
      }
    }
    if (!o.allow.allows(client)) {
      this.#refuse(s, listener, 'not-allowed', { client });
      return false;
    }
    return true;
  }

  #secure(t: TLSSocket): void {
    const o = this.#o;
    const raw = (t as unknown as { _parent?: Socket })._parent;
    const ctx = raw ? this.#ctx.get(raw) : undefined;
    if (!ctx) return void t.destroy(); // fail closed: no route known for this socket
    o.metrics.handshake.observe((o.clock.now() - ctx.helloAt) / 1000);
    const b = ctx.route.backend;
    const up = createConnection({ host: b.host, port: b.port, allowHalfOpen: true });
    up.setNoDelay(true);
    t.setNoDelay?.(true);
    const connectTimer = o.clock.setTimeout(
      () => up.destroy(new Error('backend connect timeout')),
      o.backendTimeoutMs ?? 10_000,
    );
    let failed = false;
    const fail = (e: Error): void => {
      if (failed) return;
      failed = true;
      o.metrics.failures.inc({ kind: 'backend' });
      o.logger.warn(
        { route: ctx.route.text, client: ctx.client, err: e.message },
        'backend connection failed',
      );
      t.destroy();
      up.destroy();
    };
    up.once('connect', () => {
      o.clock.clearTimeout(connectTimer);
      o.metrics.hot.proxy(ctx.route.text);
    });
    up.on('error', fail);
    t.on('error', () => up.destroy());
    const hot = o.metrics.hot;
    t.on('data', (d: Buffer) => {
      hot.bytesIn += d.length;
      if (!up.write(d)) t.pause();
    });
    up.on('drain', () => t.resume());
    up.on('data', (d: Buffer) => {
      hot.bytesOut += d.length;
      if (!t.write(d)) up.pause();
    });
    t.on('drain', () => up.resume());
    t.on('end', () => up.end());
    up.on('end', () => t.end());
    t.on('close', () => {
      o.clock.clearTimeout(connectTimer);
      up.destroy();
    });
    up.on('close', () => {
      o.clock.clearTimeout(connectTimer);
      if (!t.writableEnded) t.end();
      // the backend is gone: what it sent is flushed by end(); a client that keeps its side open
      // gets 30 s before the connection is closed under it
      t.setTimeout(30_000, () => t.destroy());
    });
  }
}
