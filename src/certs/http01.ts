// The ACME http-01 responder: a plain HTTP listener that answers
// GET /.well-known/acme-challenge/<token> with the key authorization while an order is pending,
// and 404 to everything else. It holds no secret (key authorizations are public by design) and at
// most MAX_TOKENS tokens.
import { createServer, type Server } from 'node:http';
import { CertError } from './errors.ts';

const PREFIX = '/.well-known/acme-challenge/';
const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_TOKENS = 64;

export class Http01Responder {
  readonly #tokens = new Map<string, string>();
  #server: Server | undefined;
  /** Requests answered with a key authorization (for tests and metrics). */
  served = 0;

  set(token: string, keyAuthorization: string): void {
    if (!TOKEN.test(token))
      throw new CertError('ACME_FAILED', 'the ACME server sent a malformed challenge token');
    if (this.#tokens.size >= MAX_TOKENS && !this.#tokens.has(token))
      throw new CertError('ACME_FAILED', `more than ${MAX_TOKENS} pending http-01 challenges`);
    this.#tokens.set(token, keyAuthorization);
  }

  delete(token: string): void {
    this.#tokens.delete(token);
  }

  /** Binds the listener; resolves with the bound port. */
  async listen(addr: { host: string; port: number }): Promise<number> {
    const srv = createServer({ headersTimeout: 10_000, requestTimeout: 10_000 }, (req, res) => {
      const path = (req.url ?? '').split('?')[0];
      const token = path.startsWith(PREFIX) ? path.slice(PREFIX.length) : '';
      const auth = req.method === 'GET' && TOKEN.test(token) ? this.#tokens.get(token) : undefined;
      if (auth === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      this.served++;
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(auth);
    });
    this.#server = srv;
    return new Promise<number>((resolve, reject) => {
      srv.once('error', (e) =>
        reject(
          new CertError(
            'CERT_OPTIONS',
            `cannot listen for ACME http-01 on ${addr.host}:${addr.port}: ${e.message}`,
            {
              cause: e,
            },
          ),
        ),
      );
      srv.listen(addr.port, addr.host, () => resolve((srv.address() as { port: number }).port));
    });
  }

  async close(): Promise<void> {
    const srv = this.#server;
    this.#server = undefined;
    if (!srv?.listening) return;
    srv.closeAllConnections();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
}
