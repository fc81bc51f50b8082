// The relay's HTTP surface before the upgrade: GET /relay with `Upgrade: sallyport-relay`
// becomes the raw frame stream; GET /health answers, GET /metrics with the metrics token; POST /revocations takes a
// coordinator-signed revocation list (its signature is its authentication); anything else is 404.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_REVOCATIONS_LEN } from '../proto/relay/index.ts';
import { bearerMatches, METRICS_REFUSED } from '../util/metrics-http.ts';

export const RELAY_PATH = '/relay';
export const REVOCATIONS_PATH = '/revocations';
export const UPGRADE_TOKEN = 'sallyport-relay';
export const SWITCHING_PROTOCOLS =
  'HTTP/1.1 101 Switching Protocols\r\n' + `Upgrade: ${UPGRADE_TOKEN}\r\n` + 'Connection: Upgrade\r\n\r\n';
export const BAD_UPGRADE = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';
export const BUSY = 'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

function pathOf(req: IncomingMessage): string {
  const u = req.url ?? '';
  const q = u.indexOf('?');
  return q < 0 ? u : u.slice(0, q);
}

/** True for a well-formed relay upgrade request. */
export function isRelayUpgrade(req: IncomingMessage): boolean {
  return (
    req.method === 'GET' &&
    pathOf(req) === RELAY_PATH &&
    (req.headers.upgrade ?? '').toLowerCase() === UPGRADE_TOKEN
  );
}

export interface HttpSurface {
  health(): object;
  metrics(): Promise<{ contentType: string; body: string }>;
  /** The bearer token /metrics requires here; undefined: /metrics is refused (403) on this listener. */
  metricsToken: string | undefined;
  /** A revocation list's body (at most MAX_REVOCATIONS_LEN bytes), or undefined when it was longer. */
  revocations(body: Uint8Array | undefined): { status: number; message: string };
}

/** Reads a request body of at most `max` bytes; undefined (and the rest discarded) when longer. */
function readBody(req: IncomingMessage, max: number, done: (b: Uint8Array | undefined) => void): void {
  const chunks: Buffer[] = [];
  let n = 0;
  req.on('data', (c: Buffer) => {
    n += c.length;
    if (n <= max) chunks.push(c);
  });
  req.on('end', () => done(n <= max ? new Uint8Array(Buffer.concat(chunks)) : undefined));
  req.on('error', () => {});
}

/** The 'request' handler of the relay's HTTPS server. */
export function handleRequest(s: HttpSurface) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = pathOf(req);
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (path === REVOCATIONS_PATH && req.method === 'POST') {
      return readBody(req, MAX_REVOCATIONS_LEN, (b) => {
        const r = s.revocations(b);
        send(r.status, 'text/plain', r.message + '\n');
      });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    if (path === '/health') return send(200, 'application/json', JSON.stringify(s.health()) + '\n');
    if (path === '/metrics') {
      if (s.metricsToken === undefined || !bearerMatches(req.headers.authorization, s.metricsToken))
        return send(s.metricsToken === undefined ? 403 : 401, 'text/plain', METRICS_REFUSED);
      s.metrics().then(
        (m) => send(200, m.contentType, m.body),
        () => send(500, 'text/plain', 'metrics unavailable\n'),
      );
      return;
    }
    if (path === RELAY_PATH) {
      res.writeHead(426, { upgrade: UPGRADE_TOKEN, connection: 'Upgrade', 'content-type': 'text/plain' });
      return void res.end(`use Upgrade: ${UPGRADE_TOKEN}\n`);
    }
    send(404, 'text/plain', 'not found\n');
  };
}
