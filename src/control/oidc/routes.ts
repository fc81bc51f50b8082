// Sign-in through the identity provider, on the coordinator's Fastify instance (docs/sso.md):
//
//   GET  /api/v1/auth/methods        what this coordinator offers: password, and the provider if any
//   POST /api/v1/auth/device         the CLI starts a device sign-in: a URL and code for a browser
//   POST /api/v1/auth/device/poll    {handle}: waits (≤ POLL_WAIT_MS) for the person to finish
//   POST /api/v1/auth/refresh        a provider session's token renewed (the provider asked first)
//   GET  /console/sso/start          the console's sign-in: to the provider (code flow + PKCE)
//   GET  /console/sso/callback       back from the provider: session cookie, to the console
//
// The provider's tokens stay here; the browser and the CLI get a sallyport bearer token, which the
// coordinator confirms with the provider every recheck interval (bearer.ts). A console sign-in is
// bound to the browser that started it by a short-lived cookie naming its state; PKCE and the
// nonce are checked by openid-client. Pending sign-ins live in this process (bounded): behind
// several coordinators, a person's browser or CLI must come back to the same one (sticky).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../clock/index.ts';
import type { Logger } from '../logger.ts';
import type { Membership, Store } from '../../store/index.ts';
import { StoreError } from '../../store/index.ts';
import { secret } from '../../store/base.ts';
import { ControlError } from '../errors.ts';
import { bearerToken, type SessionAuth } from '../bearer.ts';
import type { DeviceLoginGuard } from '../device-login.ts';
import { emptyBody, errorSchema } from '../schemas.ts';
import { cookieValue, sessionCookie } from '../console/session.ts';
import { IdpRefused, type IdentityProvider, type IdpSignIn } from './idp.ts';

export interface SsoRoutesOptions {
  store: Store;
  auth: SessionAuth;
  idp: IdentityProvider | undefined;
  clock: Clock;
  logger: Logger;
  /** This coordinator's public https URL: the provider sends the browser back under it. */
  publicUrl: string | undefined;
  sessionTtlMs: number;
  /** Bounds device sign-ins per source (its per-source counter only). */
  deviceGuard: DeviceLoginGuard;
  membershipsChanged(changed: readonly Membership[]): Promise<void>;
}

const FLOW_COOKIE = '__Host-sallyport-sso';
const FLOW_TTL_MS = 10 * 60_000;
const MAX_FLOWS = 10_000;
const MAX_DEVICE = 1_000;
/** How long one device poll waits for the person before answering `pending`. */
export const POLL_WAIT_MS = 20_000;
const hidden = { hide: true } as const;

interface Flow {
  state: string;
  nonce: string;
  verifier: string;
  fresh: boolean;
  returnTo: string;
  expires: number;
}

type DeviceResult =
  | { status: 'approved'; token: string; expiresAt: number; user: string; groups: string[] }
  | { status: 'failed'; message: string };

interface DeviceSignIn {
  done: Promise<DeviceResult>;
  result?: DeviceResult;
  expires: number;
  abort: AbortController;
}

