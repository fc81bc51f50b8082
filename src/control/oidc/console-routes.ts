// The console's sign-in through the identity provider (authorization code flow with PKCE):
//
//   GET /console/sso/start      to the provider
//   GET /console/sso/callback   back from the provider: session cookie, to the console
//
// Browser redirects and HTML, not JSON: not in the route table. A sign-in is bound to the browser
// that started it by a short-lived cookie naming its state; PKCE and the nonce are checked by
// openid-client. Pending sign-ins live in this process (at most MAX_FLOWS).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ControlError } from '../errors.ts';
import { cookieValue, sessionCookie } from '../console/session.ts';
import { prune, type SsoContext } from './sso-context.ts';

const FLOW_COOKIE = '__Host-sallyport-sso';
const FLOW_TTL_MS = 10 * 60_000;
const MAX_FLOWS = 10_000;
const hidden = { hide: true } as const;

interface Flow {
  state: string;
  nonce: string;
  verifier: string;
  fresh: boolean;
  returnTo: string;
  expires: number;
}

/** A console path to go back to after sign-in; anything else is the console's start. */
export function safeReturn(v: unknown): string {
  if (typeof v !== 'string' || v.length > 512) return '/console/';
  return /^\/console\/[A-Za-z0-9/_.#?=&%:-]*$/.test(v) && !v.includes('//') ? v : '/console/';
}

export function registerConsoleSignIn(app: FastifyInstance, sso: SsoContext): void {
  const { o } = sso;
  const flows = new Map<string, Flow>();
  const callbackUrl = () => {
    if (!o.publicUrl)
      throw new ControlError('CONFIG', 'no --public-url: the console cannot sign in through the provider');
    return new URL('/console/sso/callback', o.publicUrl).href;
  };
  app.get('/console/sso/start', { schema: hidden }, async (req: FastifyRequest, reply: FastifyReply) => {
    const provider = sso.need();
    const q = req.query as Record<string, unknown>;
    const fresh = q.fresh === '1';
    const a = await provider.authorizationUrl(callbackUrl(), fresh);
    prune(flows, sso.now());
    if (flows.size >= MAX_FLOWS)
      throw new ControlError('BUSY', 'too many sign-ins at once; try again shortly');
    flows.set(a.state, { ...a, fresh, returnTo: safeReturn(q.return), expires: sso.now() + FLOW_TTL_MS });
    return reply
      .header('cache-control', 'no-store')
      .header(
        'set-cookie',
        `${FLOW_COOKIE}=${a.state}; Path=/; Max-Age=${FLOW_TTL_MS / 1000}; Secure; HttpOnly; SameSite=Lax`,
      )
      .redirect(a.url, 302);
  });
  app.get('/console/sso/callback', { schema: hidden }, async (req: FastifyRequest, reply: FastifyReply) => {
    const provider = sso.need();
    const q = req.query as Record<string, unknown>;
    const state = typeof q.state === 'string' ? q.state : '';
    const flow = flows.get(state);
    const bound = cookieValue(req.headers.cookie, FLOW_COOKIE) === state;
    if (!flow || flow.expires <= sso.now() || !bound) {
      void reply.code(400).header('cache-control', 'no-store').type('text/html');
      return page(
        'This sign-in is unknown, expired, or was started in another browser. <a href="/console/">Start again</a>.',
      );
    }
    flows.delete(state);
    let s;
    try {
      const r = await provider.callback(new URL(req.url, callbackUrl()), flow);
      s = await sso.signIn(r);
    } catch (e) {
      o.logger.warn({ err: (e as Error).message }, 'console sign-in through the identity provider failed');
      void reply.code(403).header('cache-control', 'no-store').type('text/html');
      return page(`${escapeHtml((e as Error).message)} <a href="/console/">Back</a>.`);
    }
    return reply
      .header('cache-control', 'no-store')
      .header('set-cookie', [
        sessionCookie(s.token, s.expiresAt - sso.now()),
        `${FLOW_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax`,
      ])
      .redirect(flow.returnTo, 302);
  });
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const page = (body: string): string =>
  `<!doctype html><meta charset="utf-8"><title>sallyport sign-in</title><p>${body}</p>`;
