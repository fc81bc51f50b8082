// /metrics off the public listener: a plain HTTP listener that serves only GET /metrics (bind it to
// a private address: --metrics-listen), and the bearer-token check for /metrics on a public
// listener (--metrics-token-file).
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';

export interface MetricsText {
  contentType: string;
  body: string;
}

/** Anything with prom-client's Registry surface. */
export interface MetricsRegistry {
  contentType: string;
  metrics(): Promise<string>;
}

export const METRICS_REFUSED =
  'metrics are not served on this listener without a token: scrape --metrics-listen, or send ' +
  "'Authorization: Bearer <token>' with the token of --metrics-token-file\n";

/** True when `header` is `Bearer <token>` (compared in constant time). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer ([^\s]+)$/.exec(header ?? '');
  if (!m) return false;
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(m[1]), h(token));
}

/** Reads a metrics token file: one line, at least 16 characters; throws with a message that says why not. */
export function parseMetricsToken(text: string, file: string): string {
  const t = text.trim();
  if (t.length < 16 || /\s/.test(t))
    throw new Error(
      `${file}: a metrics token is one line of at least 16 characters without spaces (e.g. openssl rand -hex 24)`,
    );
  return t;
}

/** Serves GET /metrics of `registry` on host:port; resolves with the bound port. */
export async function serveMetrics(
  registry: MetricsRegistry,
  listen: { host: string; port: number },
): Promise<{ port: number; close: () => Promise<void> }> {
  const server: Server = createServer({ headersTimeout: 10_000, requestTimeout: 10_000 }, (req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(new Error(`cannot listen for /metrics on ${listen.host}:${listen.port}: ${e.message}`)),
    );
    server.listen(listen.port, listen.host, () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : listen.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