/** A console path to go back to after sign-in; anything else is the console's start. */
export function safeReturn(v: unknown): string {
  if (typeof v !== 'string' || v.length > 512) return '/console/';
  return /^\/console\/[A-Za-z0-9/_.#?=&%:-]*$/.test(v) && !v.includes('//') ? v : '/console/';
}

export function registerSso(app: FastifyInstance, o: SsoRoutesOptions): void {
  const { idp, clock } = o;
  const now = () => Math.floor(clock.wallMs());
  const flows = new Map<string, Flow>();
  const devices = new Map<string, DeviceSignIn>();

  const signIn = async (r: IdpSignIn) => {
    try {
      const s = await o.store.ssoSignIn(r.identity, {
        authTime: r.authTime,
        idpRefresh: r.refreshToken,
        ttlMs: o.sessionTtlMs,
      });
      if (s.changed.length) await o.membershipsChanged(s.changed);
      return s;
    } catch (e) {
      if (e instanceof StoreError && (e.code === 'CONFLICT' || e.code === 'AUTH'))
        throw new ControlError(e.code === 'AUTH' ? 'UNAUTHORIZED' : 'CONFLICT', e.message);
      throw e;
    }
  };
  const need = (): IdentityProvider => {
    if (!idp)
      throw new ControlError(
        'NOT_FOUND',
        'this coordinator has no identity provider configured (--oidc-issuer): sign in with a password',
      );
    return idp;
  };

  app.get('/api/v1/auth/methods', { schema: { response: { '4xx': errorSchema } } }, async () => ({
    password: true,
    oidc: idp ? { name: idp.displayName, issuer: idp.issuer, device: idp.deviceFlow } : null,
    approvalMaxAgeSeconds: Math.round(o.auth.approvalMaxAgeMs / 1000),
  }));

  // ── the CLI: its profile's token, renewed while the provider still vouches for the person ──
  app.post(
    '/api/v1/auth/refresh',
    {
      schema: {
        body: { type: 'object', properties: {}, additionalProperties: false },
        response: { '4xx': errorSchema },
      },
      preValidation: emptyBody,
    },
    async (req: FastifyRequest) => {
      const token = bearerToken(req);
      if (!token) throw new ControlError('UNAUTHORIZED', 'missing bearer token: sallyport login');
      const s = await o.auth.session(token, 'bearer token unknown or expired: sallyport login again');
      if (s.method !== 'oidc')
        throw new ControlError(
          'REAUTH',
          'a password session is not renewed: sign in again with sallyport login',
        );
      const provider = need();
      if (!s.idpRefresh) throw new ControlError('REAUTH', 'this session cannot be renewed: sign in again');
      let r: IdpSignIn;
      try {
        r = await provider.refresh(s.idpRefresh, s.idpSubject ?? '');
      } catch (e) {
        if (e instanceof IdpRefused) {
          await o.store.ssoEnded(token, e.message);
          throw new ControlError('UNAUTHORIZED', `${e.message}: sign in again`);
        }
        throw e;
      }
      const n = await o.store.ssoRotate(token, r.identity, r.refreshToken, o.sessionTtlMs);
      if (n.changed.length) await o.membershipsChanged(n.changed);
      return { token: n.token, expiresAt: n.expiresAt, user: n.user.name };
    },
  );

  // ── the CLI: device authorization grant ──
  app.post(
    '/api/v1/auth/device',
    {
      schema: {
        body: { type: 'object', properties: {}, additionalProperties: false },
        response: { '4xx': errorSchema },
      },
      preValidation: emptyBody,
    },
    async (req: FastifyRequest, reply: FastifyReply) => {
      const provider = need();
      const wait = o.deviceGuard.waitMs(req.ip);
      if (wait > 0) {
        void reply.header('retry-after', String(Math.ceil(wait / 1000)));
        throw new ControlError('RATE_LIMITED', 'too many device sign-ins from this address; try again later');
      }
      prune(devices, now());
      if (devices.size >= MAX_DEVICE)
        throw new ControlError('BUSY', 'too many device sign-ins waiting; try again in a minute', {
          retryable: true,
        });
      o.deviceGuard.started(req.ip);
      const d = await provider.deviceStart();
      const handle = secret('spd_');
      const abort = new AbortController();
      const entry: DeviceSignIn = {
        expires: now() + d.expires_in * 1000,
        abort,
        done: provider
          .devicePoll(d, abort.signal)
          .then(signIn)
          .then(
            (s): DeviceResult => ({
              status: 'approved',
              token: s.token,
              expiresAt: s.expiresAt,
              user: s.user.name,
              groups: s.groups,
            }),
            (e: Error): DeviceResult => ({
              status: 'failed',
              message:
                e instanceof ControlError || e instanceof IdpRefused ? e.message : 'the sign-in failed',
            }),
          )
          .then((r) => (entry.result = r)),
      };
      devices.set(handle, entry);
      return {
        handle,
        userCode: d.user_code,
        verificationUri: d.verification_uri,
        verificationUriComplete: d.verification_uri_complete ?? null,
        expiresIn: d.expires_in,
      };
    },
  );
  app.post(
    '/api/v1/auth/device/poll',
    {
      schema: {
        body: {
          type: 'object',
          properties: { handle: { type: 'string', pattern: '^spd_[A-Za-z0-9_-]{16,64}$' } },
          required: ['handle'],
          additionalProperties: false,
        },
        response: { '4xx': errorSchema },
      },
    },
    async (req: FastifyRequest) => {
      const handle = (req.body as { handle: string }).handle;
      const entry = devices.get(handle);
      if (!entry || (entry.expires <= now() && !entry.result))
        throw new ControlError(
          'NOT_FOUND',
          'no such device sign-in (it expired): start again with sallyport login',
        );
      let timer: { cancel(): void } | undefined;
      const waited = await Promise.race([
        entry.done,
        new Promise<undefined>((r) => {
          const t = clock.setTimeout(() => r(undefined), POLL_WAIT_MS);
          timer = { cancel: () => clock.clearTimeout(t) };
        }),
      ]);
      timer?.cancel();
      if (!waited) return { status: 'pending' };
      devices.delete(handle);
      return waited;
    },
  );
  app.addHook('onClose', async () => {
    for (const d of devices.values()) d.abort.abort();
    devices.clear();
  });

  // ── the console: authorization code flow with PKCE ──
  const callbackUrl = () => {
    if (!o.publicUrl)
      throw new ControlError('CONFIG', 'no --public-url: the console cannot sign in through the provider');
    return new URL('/console/sso/callback', o.publicUrl).href;
  };
  app.get('/console/sso/start', { schema: hidden }, async (req: FastifyRequest, reply: FastifyReply) => {
    const provider = need();
    const q = req.query as Record<string, unknown>;
    const fresh = q.fresh === '1';
    const a = await provider.authorizationUrl(callbackUrl(), fresh);
    prune(flows, now());
    if (flows.size >= MAX_FLOWS)
      throw new ControlError('BUSY', 'too many sign-ins at once; try again shortly');
    flows.set(a.state, { ...a, fresh, returnTo: safeReturn(q.return), expires: now() + FLOW_TTL_MS });
    return reply
      .header('cache-control', 'no-store')
      .header(
        'set-cookie',
        `${FLOW_COOKIE}=${a.state}; Path=/; Max-Age=${FLOW_TTL_MS / 1000}; Secure; HttpOnly; SameSite=Lax`,
      )
      .redirect(a.url, 302);
  });
  app.get('/console/sso/callback', { schema: hidden }, async (req: FastifyRequest, reply: FastifyReply) => {
    const provider = need();
    const q = req.query as Record<string, unknown>;
    const state = typeof q.state === 'string' ? q.state : '';
    const flow = flows.get(state);
    const bound = cookieValue(req.headers.cookie, FLOW_COOKIE) === state;
    if (!flow || flow.expires <= now() || !bound) {
      void reply.code(400).header('cache-control', 'no-store').type('text/html');
      return page(
        'This sign-in is unknown, expired, or was started in another browser. <a href="/console/">Start again</a>.',
      );
    }
    flows.delete(state);
    let s;
    try {
      const r = await provider.callback(new URL(req.url, callbackUrl()), flow);
      s = await signIn(r);
    } catch (e) {
      o.logger.warn({ err: (e as Error).message }, 'console sign-in through the identity provider failed');
      void reply.code(403).header('cache-control', 'no-store').type('text/html');
      return page(`${escapeHtml((e as Error).message)} <a href="/console/">Back</a>.`);
    }
    return reply
      .header('cache-control', 'no-store')
      .header('set-cookie', [
        sessionCookie(s.token, s.expiresAt - now()),
        `${FLOW_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax`,
      ])
      .redirect(flow.returnTo, 302);
  });
}

/** Forgets entries a minute past their end (a finished device sign-in waits that long for its poll). */
function prune<T extends { expires: number; abort?: AbortController }>(m: Map<string, T>, now: number): void {
  for (const [k, v] of m)
    if (v.expires + 60_000 <= now) {
      v.abort?.abort();
      m.delete(k);
    }
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const page = (body: string): string =>
  `<!doctype html><meta charset="utf-8"><title>sallyport sign-in</title><p>${body}</p>`;
