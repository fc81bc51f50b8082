// The console under /console/ and its session, on the coordinator's Fastify instance.
//
//   GET    /console/                 the page (and app.js, console.css, icon.svg)
//   POST   /console/session          {user, password} → store.login; Set-Cookie; {user, groups, csrf, now}
//   GET    /console/session          who is signed in, with the CSRF token; 401 when no one
//   DELETE /console/session          sign out (CSRF)
//   GET    /console/audit            the chain's verification state (administrators)
//
// Everything else the page does goes to the JSON API under /api/v1 with the session cookie. One
// hook bridges the two: a request that carries no Authorization header but a live session cookie
// gets the session's bearer token as its Authorization, after a state-changing request has shown
// the session's CSRF token (header x-csrf-token) and, if the browser sent an Origin, this origin.
// A request with an Authorization header (the CLI, agents, scripts) is left exactly as it was. So
// every permission stays the API's own: the console can do nothing its user's token cannot.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../clock/index.ts';
import type { VerifyKey } from '../../crypto/index.ts';
import { StoreError, type Store, type UserRecord } from '../../store/index.ts';
import { ControlError } from '../errors.ts';
import type { SessionAuth } from '../bearer.ts';
import { handle } from '../handle.ts';
import { routes, type ConsoleSession } from '../routes/index.ts';
import { loadAssets, SECURITY_HEADERS } from './assets.ts';
import { registerConsoleAudit } from './audit-routes.ts';
import {
  clearedCookie,
  CSRF_HEADER,
  csrfToken,
  csrfValid,
  isSafeMethod,
  sessionCookie,
  sessionFromCookie,
  SignedOut,
} from './session.ts';

export interface ConsoleOptions {
  store: Store;
  auth: SessionAuth;
  clock: Clock;
  /** The coordinator's audit checkpoint key: the only key the console's verification trusts. */
  auditKey: VerifyKey;
  /** Lifetime of a console session (its bearer token and cookie). */
  sessionTtlMs: number;
  /** HMAC key of the CSRF tokens; default 32 random bytes now. */
  csrfKey?: Uint8Array;
}

const hidden = { hide: true } as const;

/** What the console's routes share: the CSRF key, the signed-out sessions, who is signed in. */
export class ConsoleContext {
  readonly key: Uint8Array;
  readonly signedOut = new SignedOut();

  constructor(readonly o: ConsoleOptions) {
    this.key = o.csrfKey ?? randomBytes(32);
  }

  now(): number {
    return Math.floor(this.o.clock.wallMs());
  }

  /** The session's token and user; 401 when the cookie names no live session. */
  async userOf(req: FastifyRequest): Promise<{ token: string; user: UserRecord }> {
    const token = sessionFromCookie(req.headers.cookie);
    if (!token || this.signedOut.has(token, this.now()))
      throw new ControlError('UNAUTHORIZED', 'not signed in: sign in to the console');
    // req.user: a refusal of this signed-in user is audited like the API's (server.ts).
    const user = await this.o.auth.authenticate(req, token, 'the session ended: sign in again');
    return { token, user };
  }

  /** What GET /console/session answers: the person, their groups and customer, the CSRF token. */
  async view(token: string, user: UserRecord, signIn: FastifyRequest['signIn']): Promise<ConsoleSession> {
    const a = await this.o.store.accessActor(user.name);
    const customer = a.customerOf ? { name: a.customer ?? null, deployments: a.customerOf } : null;
    return {
      user: { name: user.name, admin: user.isAdmin },
      groups: [...a.groups],
      signIn,
      customer,
      csrf: csrfToken(this.key, token),
      now: this.now(),
    };
  }
}

export function registerConsole(app: FastifyInstance, o: ConsoleOptions): void {
  const c = new ConsoleContext(o);
  registerBridge(app, c);
  registerAssets(app);
  registerSession(app, c);
  registerInvite(app, c);
  registerConsoleAudit(app, c);
}

/**
 * The one hook between the console and the API: a request with no Authorization header but a live
 * session cookie gets the session's token as its Authorization, once a state-changing request has
 * shown the CSRF token and (if the browser sent an Origin) this origin.
 */
