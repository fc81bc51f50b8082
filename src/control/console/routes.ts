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
import { errorSchema, userName } from '../schemas.ts';
import { loadAssets, SECURITY_HEADERS } from './assets.ts';
import { auditExportLines, checkAudit, customerScope, MAX_CONSOLE_VERIFY } from './audit-check.ts';
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
const sessionView = {
  type: 'object',
  properties: {
    user: { type: 'object', properties: { name: { type: 'string' }, admin: { type: 'boolean' } } },
    groups: { type: 'array', items: { type: 'string' } },
    signIn: { type: 'object', properties: { method: { type: 'string' }, authTime: { type: 'integer' } } },
    customer: {
      type: ['object', 'null'],
      properties: {
        name: { type: ['string', 'null'] },
        deployments: { type: 'array', items: { type: 'string' } },
      },
    },
    csrf: { type: 'string' },
    now: { type: 'integer' },
  },
} as const;

export function registerConsole(app: FastifyInstance, o: ConsoleOptions): void {
  const { store, clock } = o;
  const key = o.csrfKey ?? randomBytes(32);
  const assets = loadAssets();
  const signedOut = new SignedOut();
  const now = () => Math.floor(clock.wallMs());

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
    if (!token || signedOut.has(token, now())) return;
    if (!isSafeMethod(req.method) && !signIn && !csrfValid(key, token, req.headers[CSRF_HEADER]))
      return refuse(reply, `missing or wrong ${CSRF_HEADER} header: reload the console and try again`);
    if (api) req.headers.authorization = `Bearer ${token}`;
  });

  const userOf = async (req: FastifyRequest): Promise<{ token: string; user: UserRecord }> => {
    const token = sessionFromCookie(req.headers.cookie);
    if (!token || signedOut.has(token, now()))
      throw new ControlError('UNAUTHORIZED', 'not signed in: sign in to the console');
    // req.user: a refusal of this signed-in user is audited like the API's (server.ts).
    const user = await o.auth.authenticate(req, token, 'the session ended: sign in again');
    return { token, user };
  };
  const view = async (token: string, user: UserRecord, signIn: FastifyRequest['signIn']) => {
    const a = await store.accessActor(user.name);
    const customer = a.customerOf ? { name: a.customer ?? null, deployments: a.customerOf } : null;
    return {
      user: { name: user.name, admin: user.isAdmin },
      groups: [...a.groups],
      signIn,
      customer,
      csrf: csrfToken(key, token),
      now: now(),
    };
  };

  for (const [path, asset] of assets)
    app.get(path, { schema: hidden }, async (_req, reply) => {
      void reply.headers(SECURITY_HEADERS).header('cache-control', 'no-cache').type(asset.type);
      return asset.body;
    });
  app.get('/console', { schema: hidden }, async (_req, reply) => reply.redirect('/console/', 301));

  app.get(
    '/console/session',
    { schema: { ...hidden, response: { 200: sessionView, '4xx': errorSchema } } },
    async (req, reply) => {
      void reply.header('cache-control', 'no-store');
      const { token, user } = await userOf(req);
      return view(token, user, req.signIn);
    },
  );
  app.post(
    '/console/session',
    {
      schema: {
        ...hidden,
        body: {
          type: 'object',
          properties: { user: userName, password: { type: 'string', minLength: 1, maxLength: 1024 } },
          required: ['user', 'password'],
          additionalProperties: false,
        },
        response: { 200: sessionView, '4xx': errorSchema },
      },
    },
    async (req, reply) => {
      const b = req.body as { user: string; password: string };
      let s;
      try {
        s = await store.login(b.user, b.password, o.sessionTtlMs);
      } catch {
        throw new ControlError('UNAUTHORIZED', 'wrong user name or password, or account disabled');
      }
      void reply
        .header('cache-control', 'no-store')
        .header('set-cookie', sessionCookie(s.token, s.expiresAt - now()));
      return view(s.token, s.user, { method: 'password', authTime: now() });
    },
  );
  // An invitation accepted: the customer's person sets their password and is signed in.
  app.post(
    '/console/invite',
    {
      schema: {
        ...hidden,
        body: {
          type: 'object',
          properties: {
            token: { type: 'string', pattern: '^spi_[A-Za-z0-9_-]{16,64}$' },
            password: { type: 'string', minLength: 12, maxLength: 1024 },
          },
          required: ['token', 'password'],
          additionalProperties: false,
        },
        response: { 200: sessionView, '4xx': errorSchema },
      },
    },
    async (req, reply) => {
      const b = req.body as { token: string; password: string };
      let made;
      try {
        made = await store.acceptCustomerInvite(b.token, b.password);
      } catch (e) {
        if (e instanceof StoreError && e.code === 'AUTH') throw new ControlError('UNAUTHORIZED', e.message);
        throw e;
      }
      const s = await store.login(made.user, b.password, o.sessionTtlMs);
      void reply
        .header('cache-control', 'no-store')
        .header('set-cookie', sessionCookie(s.token, s.expiresAt - now()));
      return view(s.token, s.user, { method: 'password', authTime: now() });
    },
  );
  app.delete(
    '/console/session',
    { schema: { ...hidden, response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } } },
    async (req, reply) => {
      const token = sessionFromCookie(req.headers.cookie);
      if (token) {
        signedOut.add(token, now() + o.sessionTtlMs, now());
        await o.store.logout(token);
      }
      void reply.header('cache-control', 'no-store').header('set-cookie', clearedCookie());
      return { ok: true };
    },
  );
  app.get(
    '/console/audit',
    { schema: { ...hidden, response: { '4xx': errorSchema } } },
    async (req, reply) => {
      const { user } = await userOf(req);
      if (!user.isAdmin) throw new ControlError('FORBIDDEN', 'the audit log needs an administrator');
      void reply.header('cache-control', 'no-store');
      return checkAudit(store, o.auditKey, clock);
    },
  );
  // The whole log, verifiable offline (sallyport audit verify FILE --trust-key KEY): a download.
  app.get(
    '/console/audit/export',
    { schema: { ...hidden, response: { '4xx': errorSchema } } },
    async (req, reply) => {
      const { user } = await userOf(req);
      // A customer's person gets its scope in full and the rest elided (still verifiable).
      const a = await store.accessActor(user.name);
      if (!user.isAdmin && !a.customerOf)
        throw new ControlError('FORBIDDEN', 'the audit log needs an administrator');
      const shown = a.customerOf ? await customerScope(store, a.customerOf, a.customer ?? null) : undefined;
      const head = await store.auditHead();
      if (head.seq > MAX_CONSOLE_VERIFY)
        throw new ControlError('BUSY', "the log is too large for the console: use 'sallyport audit export'");
      const at = now();
      const lines = await auditExportLines(store, o.auditKey, at, shown);
      void reply
        .headers(SECURITY_HEADERS)
        .header('cache-control', 'no-store')
        .header('content-type', 'application/jsonl; charset=utf-8')
        .header('content-disposition', `attachment; filename="${exportName(at)}"`);
      return lines.map((l) => `${l}\n`).join('');
    },
  );
}

/** The download name of an export made at `ms`. */
const exportName = (ms: number): string =>
  `sallyport-audit-${new Date(ms)
    .toISOString()
    .replace(/[:.]/g, '-')
    .replace(/-\d{3}Z$/, 'Z')}.jsonl`;

/** True unless the browser named another origin (absent Origin: not a browser's cross-site call). */
function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  return origin === `https://${req.headers.host ?? ''}`;
}
