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
import type { FastifyInstance } from 'fastify';
import { ControlError } from '../errors.ts';
import { bearerToken } from '../bearer.ts';
import { emptyBody, handle } from '../handle.ts';
import { routes } from '../routes/index.ts';
import { IdpRefused, type IdpSignIn } from './idp.ts';
import { SsoContext, type SsoRoutesOptions } from './sso-context.ts';
import { registerDeviceSignIn } from './device-routes.ts';
import { registerConsoleSignIn } from './console-routes.ts';

export type { SsoRoutesOptions } from './sso-context.ts';
export { POLL_WAIT_MS } from './device-routes.ts';
export { safeReturn } from './console-routes.ts';

export function registerSso(app: FastifyInstance, o: SsoRoutesOptions): void {
  const sso = new SsoContext(o);
  handle(app, routes.authMethods, {}, async () => ({
    password: true,
    oidc: o.idp ? { name: o.idp.displayName, issuer: o.idp.issuer, device: o.idp.deviceFlow } : null,
    approvalMaxAgeSeconds: Math.round(o.auth.approvalMaxAgeMs / 1000),
  }));
  registerRefresh(app, sso);
  registerDeviceSignIn(app, sso);
  registerConsoleSignIn(app, sso);
}

/** The CLI's profile token, renewed while the provider still vouches for the person. */
function registerRefresh(app: FastifyInstance, sso: SsoContext): void {
  const { o } = sso;
  handle(app, routes.authRefresh, { preValidation: emptyBody }, async (req) => {
    const token = bearerToken(req);
    if (!token) throw new ControlError('UNAUTHORIZED', 'missing bearer token: sallyport login');
    const s = await o.auth.session(token, 'bearer token unknown or expired: sallyport login again');
    if (s.method !== 'oidc')
      throw new ControlError(
        'REAUTH',
        'a password session is not renewed: sign in again with sallyport login',
      );
    const provider = sso.need();
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
  });
}
