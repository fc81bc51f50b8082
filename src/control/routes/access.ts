// The access API: the policy document (administrators), requests and their decisions,
// request-derived grants, extension requests, and client certificates for a grant. States are the
// pure states of src/access, returned as they are. A refusal answers REFUSAL_STATUS[code] with
// `{ error: { code, message, details } }`.
//
//   POST /requests/:id/approve | /deny {reason} | /cancel   (approve: a recent sign-in, bearer.ts)
//   POST /access-grants/:id/certificate {csr}   (the holder; notAfter = grant end)
import type { ExtensionPair, ExtensionState, GrantState, RequestState } from '../../access/index.ts';
import { dnsLabel, errorSchema } from './parts.ts';
import { route } from './route.ts';

export type AccessStatus =
  'pending' | 'approved' | 'denied' | 'cancelled' | 'expired-unanswered' | 'active' | 'expired' | 'revoked';

export interface StoredPolicy {
  version: number;
  /** The policy document (docs/access.md). */
  document: unknown;
  updatedAt: number;
  updatedBy: string;
}

export interface NewAccessRequest {
  deployment: string;
  services: string[];
  reason: string;
  /** e.g. 30m, 2h, 1h30m */
  duration: string;
  access?: 'read-only' | 'read-write' | 'admin';
}

export interface GrantCertificate {
  grant: string;
  serial: string;
  /** Epoch ms: the grant's end. */
  notAfter: number;
  chainPem: string;
  rootPem: string;
}

const accessId = { type: 'string', pattern: '^[A-Za-z0-9._-]{1,128}$' } as const;
const duration = { type: 'string', pattern: '^[0-9a-z]{1,40}$', description: 'e.g. 30m, 2h, 1h30m' } as const;
const reason = { type: 'string', minLength: 1, maxLength: 1000 } as const;
const accessLevel = { type: 'string', enum: ['read-only', 'read-write', 'admin'] } as const;
const status = {
  type: 'string',
  enum: ['pending', 'approved', 'denied', 'cancelled', 'expired-unanswered', 'active', 'expired', 'revoked'],
} as const;

const body = (properties: Record<string, unknown>, required: string[]) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});
const params = {
  type: 'object',
  properties: { id: accessId },
  required: ['id'],
  additionalProperties: false,
};
const open = { type: 'object', additionalProperties: true } as const;

/** A refusal: the access refusal code, a reason, and details (e.g. maxDurationMs). */
export const refusalSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
        issues: {
          type: 'array',
          items: {
            type: 'object',
            properties: { code: { type: 'string' }, path: { type: 'string' }, message: { type: 'string' } },
          },
        },
      },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;

const R = (schema: Record<string, unknown>, code = 200) => ({ [code]: schema, '4xx': refusalSchema });
const list = { type: 'array', items: open } as const;
const statusQuery = { type: 'object', properties: { status }, additionalProperties: false };
/** approve / cancel: no fields (an absent body counts as `{}`). */
const decide = { params, body: body({}, []), response: R(open) };
const deny = { params, body: body({ reason }, ['reason']), response: R(open) };
const get = { params, response: R(open) };

export const policyGet = route('GET', '/api/v1/policy', { response: R(open) }).typed<{
  response: StoredPolicy;
}>();

/** 400 POLICY_INVALID with `issues` when the document does not validate. */
export const policyPut = route('PUT', '/api/v1/policy', {
  body: { type: 'object' },
  response: R(open),
}).typed<{
  body: unknown;
  response: StoredPolicy;
}>();

export const requestsCreate = route('POST', '/api/v1/requests', {
  body: body(
    {
      deployment: dnsLabel,
      services: { type: 'array', items: dnsLabel, minItems: 1, maxItems: 64 },
      reason,
      duration,
      access: accessLevel,
    },
    ['deployment', 'services', 'reason', 'duration'],
  ),
  response: R(open, 201),
}).typed<{ body: NewAccessRequest; response: RequestState }>();

