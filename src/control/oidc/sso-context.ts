// What the identity provider's sign-in routes share: their options, the wall clock in ms, the
// provider (or a refusal when none is configured), and a provider sign-in turned into a session.
import type { Clock } from '../../clock/index.ts';
import type { Logger } from '../logger.ts';
import { StoreError, type Membership, type Store } from '../../store/index.ts';
import { ControlError } from '../errors.ts';
import type { SessionAuth } from '../bearer.ts';
import type { DeviceLoginGuard } from '../device-login.ts';
import type { IdentityProvider, IdpSignIn } from './idp.ts';

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

export class SsoContext {
  constructor(readonly o: SsoRoutesOptions) {}

  now(): number {
    return Math.floor(this.o.clock.wallMs());
  }

  /** The provider, or NOT_FOUND: this coordinator signs in with passwords only. */
  need(): IdentityProvider {
    if (!this.o.idp)
      throw new ControlError(
        'NOT_FOUND',
        'this coordinator has no identity provider configured (--oidc-issuer): sign in with a password',
      );
    return this.o.idp;
  }

  /** A session for the person the provider vouched for; their memberships follow the provider's. */
  async signIn(r: IdpSignIn) {
    try {
      const s = await this.o.store.ssoSignIn(r.identity, {
        authTime: r.authTime,
        idpRefresh: r.refreshToken,
        ttlMs: this.o.sessionTtlMs,
      });
      if (s.changed.length) await this.o.membershipsChanged(s.changed);
      return s;
    } catch (e) {
      if (e instanceof StoreError && (e.code === 'CONFLICT' || e.code === 'AUTH'))
        throw new ControlError(e.code === 'AUTH' ? 'UNAUTHORIZED' : 'CONFLICT', e.message);
      throw e;
    }
  }
}

/** Forgets entries a minute past their end (a finished device sign-in waits that long for its poll). */
export function prune<T extends { expires: number; abort?: AbortController }>(
  m: Map<string, T>,
  now: number,
): void {
  for (const [k, v] of m)
    if (v.expires + 60_000 <= now) {
      v.abort?.abort();
      m.delete(k);
    }
}
