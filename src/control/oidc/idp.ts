// The coordinator as an OpenID Connect client of the company's identity provider (openid-client):
// discovery, the console's authorization code flow with PKCE, the CLI's device authorization
// grant, and the refresh that asks the provider, now and then, whether a person still has access.
// Only HTTPS; the provider's CA may be given (`ca`), else the system's. The client secret and the
// provider's tokens never leave the coordinator.
import { request as httpsRequest } from 'node:https';
import * as oc from 'openid-client';
import type { SsoIdentity } from '../../store/index.ts';
import { ControlError } from '../errors.ts';
import { identityFromClaims, type ClaimMapping } from './claims.ts';

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Scopes asked for; default openid profile email groups offline_access. */
  scopes: string[];
  mapping: Omit<ClaimMapping, 'issuer'>;
  /** PEM CA(s) to trust for the provider's TLS; default the system's. */
  ca?: string;
  /** How often a session is confirmed with the provider (a refresh), ms. */
  recheckMs: number;
  /** A display name for the sign-in button; default the issuer's host. */
  displayName?: string;
}

export const DEFAULT_SCOPES = ['openid', 'profile', 'email', 'groups', 'offline_access'];

/** A signed-in person as the provider vouches for them. */
export interface IdpSignIn {
  identity: SsoIdentity;
  /** When the person authenticated at the provider (ms); the token's time when not said. */
  authTime: number;
  refreshToken: string | null;
}

/** The provider refused (invalid_grant and the like): the person no longer has access. */
export class IdpRefused extends ControlError {
  constructor(message: string) {
    super('AUTH', message);
  }
}

const TIMEOUT_S = 10;
const MAX_BODY = 1 << 20;

/** fetch over node:https with an extra CA, for openid-client's customFetch. */
function fetchWithCa(ca: string): oc.CustomFetch {
  return (url, options) =>
    new Promise<Response>((resolve, reject) => {
      const body = options.body;
      const req = httpsRequest(
        url,
        {
          method: options.method,
          headers: options.headers,
          ca,
          ...(options.signal ? { signal: options.signal } : {}),
          timeout: TIMEOUT_S * 1000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY) res.destroy(new Error('the identity provider sent more than 1 MiB'));
            else chunks.push(c);
          });
          res.on('error', reject);
          res.on('end', () => {
            const headers = new Headers();
            for (const [k, v] of Object.entries(res.headers))
              for (const x of ([] as string[]).concat(v ?? [])) headers.append(k, x);
            const status = res.statusCode ?? 500;
            const noBody = status === 204 || status === 304;
            resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, headers }));
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`no answer from the identity provider in ${TIMEOUT_S} s`)),
      );
      req.on('error', reject);
      if (body === undefined || body === null) req.end();
      else if (body instanceof URLSearchParams) req.end(body.toString());
      else if (typeof body === 'string' || body instanceof Uint8Array) req.end(body);
      else req.destroy(new Error('unsupported request body'));
    });
}

export class IdentityProvider {
  readonly #s: OidcSettings;
  readonly #config: oc.Configuration;
  readonly #mapping: ClaimMapping;

  private constructor(s: OidcSettings, config: oc.Configuration) {
    this.#s = s;
    this.#config = config;
    this.#mapping = { ...s.mapping, issuer: config.serverMetadata().issuer };
  }

  /** Discovers the provider; ControlError IDP with what to fix when it cannot. */
  static async discover(s: OidcSettings): Promise<IdentityProvider> {
    let url: URL;
    try {
      url = new URL(s.issuer);
    } catch {
      throw new ControlError('CONFIG', `--oidc-issuer is not a URL: ${JSON.stringify(s.issuer)}`);
    }
    if (url.protocol !== 'https:')
      throw new ControlError('CONFIG', `--oidc-issuer must be an https:// URL, got ${s.issuer}`);
    const custom = s.ca ? { [oc.customFetch]: fetchWithCa(s.ca) } : {};
    let config: oc.Configuration;
    try {
      config = await oc.discovery(url, s.clientId, { client_secret: s.clientSecret }, undefined, {
        ...custom,
        timeout: TIMEOUT_S,
      });
    } catch (e) {
      throw new ControlError(
        'IDP',
        `cannot read the identity provider's discovery document at ${s.issuer}: ${describe(e)} ` +
          '(check --oidc-issuer, and --oidc-ca when its certificate is from a private CA)',
      );
    }
    if (s.ca) config[oc.customFetch] = fetchWithCa(s.ca);
    return new IdentityProvider(s, config);
  }

  get issuer(): string {
    return this.#mapping.issuer;
  }

  get displayName(): string {
    return this.#s.displayName ?? new URL(this.#mapping.issuer).host;
  }

  get recheckMs(): number {
    return this.#s.recheckMs;
  }

  /** Whether the provider offers the device authorization grant (the CLI's sign-in). */
  get deviceFlow(): boolean {
    return typeof this.#config.serverMetadata().device_authorization_endpoint === 'string';
  }

