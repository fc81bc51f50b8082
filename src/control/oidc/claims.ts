// From what the identity provider says of a person (ID token and userinfo claims) to sallyport's
// names: the user name, the sallyport groups and whether the person administers sallyport. Pure.
//
//   user name  the claim `usernameClaim` (default preferred_username), lower-cased; it must be a
//              valid sallyport user name (an e-mail address is one), else the sign-in is refused
//   groups     each value of `groupsClaim` (default groups; a list or one string) mapped through
//              `groupMap` (provider name → sallyport group); with no map, the value is the group
//   admin      the person is in `adminGroup` (provider name), when one is set; else never
import type { SsoIdentity } from '../../store/index.ts';
import { ControlError } from '../errors.ts';

export interface ClaimMapping {
  /** The provider's issuer URL (part of the stable subject). */
  issuer: string;
  usernameClaim: string;
  groupsClaim: string;
  /** Provider group → sallyport group; empty: the provider's names are sallyport's. */
  groupMap: ReadonlyMap<string, string>;
  /** The provider group whose members administer sallyport; undefined: none do. */
  adminGroup?: string;
}

/** What a sallyport user name may be (the API's userName schema). */
const USER_NAME = /^[a-z0-9._@-]{1,63}$/;
const MAX_GROUPS = 200;

/** The identity the claims describe; ControlError CLAIMS when they cannot name a user. */
export function identityFromClaims(claims: Record<string, unknown>, m: ClaimMapping): SsoIdentity {
  const sub = claims.sub;
  if (typeof sub !== 'string' || sub === '' || sub.length > 255)
    throw new ControlError('CLAIMS', 'the identity provider sent no usable subject (sub)');
  const raw = claims[m.usernameClaim];
  if (typeof raw !== 'string' || raw === '')
    throw new ControlError(
      'CLAIMS',
      `the identity provider sent no ${m.usernameClaim} claim: ask for its scope, or choose another with --oidc-username-claim`,
    );
  const name = raw.toLowerCase();
  if (!USER_NAME.test(name))
    throw new ControlError(
      'CLAIMS',
      `the ${m.usernameClaim} claim ${JSON.stringify(raw.slice(0, 80))} is not a sallyport user name ` +
        '(letters, digits, . _ @ -; at most 63): choose another with --oidc-username-claim',
    );
  const values = claimList(claims[m.groupsClaim]);
  const groups = new Set<string>();
  for (const v of values) {
    const g = m.groupMap.size ? m.groupMap.get(v) : v;
    if (g !== undefined) groups.add(g);
  }
  return {
    subject: `${m.issuer}#${sub}`,
    name,
    groups: [...groups].sort(),
    admin: m.adminGroup !== undefined && values.includes(m.adminGroup),
  };
}

/** A claim that is a list of strings or one string; anything else is no values. */
function claimList(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v)) return [];
  return v.filter((x): x is string => typeof x === 'string').slice(0, MAX_GROUPS);
}

/** Parses `--oidc-group IDP=SALLYPORT` values; a message for the first bad one. */
export function parseGroupMap(pairs: readonly string[]): Map<string, string> | string {
  const map = new Map<string, string>();
  for (const p of pairs) {
    const eq = p.lastIndexOf('=');
    if (eq <= 0 || eq === p.length - 1)
      return `--oidc-group wants PROVIDER-GROUP=SALLYPORT-GROUP, got ${JSON.stringify(p)}`;
    map.set(p.slice(0, eq), p.slice(eq + 1));
  }
  return map;
}
