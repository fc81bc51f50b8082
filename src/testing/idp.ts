// A real OpenID Connect provider for tests: `oidc-provider` (npm, OpenID-certified) on a loopback
// HTTPS port, configured here with one confidential client (sallyport's coordinator), the device
// flow, refresh tokens, a `groups` claim, and its development login and consent pages (any
// password; the login name is the account). Accounts live in a map the test edits: a group
// change or a disabled account shows at the provider's next answer (a refresh asks findAccount).
//
//   const idp = await startIdp({ redirectUris: ['https://127.0.0.1:PORT/console/sso/callback'] });
//   idp.accounts.set('alice', { groups: ['oncall'] });
//   idp.issuer, idp.ca, idp.clientId, idp.clientSecret;  await idp.stop();
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSelfSigned } from '../pki/index.ts';

export interface IdpAccount {
  groups: string[];
  /** A disabled account: the provider no longer finds it (refreshes fail, sign-ins fail). */
  disabled?: boolean;
  email?: string;
}

export interface TestIdp {
  issuer: string;
  /** PEM of the provider's self-signed certificate (the coordinator's --oidc-ca). */
  ca: string;
  clientId: string;
  clientSecret: string;
  accounts: Map<string, IdpAccount>;
  /** Refresh grants answered (each recheck of a session is one). */
  refreshes: number;
  stop(): Promise<void>;
}

export async function startIdp(o: { redirectUris: string[]; port?: number }): Promise<TestIdp> {
  // Loaded only here: the provider is a development dependency.
  const { default: Provider } = await import('oidc-provider');
  const tls = await createSelfSigned({ commonName: 'test-idp', ipAddresses: ['127.0.0.1'] });
  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem });
  await new Promise<void>((r) => server.listen(o.port ?? 0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const issuer = `https://127.0.0.1:${port}`;
  const accounts = new Map<string, IdpAccount>();
  const clientId = 'sallyport-coordinator';
  const clientSecret = `secret-${randomBytes(16).toString('hex')}`;
  const idp: TestIdp = {
    issuer,
    ca: tls.certPem,
    clientId,
    clientSecret,
    accounts,
    refreshes: 0,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: o.redirectUris,
        response_types: ['code'],
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    async findAccount(_ctx, id) {
      const a = accounts.get(id);
      if (!a || a.disabled) return undefined;
      return {
        accountId: id,
        async claims() {
          const now = accounts.get(id);
          return {
            sub: id,
            preferred_username: id,
            name: id,
            email: now?.email ?? `${id}@example.com`,
            groups: [...(now?.groups ?? [])],
          };
        },
      };
    },
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'name'],
      email: ['email'],
      groups: ['groups'],
    },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
    },
    cookies: { keys: ['sallyport-test-idp-cookie-key'] },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  });
  provider.on('grant.success', (ctx) => {
    if ((ctx as { oidc?: { params?: { grant_type?: string } } }).oidc?.params?.grant_type === 'refresh_token')
      idp.refreshes++;
  });
  const cb = provider.callback();
  server.on('request', cb);
  return idp;
}