export const requestsList = route('GET', '/api/v1/requests', {
  querystring: statusQuery,
  response: R(list),
}).typed<{ query: { status?: AccessStatus }; response: RequestState[] }>();

export const requestsGet = route('GET', '/api/v1/requests/:id', get).typed<{ response: RequestState }>();

/** Answers once the request is decided, or after `timeout` seconds (1-60, default 25). */
export const requestsWait = route('GET', '/api/v1/requests/:id/wait', {
  params,
  querystring: {
    type: 'object',
    properties: { timeout: { type: 'string', pattern: '^[0-9]{1,2}$' } },
    additionalProperties: false,
  },
  response: R(open),
}).typed<{ query: { timeout?: string }; response: RequestState }>();

export const requestsApprove = route('POST', '/api/v1/requests/:id/approve', decide).typed<{
  body: Record<string, never>;
  response: RequestState;
}>();

export const requestsCancel = route('POST', '/api/v1/requests/:id/cancel', decide).typed<{
  body: Record<string, never>;
  response: RequestState;
}>();

export const requestsDeny = route('POST', '/api/v1/requests/:id/deny', deny).typed<{
  body: { reason: string };
  response: RequestState;
}>();

/**
 * A text/event-stream, not JSON: one `access` event per committed access change with its topic
 * only. For browsers (the console); the typed client does not read streams (hence `void`).
 */
export const events = route('GET', '/api/v1/events', {
  response: { 200: { type: 'string' }, '4xx': errorSchema },
}).typed<{ response: void }>();

export const accessGrantsList = route('GET', '/api/v1/access-grants', {
  querystring: statusQuery,
  response: R(list),
}).typed<{ query: { status?: AccessStatus }; response: GrantState[] }>();

export const accessGrantsGet = route('GET', '/api/v1/access-grants/:id', get).typed<{
  response: GrantState;
}>();

export const accessGrantsRevoke = route('POST', '/api/v1/access-grants/:id/revoke', {
  params,
  body: body({ reason: { type: 'string', maxLength: 1000 } }, []),
  response: R(open),
}).typed<{ body: { reason?: string }; response: GrantState }>();

/** Asks for more time on a grant: an extension request, decided like a request. */
export const accessGrantsExtend = route('POST', '/api/v1/access-grants/:id/extensions', {
  params,
  body: body({ duration, reason }, ['duration', 'reason']),
  response: R(open, 201),
}).typed<{ body: { duration: string; reason: string }; response: ExtensionState }>();

/** A client certificate for the caller's grant: the key is made on the caller's machine (I9). */
export const accessGrantsCertificate = route('POST', '/api/v1/access-grants/:id/certificate', {
  params,
  body: body({ csr: { type: 'string', minLength: 1, maxLength: 16_384 } }, ['csr']),
  response: R({
    type: 'object',
    properties: {
      grant: { type: 'string' },
      serial: { type: 'string' },
      notAfter: { type: 'integer' },
      chainPem: { type: 'string' },
      rootPem: { type: 'string' },
    },
  }),
}).typed<{ body: { csr: string }; response: GrantCertificate }>();

export const extensionsList = route('GET', '/api/v1/extensions', {
  querystring: { type: 'object', properties: { grant: accessId, status }, additionalProperties: false },
  response: R(list),
}).typed<{ query: { grant?: string; status?: AccessStatus }; response: ExtensionState[] }>();

export const extensionsApprove = route('POST', '/api/v1/extensions/:id/approve', decide).typed<{
  body: Record<string, never>;
  response: ExtensionPair;
}>();

export const extensionsCancel = route('POST', '/api/v1/extensions/:id/cancel', decide).typed<{
  body: Record<string, never>;
  response: ExtensionPair;
}>();

export const extensionsDeny = route('POST', '/api/v1/extensions/:id/deny', deny).typed<{
  body: { reason: string };
  response: ExtensionPair;
}>();
