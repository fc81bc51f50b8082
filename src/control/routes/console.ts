// The console's own JSON routes under /console/ (docs/console.md): its cookie session and the
// audit chain's check. Hidden from the OpenAPI document; everything else the page does goes to
// the API under /api/v1 with the session cookie (console/routes.ts bridges the two).
import type { AuditCheck } from '../console/audit-check.ts';
import { errorSchema, userName } from './parts.ts';
import { route } from './route.ts';

export interface ConsoleSession {
  user: { name: string; admin: boolean };
  groups: string[];
  signIn?: { method: string; authTime: number };
  customer: { name: string | null; deployments: readonly string[] } | null;
  /** Send it back as the x-csrf-token header of every state-changing request. */
  csrf: string;
  now: number;
}

export type { AuditCheck };

const hidden = { hide: true } as const;
const sessionView = {
  type: 'object',
  properties: {
    user: { type: 'object', properties: { name: { type: 'string' }, admin: { type: 'boolean' } } },
    groups: { type: 'array', items: { type: 'string' } },
    signIn: { type: 'object', properties: { method: { type: 'string' }, authTime: { type: 'integer' } } },
    customer: {
      type: ['object', 'null'],
      properties: {
        name: { type: ['string', 'null'] },
        deployments: { type: 'array', items: { type: 'string' } },
      },
    },
    csrf: { type: 'string' },
    now: { type: 'integer' },
  },
} as const;

/** Who is signed in, with the CSRF token; 401 when no one. */
export const consoleSessionGet = route('GET', '/console/session', {
  ...hidden,
  response: { 200: sessionView, '4xx': errorSchema },
}).typed<{ response: ConsoleSession }>();

/** Password sign-in: sets the session cookie. */
export const consoleSessionCreate = route('POST', '/console/session', {
  ...hidden,
  body: {
    type: 'object',
    properties: { user: userName, password: { type: 'string', minLength: 1, maxLength: 1024 } },
    required: ['user', 'password'],
    additionalProperties: false,
  },
  response: { 200: sessionView, '4xx': errorSchema },
}).typed<{ body: { user: string; password: string }; response: ConsoleSession }>();

/** An invitation accepted: the customer's person sets their password and is signed in. */
export const consoleInvite = route('POST', '/console/invite', {
  ...hidden,
  body: {
    type: 'object',
    properties: {
      token: { type: 'string', pattern: '^spi_[A-Za-z0-9_-]{16,64}$' },
      password: { type: 'string', minLength: 12, maxLength: 1024 },
    },
    required: ['token', 'password'],
    additionalProperties: false,
  },
  response: { 200: sessionView, '4xx': errorSchema },
}).typed<{ body: { token: string; password: string }; response: ConsoleSession }>();

/** Sign out (CSRF). */
export const consoleSessionDelete = route('DELETE', '/console/session', {
  ...hidden,
  response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } },
}).typed<{ response: { ok: boolean } }>();

/** The chain's verification state (administrators). */
export const consoleAudit = route('GET', '/console/audit', {
  ...hidden,
  response: { '4xx': errorSchema },
}).typed<{ response: AuditCheck }>();

/**
 * The whole log as JSON lines, verifiable offline (a download): a customer's person gets its scope
 * in full and the rest elided.
 */
export const consoleAuditExport = route('GET', '/console/audit/export', {
  ...hidden,
  response: { '4xx': errorSchema },
}).typed<{ response: string }>();
