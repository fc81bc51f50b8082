// What the engineer's tools do, in-process: dial a tailnet name through the engineer agent's SOCKS5
// proxy (RFC 1928, no authentication, CONNECT by domain name), speak TLS with the grant's client
// certificate, and send one HTTP/1.1 request.
//
//   client ─► 05 01 00                      greeting: version 5, one method, "no authentication"
//          ◄─ 05 00
//   client ─► 05 01 00 03 len name port     CONNECT, address type 3 (domain name)
//          ◄─ 05 rep 00 atyp addr port      rep 0 = succeeded
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface ClientCert {
  keyPem: string;
  certPem: string;
  /** The coordinator's root: it issued the services' certificates. */
  caPem: string;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Longest answer body kept (the lab's queries are small). */
const MAX_BODY = 1 << 20;

/** Opens a TCP stream to `host:port` through a SOCKS5 proxy. */
export function socks5Connect(
  proxy: { host: string; port: number },
  host: string,
  port: number,
  signal: AbortSignal,
): Promise<Socket> {
  const name = Buffer.from(host, 'ascii');
  if (name.length > 255) return Promise.reject(new Error(`host name too long for SOCKS5: ${host}`));
  return new Promise((resolve, reject) => {
    const s = connect(proxy.port, proxy.host);
    let buf = Buffer.alloc(0);
    let stage: 'greeting' | 'connect' = 'greeting';
    const fail = (why: string): void => {
      cleanup();
      s.destroy();
      reject(new Error(`SOCKS5 to ${host}:${port}: ${why}`));
    };
    const onAbort = (): void => fail('aborted');
    const cleanup = (): void => {
      signal.removeEventListener('abort', onAbort);
      s.off('data', onData);
      s.off('error', onError);
    };
    const onError = (e: Error): void => fail(e.message);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      if (stage === 'greeting') {
        if (buf.length < 2) return;
        if (buf[0] !== 5 || buf[1] !== 0) return fail('the proxy refused "no authentication"');
        buf = buf.subarray(2);
        stage = 'connect';
        const req = Buffer.alloc(7 + name.length);
        req.set([5, 1, 0, 3, name.length]);
        name.copy(req, 5);
        req.writeUInt16BE(port, 5 + name.length);
        s.write(req);
      }
      if (buf.length < 5) return;
      if (buf[1] !== 0) return fail(`the proxy answered reply code ${buf[1]} (the name is unreachable)`);
      const atyp = buf[3];
      const len = atyp === 1 ? 4 : atyp === 4 ? 16 : 1 + buf[4];
      if (buf.length < 4 + len + 2) return;
      cleanup();
      const rest = buf.subarray(4 + len + 2);
      if (rest.length) s.unshift(rest);
      resolve(s);
    };
    if (signal.aborted) return fail('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    s.on('data', onData);
    s.on('error', onError);
    s.once('connect', () => s.write(Buffer.from([5, 1, 0])));
  });
}

/** TLS over `raw` with a client certificate, checking the server's name against `caPem`. */
export function tlsOver(raw: Socket, servername: string, cert: ClientCert): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const t = tlsConnect({
      socket: raw,
      servername,
      ca: cert.caPem,
      cert: cert.certPem,
      key: cert.keyPem,
      ALPNProtocols: ['http/1.1'],
    });
    t.once('secureConnect', () => {
      t.off('error', reject);
      resolve(t);
    });
    t.once('error', reject);
  });
}

/**
 * One HTTPS request to `https://<host>/…` through the SOCKS5 proxy with the client certificate.
 * Resolves with any HTTP status; rejects when the name, TLS or the connection fails.
 */
export async function httpsViaSocks(o: {
  proxy: { host: string; port: number };
  host: string;
  cert: ClientCert;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}): Promise<HttpAnswer> {
  const raw = await socks5Connect(o.proxy, o.host, 443, o.signal);
  let tls: TLSSocket;
  try {
    tls = await tlsOver(raw, o.host, o.cert);
  } catch (e) {
    raw.destroy();
    throw e;
  }
  return new Promise((resolve, reject) => {
    const req = request(
      {
        method: o.method ?? 'GET',
        path: o.path,
        headers: {
          host: o.host,
          connection: 'close',
          ...(o.body !== undefined ? { 'content-length': Buffer.byteLength(o.body) } : {}),
          ...o.headers,
        },
        createConnection: () => tls,
        signal: o.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (c: Buffer) => {
          if (n < MAX_BODY) chunks.push(c);
          n += c.length;
        });
        res.on('end', () => {
          tls.destroy();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', (e) => {
      tls.destroy();
      reject(e);
    });
    req.end(o.body);
  });
}
