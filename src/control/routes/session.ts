// Who the coordinator is and who is calling it: /api/v1/info, /health, password sign-in and
// sign-out, whoami, and sign-in through the identity provider (docs/sso.md).
import { body, errorSchema, list, obj, ok, R, time, userName, type Ok } from './parts.ts';
import { route } from './route.ts';
import { user, type User } from './identity.ts';

export interface Info {
  publicKey: string;
  signingKey: string;
  auditKey: string;
  rootCaPem: string;
  suffix: string;
  version: number;
}

export interface Health {
  ok: boolean;
  sessions: number;
  audit: { signer: 'ok' | 'halted'; anchorSeq: number; reason?: string };
  tls?: {
    source: 'self-signed' | 'files' | 'acme';
    fingerprint: string;
    notAfter: string;
    renewAt?: string;
    lastError?: string;
  };
  /** Which coordinator runs grant expiry and standing grants (several on one PostgreSQL). */
  timers?: { mode: 'single' | 'lock'; self: string; owner: string | null; owned: boolean };
  /** Netmap changes from other coordinators: LISTEN connection up, last version applied. */
  fanout?: { listening: boolean; version: number };
}

export interface SignIn {
  method: string;
  authTime: number;
}

export interface LoginResult {
  token: string;
  expiresAt: number;
  user: User;
}

export interface Whoami extends User {
  groups: string[];
  signIn?: SignIn;
  /** A customer's person: its customer and that customer's deployments. */
  customer?: string | null;
  deployments?: readonly string[];
}

export interface AuthMethods {
  password: boolean;
  oidc: { name: string; issuer: string; device: boolean } | null;
  approvalMaxAgeSeconds: number;
}

export interface RefreshedToken {
  token: string;
  expiresAt: number;
  user: string;
}

export interface DeviceSignInStart {
  handle: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string | null;
  expiresIn: number;
}

export type DeviceSignInResult =
  | { status: 'pending' }
  | { status: 'approved'; token: string; expiresAt: number; user: string; groups: string[] }
  | { status: 'failed'; message: string };

const healthView = obj({
  ok: { type: 'boolean' },
  sessions: { type: 'integer' },
  audit: {
    type: 'object',
    properties: {
      signer: { type: 'string', enum: ['ok', 'halted'] },
      anchorSeq: { type: 'integer' },
      reason: { type: 'string' },
    },
    required: ['signer', 'anchorSeq'],
  },
  tls: {
    type: 'object',
    properties: {
      source: { type: 'string', enum: ['self-signed', 'files', 'acme'] },
      fingerprint: { type: 'string' },
      notAfter: { type: 'string' },
      renewAt: { type: 'string' },
      lastError: { type: 'string' },
    },
    required: ['source', 'fingerprint', 'notAfter'],
  },
  timers: {
    type: 'object',
    description: 'Which coordinator runs grant expiry and standing grants (several on one PostgreSQL)',
    properties: {
      mode: { type: 'string', enum: ['single', 'lock'] },
      self: { type: 'string' },
      owner: { type: ['string', 'null'] },
      owned: { type: 'boolean' },
    },
    required: ['mode', 'self', 'owner', 'owned'],
  },
  fanout: {
    type: 'object',
    description: 'Netmap changes from other coordinators: LISTEN connection up, last version applied',
    properties: { listening: { type: 'boolean' }, version: { type: 'integer' } },
    required: ['listening', 'version'],
  },
});

/** A body with no fields (an absent body counts as `{}`). */
const noFields = { type: 'object', properties: {}, additionalProperties: false } as const;

export const info = route('GET', '/api/v1/info', {
  response: R(
    obj({
      publicKey: { type: 'string' },
      signingKey: { type: 'string' },
      auditKey: { type: 'string' },
      rootCaPem: { type: 'string' },
      suffix: { type: 'string' },
      version: { type: 'integer' },
    }),
  ),
}).typed<{ response: Info }>();

/** 503 while the audit signer is halted (AUDIT_REWRITE). */
export const health = route('GET', '/health', {
  response: { ...R(healthView), 503: healthView },
}).typed<{ response: Health }>();

export const login = route('POST', '/api/v1/login', {
  body: body({ user: userName, password: { type: 'string', minLength: 1, maxLength: 1024 } }, [
    'user',
    'password',
  ]),
  response: R(obj({ token: { type: 'string' }, expiresAt: time, user })),
}).typed<{ body: { user: string; password: string }; response: LoginResult }>();

export const logout = route('POST', '/api/v1/logout', {
  body: body({}, []),
  response: R(ok),
}).typed<{ body: Record<string, never>; response: Ok }>();

export const whoami = route('GET', '/api/v1/whoami', {
  response: R(
    obj({
      ...user.properties,
      groups: list({ type: 'string' }),
      signIn: obj({ method: { type: 'string' }, authTime: time }),
      customer: { type: ['string', 'null'] },
      deployments: list({ type: 'string' }),
    }),
  ),
}).typed<{ response: Whoami }>();

export const authMethods = route('GET', '/api/v1/auth/methods', {
  response: { '4xx': errorSchema },
}).typed<{ response: AuthMethods }>();

/** A provider session's token renewed (the provider asked first). */
export const authRefresh = route('POST', '/api/v1/auth/refresh', {
  body: noFields,
  response: { '4xx': errorSchema },
}).typed<{ body: Record<string, never>; response: RefreshedToken }>();

/** The CLI starts a device sign-in: a URL and code for a browser. */
export const authDevice = route('POST', '/api/v1/auth/device', {
  body: noFields,
  response: { '4xx': errorSchema },
}).typed<{ body: Record<string, never>; response: DeviceSignInStart }>();

/** Waits (≤ POLL_WAIT_MS) for the person to finish. */
export const authDevicePoll = route('POST', '/api/v1/auth/device/poll', {
  body: {
    type: 'object',
    properties: { handle: { type: 'string', pattern: '^spd_[A-Za-z0-9_-]{16,64}$' } },
    required: ['handle'],
    additionalProperties: false,
  },
  response: { '4xx': errorSchema },
}).typed<{ body: { handle: string }; response: DeviceSignInResult }>();
