// Who a bearer token or console session is, for every API's auth hook (SessionAuth).
//
// Only a token the store does not accept (unknown, expired, user disabled) is a 401; any other
// failure — the database unreachable during a failover — stays a server error, so a client is not
// told to log in again and does not throw its token away.
//
// A session signed in through the identity provider (`oidc`) is confirmed with the provider again
// (a refresh grant) once it is `recheckMs` old: the person's groups follow the provider's, and a
// person the provider refuses (disabled, removed) loses every provider session at once. While the
// provider cannot be asked, the session goes on for up to STALE_FACTOR × recheckMs after the last
// confirmation, then ends (fail closed). An `oidc` session on a coordinator without a provider
// configured is refused.
//
// Approving needs a recent sign-in: `requireRecent` refuses (401 REAUTH) a session whose person
// last authenticated more than `approvalMaxAgeMs` ago, as Teleport asks for fresh MFA on review.
import type { FastifyRequest } from 'fastify';
import type { Clock } from '../clock/index.ts';
import {
  StoreError,
  type Membership,
  type Store,
  type TokenSession,
  type UserRecord,
} from '../store/index.ts';
import { ControlError } from './errors.ts';
import { IdpRefused, type IdentityProvider } from './oidc/idp.ts';

/** How many recheck intervals an `oidc` session survives while the provider cannot be asked. */
export const STALE_FACTOR = 4;
/** Default freshness of the sign-in an approval needs. */
export const DEFAULT_APPROVAL_MAX_AGE_MS = 60 * 60_000;

export interface SessionAuthOptions {
  store: Store;
  clock: Clock;
  idp?: IdentityProvider | undefined;
  approvalMaxAgeMs?: number;
  /** Memberships a provider check changed (netmaps may follow). */
  membershipsChanged?(changed: readonly Membership[]): Promise<void>;
  /** A provider check that could not reach the provider (logged by the caller). */
  idpUnreachable?(error: Error): void;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** How the request's session was signed in (set with req.user). */
    signIn?: { method: TokenSession['method']; authTime: number };
    /** The signed-in person is a customer's (scoped to its deployments). */
    customerPerson?: boolean;
  }
}

/** The token of an `Authorization: Bearer TOKEN` header, or undefined (absent or not a token). */
export function bearerToken(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  return typeof h === 'string' ? /^Bearer ([A-Za-z0-9_-]{8,200})$/.exec(h)?.[1] : undefined;
}

export class SessionAuth {
  readonly #o: SessionAuthOptions;
  readonly approvalMaxAgeMs: number;
  /** Provider checks in flight, by token: concurrent requests share one refresh. */
  readonly #checking = new Map<string, Promise<TokenSession>>();

  constructor(o: SessionAuthOptions) {
    this.#o = o;
    this.approvalMaxAgeMs = o.approvalMaxAgeMs ?? DEFAULT_APPROVAL_MAX_AGE_MS;
  }

  get idp(): IdentityProvider | undefined {
    return this.#o.idp;
  }

  /** The session `token` is, checked with the provider when due; 401 with `message` when it is not one. */
  async session(token: string, message: string): Promise<TokenSession> {
    let s: TokenSession;
    try {
      s = await this.#o.store.tokenSession(token);
    } catch (e) {
      if (e instanceof StoreError && e.code === 'AUTH') throw new ControlError('UNAUTHORIZED', message);
      throw e;
    }
    if (s.method !== 'oidc') return s;
    const idp = this.#o.idp;
    if (!idp)
      throw new ControlError(
        'UNAUTHORIZED',
        'this session was signed in through an identity provider this coordinator is not configured for: sign in again',
      );
    const now = this.#o.clock.wallMs();
    if (now - s.checkedAt < idp.recheckMs) return s;
    let p = this.#checking.get(token);
    if (!p) {
      p = this.#recheck(idp, token, s).finally(() => this.#checking.delete(token));
      this.#checking.set(token, p);
    }
    return p;
  }

  async #recheck(idp: IdentityProvider, token: string, s: TokenSession): Promise<TokenSession> {
    const store = this.#o.store;
    if (!s.idpRefresh) {
      await store.ssoEnded(token, 'no refresh token to confirm the session with');
      throw new ControlError('UNAUTHORIZED', 'your sign-in needs confirming and cannot be: sign in again');
    }
    try {
      const r = await idp.refresh(s.idpRefresh, s.idpSubject ?? '');
      const { user, changed } = await store.ssoRefreshed(token, r.identity, r.refreshToken);
      if (changed.length) await this.#o.membershipsChanged?.(changed);
      return { ...s, user, checkedAt: this.#o.clock.wallMs(), idpRefresh: r.refreshToken ?? s.idpRefresh };
    } catch (e) {
      if (e instanceof IdpRefused) {
        await store.ssoEnded(token, e.message);
        throw new ControlError('UNAUTHORIZED', `${e.message}: sign in again`);
      }
      if (e instanceof ControlError && e.code === 'IDP') {
        this.#o.idpUnreachable?.(e);
        if (this.#o.clock.wallMs() - s.checkedAt < STALE_FACTOR * idp.recheckMs) return s;
        throw new ControlError(
          'UNAUTHORIZED',
          'the identity provider could not confirm your session for too long: sign in again when it is back',
        );
      }
      throw e;
    }
  }

  /** The user behind `token` (as `session`), set on `req` with how they signed in. */
  async authenticate(req: FastifyRequest, token: string, message: string): Promise<UserRecord> {
    const s = await this.session(token, message);
    req.user = s.user;
    req.signIn = { method: s.method, authTime: s.authTime };
    req.customerPerson = s.customer;
    return s.user;
  }

  /**
   * The preHandler every API route uses: `Authorization: Bearer TOKEN` names a signed-in user, set as
   * `req.user`; with `admin`, that user must be an administrator (403 otherwise). A customer's
   * person is refused (403) unless the route says `customers` (it scopes what it answers itself):
   * a route added without thinking of customers is closed to them.
   */
  preHandler(admin: boolean, customers = false): (req: FastifyRequest) => Promise<void> {
    return async (req) => {
      const token = bearerToken(req);
      if (!token) throw new ControlError('UNAUTHORIZED', 'missing bearer token: sallyport login');
      await this.authenticate(req, token, 'bearer token unknown or expired: sallyport login again');
      if (admin && !req.user!.isAdmin) throw new ControlError('FORBIDDEN', 'this needs an administrator');
      if (req.customerPerson && !customers)
        throw new ControlError(
          'FORBIDDEN',
          "this is not part of the customer portal: a customer's people cannot use it",
        );
    };
  }

  /** Refuses (401 REAUTH) unless the request's person signed in within approvalMaxAgeMs. */
  requireRecent(req: FastifyRequest, what: string): void {
    const at = req.signIn?.authTime;
    const age = at === undefined ? Infinity : this.#o.clock.wallMs() - at;
    if (age <= this.approvalMaxAgeMs) return;
    throw new ControlError(
      'REAUTH',
      `${what} needs a sign-in from the last ${span(this.approvalMaxAgeMs)} (yours is ${Number.isFinite(age) ? `${span(age)} old` : 'of unknown age'}): ` +
        "sign in again ('sallyport login', or the console's sign-in) and retry",
    );
  }
}

/** 45 s, 12 min, 3 h. */
const span = (ms: number): string =>
  ms < 120_000
    ? `${Math.round(ms / 1000)} s`
    : ms < 7_200_000
      ? `${Math.round(ms / 60_000)} min`
      : `${Math.round(ms / 3_600_000)} h`;