  /** The provider's authorization URL for the console, with PKCE; `fresh` asks it to authenticate again. */
  async authorizationUrl(
    redirectUri: string,
    fresh: boolean,
  ): Promise<{ url: string; state: string; nonce: string; verifier: string }> {
    const verifier = oc.randomPKCECodeVerifier();
    const state = oc.randomState();
    const nonce = oc.randomNonce();
    // offline_access is granted only with consent (OIDC Core §11); `fresh` forces a new login.
    const prompt = [
      ...(fresh ? ['login'] : []),
      ...(this.#s.scopes.includes('offline_access') ? ['consent'] : []),
    ];
    const url = oc.buildAuthorizationUrl(this.#config, {
      redirect_uri: redirectUri,
      scope: this.#s.scopes.join(' '),
      code_challenge: await oc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...(fresh ? { max_age: '0' } : {}),
      ...(prompt.length ? { prompt: prompt.join(' ') } : {}),
    });
    return { url: url.href, state, nonce, verifier };
  }

  /** Completes the console's sign-in from the callback URL. */
  async callback(
    current: URL,
    checks: { state: string; nonce: string; verifier: string; fresh: boolean },
  ): Promise<IdpSignIn> {
    let r;
    try {
      r = await oc.authorizationCodeGrant(this.#config, current, {
        pkceCodeVerifier: checks.verifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
        ...(checks.fresh ? { maxAge: 0 } : {}),
      });
    } catch (e) {
      throw new IdpRefused(`the identity provider did not sign you in: ${describe(e)}`);
    }
    return this.#signIn(r, undefined);
  }

  /** Starts the device authorization grant (the CLI's sign-in). */
  async deviceStart(): Promise<oc.DeviceAuthorizationResponse> {
    if (!this.deviceFlow)
      throw new ControlError(
        'IDP',
        'the identity provider offers no device authorization grant: enable it for this client, or sign in on the console',
      );
    try {
      // max_age=0 asks for a fresh authentication (providers that honour it for the device grant
      // re-authenticate; others, oidc-provider among them, reuse their browser session, and the
      // sign-in time stays theirs: docs/sso.md, "Approvals need a recent sign-in").
      return await oc.initiateDeviceAuthorization(this.#config, {
        scope: this.#s.scopes.join(' '),
        max_age: '0',
      });
    } catch (e) {
      throw new ControlError(
        'IDP',
        `the identity provider refused to start a device sign-in: ${describe(e)}`,
      );
    }
  }

  /** Waits for the person to finish the device sign-in; IdpRefused when they deny or it expires. */
  async devicePoll(d: oc.DeviceAuthorizationResponse, signal: AbortSignal): Promise<IdpSignIn> {
    let r;
    try {
      r = await oc.pollDeviceAuthorizationGrant(this.#config, d, undefined, { signal });
    } catch (e) {
      if (signal.aborted) throw e;
      throw new IdpRefused(`the device sign-in did not complete: ${describe(e)}`);
    }
    return this.#signIn(r, undefined);
  }

  /**
   * Asks the provider again for the person behind a refresh token. IdpRefused when the provider
   * says no (the person was disabled or removed, or the grant revoked); ControlError IDP when it
   * could not be asked (unreachable, broken answer).
   */
  async refresh(refreshToken: string, subject: string): Promise<IdpSignIn> {
    let r;
    try {
      r = await oc.refreshTokenGrant(this.#config, refreshToken, { scope: this.#s.scopes.join(' ') });
    } catch (e) {
      if (e instanceof oc.ResponseBodyError && e.status >= 400 && e.status < 500)
        throw new IdpRefused(`the identity provider ended the session (${e.error})`);
      throw new ControlError('IDP', `the identity provider could not be asked: ${describe(e)}`);
    }
    return this.#signIn(r, subject);
  }

  async #signIn(
    r: oc.TokenEndpointResponse & oc.TokenEndpointResponseHelpers,
    subject: string | undefined,
  ): Promise<IdpSignIn> {
    const id = r.claims();
    if (!id) throw new IdpRefused('the identity provider sent no ID token');
    let claims: Record<string, unknown> = { ...id };
    // Group and name claims often come only from userinfo (a provider that keeps ID tokens small).
    try {
      const info = await oc.fetchUserInfo(this.#config, r.access_token, id.sub);
      claims = {
        ...info,
        ...claims,
        ...pick(info, [this.#s.mapping.usernameClaim, this.#s.mapping.groupsClaim]),
      };
    } catch (e) {
      if (e instanceof oc.ResponseBodyError && e.status === 401)
        throw new IdpRefused('the identity provider refused its own access token');
    }
    const identity = identityFromClaims(claims, this.#mapping);
    if (subject !== undefined && identity.subject !== subject)
      throw new IdpRefused('the identity provider answered for another person');
    const authTime = typeof id.auth_time === 'number' ? id.auth_time * 1000 : id.iat * 1000;
    return { identity, authTime, refreshToken: r.refresh_token ?? null };
  }
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function describe(e: unknown): string {
  if (e instanceof oc.ResponseBodyError)
    return `${e.error}${e.error_description ? `: ${e.error_description}` : ''}`;
  const err = e as Error & { cause?: Error & { code?: string } };
  const cause = err.cause ? ` (${err.cause.code ?? err.cause.message})` : '';
  return `${err.message ?? String(e)}${cause}`;
}