function registerBridge(app: FastifyInstance, c: ConsoleContext): void {
  const refuse = (reply: FastifyReply, message: string) =>
    reply
      .code(403)
      .header('cache-control', 'no-store')
      .send({ error: { code: 'CSRF', message } });

  app.addHook('onRequest', async (req, reply) => {
    // The route the router matched (it decodes %-escapes: /console/%73ession is the sign-in), else
    // the raw path for a request no route takes.
    const path = req.routeOptions.url ?? req.url.split('?')[0];
    const api = path.startsWith('/api/v1/');
    if (!api && !path.startsWith('/console/')) return;
    if (api && req.headers.authorization !== undefined) return;
    const signIn = (path === '/console/session' || path === '/console/invite') && req.method === 'POST';
    const token = sessionFromCookie(req.headers.cookie);
    if ((token || signIn) && !isSafeMethod(req.method) && !sameOrigin(req))
      return refuse(reply, 'cross-origin request refused: use the console at this address');
    if (!token || c.signedOut.has(token, c.now())) return;
    if (!isSafeMethod(req.method) && !signIn && !csrfValid(c.key, token, req.headers[CSRF_HEADER]))
      return refuse(reply, `missing or wrong ${CSRF_HEADER} header: reload the console and try again`);
    if (api) req.headers.authorization = `Bearer ${token}`;
  });
}

/** The page and its files (not JSON: not in the route table). */
function registerAssets(app: FastifyInstance): void {
  for (const [path, asset] of loadAssets())
    app.get(path, { schema: hidden }, async (_req, reply) => {
      void reply.headers(SECURITY_HEADERS).header('cache-control', 'no-cache').type(asset.type);
      return asset.body;
    });
  app.get('/console', { schema: hidden }, async (_req, reply) => reply.redirect('/console/', 301));
}

function registerSession(app: FastifyInstance, c: ConsoleContext): void {
  const { store } = c.o;
  handle(app, routes.consoleSessionGet, {}, async (req, reply) => {
    void reply.header('cache-control', 'no-store');
    const { token, user } = await c.userOf(req);
    return c.view(token, user, req.signIn);
  });
  handle(app, routes.consoleSessionCreate, {}, async (req, reply) => {
    const b = req.body;
    let s;
    try {
      s = await store.login(b.user, b.password, c.o.sessionTtlMs);
    } catch {
      throw new ControlError('UNAUTHORIZED', 'wrong user name or password, or account disabled');
    }
    void reply
      .header('cache-control', 'no-store')
      .header('set-cookie', sessionCookie(s.token, s.expiresAt - c.now()));
    return c.view(s.token, s.user, { method: 'password', authTime: c.now() });
  });
  handle(app, routes.consoleSessionDelete, {}, async (req, reply) => {
    const token = sessionFromCookie(req.headers.cookie);
    if (token) {
      c.signedOut.add(token, c.now() + c.o.sessionTtlMs, c.now());
      await store.logout(token);
    }
    void reply.header('cache-control', 'no-store').header('set-cookie', clearedCookie());
    return { ok: true };
  });
}

/** An invitation accepted: the customer's person sets their password and is signed in. */
function registerInvite(app: FastifyInstance, c: ConsoleContext): void {
  const { store } = c.o;
  handle(app, routes.consoleInvite, {}, async (req, reply) => {
    const b = req.body;
    let made;
    try {
      made = await store.acceptCustomerInvite(b.token, b.password);
    } catch (e) {
      if (e instanceof StoreError && e.code === 'AUTH') throw new ControlError('UNAUTHORIZED', e.message);
      throw e;
    }
    const s = await store.login(made.user, b.password, c.o.sessionTtlMs);
    void reply
      .header('cache-control', 'no-store')
      .header('set-cookie', sessionCookie(s.token, s.expiresAt - c.now()));
    return c.view(s.token, s.user, { method: 'password', authTime: c.now() });
  });
}

/** True unless the browser named another origin (absent Origin: not a browser's cross-site call). */
function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  return origin === `https://${req.headers.host ?? ''}`;
}
