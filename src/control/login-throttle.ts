// Password guessing is slowed where passwords are checked (POST /api/v1/login, POST
// /console/session): after MAX_FAILURES failed sign-ins within WINDOW_MS for one user name, or
// MAX_FAILURES_PER_ADDRESS from one address, further attempts get 429 with Retry-After until the
// window has passed — also with the right password, so a guesser learns nothing. A success clears
// the user's count. Entries are bounded (oldest evicted) and counted on the metrics.
// The routes are recognised by the route the router matched, never by the raw URL: the router
// decodes percent-escapes (`/api/v1/%6cogin` reaches the login handler), so a raw-URL check
// would let such a spelling past the throttle.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../clock/index.ts';

export const WINDOW_MS = 60_000;
export const MAX_FAILURES = 5;
export const MAX_FAILURES_PER_ADDRESS = 20;
const MAX_ENTRIES = 10_000;

interface Entry {
  failures: number;
  since: number;
}

/** The counting: pure apart from the clock. */
export class LoginThrottle {
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Milliseconds until `keys` may try again, or 0. */
  waitMs(keys: readonly { key: string; max: number }[]): number {
    const now = this.#clock.wallMs();
    let wait = 0;
    for (const { key, max } of keys) {
      const e = this.#entries.get(key);
      if (!e) continue;
      if (now - e.since >= WINDOW_MS) {
        this.#entries.delete(key);
        continue;
      }
      if (e.failures >= max) wait = Math.max(wait, e.since + WINDOW_MS - now);
    }
    return wait;
  }

  failed(keys: readonly string[]): void {
    const now = this.#clock.wallMs();
    for (const key of keys) {
      const e = this.#entries.get(key);
      if (e && now - e.since < WINDOW_MS) e.failures++;
      else {
        this.#entries.delete(key);
        this.#entries.set(key, { failures: 1, since: now });
        if (this.#entries.size > MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
      }
    }
  }

  succeeded(key: string): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}

const PATHS = new Set(['/api/v1/login', '/console/session']);

/** Hooks the throttle into the password-checking routes of `app`. */
export function registerLoginThrottle(
  app: FastifyInstance,
  o: { clock: Clock; onThrottled?: () => void },
): LoginThrottle {
  const t = new LoginThrottle(o.clock);
  const keysOf = (req: FastifyRequest) => {
    const user = (req.body as { user?: unknown } | undefined)?.user;
    return {
      user: typeof user === 'string' ? `user:${user.slice(0, 128)}` : undefined,
      address: `ip:${req.ip}`,
    };
  };
  const applies = (req: FastifyRequest) =>
    req.method === 'POST' && req.routeOptions.url !== undefined && PATHS.has(req.routeOptions.url);
  app.addHook('preHandler', async (req: FastifyRequest, reply: FastifyReply) => {
    if (!applies(req)) return;
    const k = keysOf(req);
    const wait = t.waitMs([
      ...(k.user ? [{ key: k.user, max: MAX_FAILURES }] : []),
      { key: k.address, max: MAX_FAILURES_PER_ADDRESS },
    ]);
    if (wait === 0) return;
    o.onThrottled?.();
    return reply
      .code(429)
      .header('retry-after', String(Math.ceil(wait / 1000)))
      .send({
        error: {
          code: 'RATE_LIMITED',
          message: `too many failed sign-ins: try again in ${Math.ceil(wait / 1000)} s`,
        },
      });
  });
  app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
    if (!applies(req)) return;
    const k = keysOf(req);
    if (reply.statusCode === 401) t.failed([...(k.user ? [k.user] : []), k.address]);
    else if (reply.statusCode < 300 && k.user) t.succeeded(k.user);
  });
  return t;
}
