// The coordinator's flags for sign-in through the company's identity provider (docs/sso.md), and
// the freshness an approval needs. Checked before the coordinator starts: an OIDC setting that
// cannot work (no client secret, no public URL, an http:// issuer) refuses to start.
import { readFileSync } from 'node:fs';
import { readDuration } from '../access/index.ts';
import { DEFAULT_SCOPES, type OidcSettings } from '../control/oidc/idp.ts';
import { parseGroupMap } from '../control/oidc/claims.ts';
import { UsageError, optionLines, type FlagTable, type FlagValues } from './kit/index.ts';

export const OIDC_FLAGS = {
  'oidc-issuer': {
    type: 'string',
    value: 'URL',
    help: `the provider's issuer (https://; its /.well-known/openid-configuration is
read at start, and a provider that cannot be read stops the start)`,
  },
  'oidc-client-id': {
    type: 'string',
    value: 'ID',
    help: `this coordinator's client id at the provider (a confidential client with
the authorization code, refresh token and device code grants)`,
  },
  'oidc-client-secret-file': {
    type: 'string',
    value: 'FILE',
    help: 'the client secret, one line (env SALLYPORT_OIDC_CLIENT_SECRET)',
  },
  'public-url': {
    type: 'string',
    value: 'URL',
    help: `this coordinator's https:// URL as browsers reach it; the provider must
allow URL/console/sso/callback as a redirect URI`,
  },
  'oidc-ca': {
    type: 'string',
    value: 'FILE',
    help: "PEM CA to trust for the provider's TLS (default: the system's)",
  },
  'oidc-scopes': {
    type: 'string',
    value: 'LIST',
    help: `scopes asked for (default "${DEFAULT_SCOPES.join(' ')}")`,
  },
  'oidc-username-claim': {
    type: 'string',
    value: 'CLAIM',
    help: 'the claim that names the sallyport user (default preferred_username)',
  },
  'oidc-groups-claim': {
    type: 'string',
    value: 'CLAIM',
    help: "the claim listing the person's groups (default groups)",
  },
  'oidc-group': {
    type: 'repeatable',
    value: 'IDP=SALLYPORT',
    help: `the provider group IDP makes a person a member of sallyport group
SALLYPORT; repeatable. Without any, the provider's group names are used
as they are. Memberships of provider users follow the provider exactly`,
  },
  'oidc-admin-group': {
    type: 'string',
    value: 'IDP',
    help: `members of this provider group administer sallyport (default: no provider
user does; local break-glass administrators sign in with a password)`,
  },
  'oidc-recheck': {
    type: 'string',
    value: 'DURATION',
    help: `how often a session is confirmed with the provider (a refresh): a person
disabled there loses every session within this (default 5m; 10s-1h)`,
  },
  'oidc-name': {
    type: 'string',
    value: 'NAME',
    help: "the sign-in button's name (default the issuer's host)",
  },
  'approval-max-age': {
    type: 'string',
    value: 'DURATION',
    help: 'approving needs a sign-in at most this old (default 1h)',
  },
} as const satisfies FlagTable;

export const OIDC_HELP = `sign-in through your identity provider (OpenID Connect; docs/sso.md):
${optionLines(OIDC_FLAGS, 24)}`;

export interface OidcConfig {
  oidc?: OidcSettings;
  publicUrl?: string;
  approvalMaxAgeMs?: number;
}

type Flags = Partial<FlagValues<typeof OIDC_FLAGS>>;

const read = (file: string, flag: string): string => {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${flag} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
};

function duration(v: string, flag: string, min: number, max: number): number {
  const ms = readDuration(v);
  if (ms === undefined || ms < min || ms > max)
    throw new UsageError(
      `${flag} wants a duration from ${min / 1000} s to ${max / 3_600_000} h (e.g. 5m), got '${v}'`,
    );
  return ms;
}

/** The coordinator options the flags give; UsageError for what cannot work. */
export function parseOidcFlags(a: Flags, env: Record<string, string | undefined>): OidcConfig {
  const out: OidcConfig = {};
  if (a['approval-max-age'] !== undefined)
    out.approvalMaxAgeMs = duration(a['approval-max-age'], '--approval-max-age', 60_000, 24 * 3_600_000);
  if (a['public-url'] !== undefined) {
    let u: URL;
    try {
      u = new URL(a['public-url']);
    } catch {
      throw new UsageError(`--public-url is not a URL: '${a['public-url']}'`);
    }
    if (u.protocol !== 'https:' || u.pathname !== '/' || u.search)
      throw new UsageError(`--public-url wants https://HOST[:PORT], got '${a['public-url']}'`);
    out.publicUrl = u.origin;
  }
  const issuer = a['oidc-issuer'];
  const others = Object.keys(a).filter(
    (k) => k.startsWith('oidc-') && k !== 'oidc-issuer' && a[k as keyof Flags] !== undefined,
  );
  if (issuer === undefined) {
    if (others.length) throw new UsageError(`--${others[0]} needs --oidc-issuer`);
    return out;
  }
  if (!/^https:\/\//.test(issuer))
    throw new UsageError(`--oidc-issuer must be an https:// URL, got '${issuer}'`);
  const clientId = a['oidc-client-id'];
  if (!clientId)
    throw new UsageError('--oidc-issuer needs --oidc-client-id (the client registered at the provider)');
  const secret = a['oidc-client-secret-file']
    ? read(a['oidc-client-secret-file'], '--oidc-client-secret-file').split('\n')[0].trim()
    : (env.SALLYPORT_OIDC_CLIENT_SECRET ?? '');
  if (!secret)
    throw new UsageError(
      '--oidc-issuer needs the client secret: --oidc-client-secret-file FILE or SALLYPORT_OIDC_CLIENT_SECRET',
    );
  if (!out.publicUrl)
    throw new UsageError(
      '--oidc-issuer needs --public-url (the console is sent back to PUBLIC-URL/console/sso/callback)',
    );
  const groupMap = parseGroupMap(a['oidc-group'] ?? []);
  if (typeof groupMap === 'string') throw new UsageError(groupMap);
  const scopes = (a['oidc-scopes'] ?? DEFAULT_SCOPES.join(' ')).split(/[\s,]+/).filter(Boolean);
  if (!scopes.includes('openid')) throw new UsageError("--oidc-scopes must include 'openid'");
  out.oidc = {
    issuer,
    clientId,
    clientSecret: secret,
    scopes,
    recheckMs: duration(a['oidc-recheck'] ?? '5m', '--oidc-recheck', 10_000, 3_600_000),
    mapping: {
      usernameClaim: a['oidc-username-claim'] ?? 'preferred_username',
      groupsClaim: a['oidc-groups-claim'] ?? 'groups',
      groupMap,
      ...(a['oidc-admin-group'] ? { adminGroup: a['oidc-admin-group'] } : {}),
    },
    ...(a['oidc-ca'] ? { ca: read(a['oidc-ca'], '--oidc-ca') } : {}),
    ...(a['oidc-name'] ? { displayName: a['oidc-name'] } : {}),
  };
  return out;
}
