// JSON schemas of the access API (requests, approvals, grants, extensions, policy, certificates).
// Bodies refuse unknown fields. States are the pure states of src/access, returned as they are.
import { dnsLabel, errorSchema } from './schemas.ts';

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

export const AS = {
  getPolicy: { response: R(open) },
  putPolicy: { body: { type: 'object' }, response: R(open) },
  createRequest: {
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
  },
  listRequests: {
    querystring: { type: 'object', properties: { status }, additionalProperties: false },
    response: R(list),
  },
  get: { params, response: R(open) },
  /** GET /events: a text/event-stream (no JSON body). */
  events: { response: { 200: { type: 'string' }, '4xx': errorSchema } },
  /** GET /requests/:id/wait?timeout=SECONDS (1-60, default 25). */
  wait: {
    params,
    querystring: {
      type: 'object',
      properties: { timeout: { type: 'string', pattern: '^[0-9]{1,2}$' } },
      additionalProperties: false,
    },
    response: R(open),
  },
  /** approve / cancel: no fields (an absent body counts as `{}`). */
  decide: { params, body: body({}, []), response: R(open) },
  deny: { params, body: body({ reason }, ['reason']), response: R(open) },
  listGrants: {
    querystring: { type: 'object', properties: { status }, additionalProperties: false },
    response: R(list),
  },
  revoke: { params, body: body({ reason: { type: 'string', maxLength: 1000 } }, []), response: R(open) },
  extend: { params, body: body({ duration, reason }, ['duration', 'reason']), response: R(open, 201) },
  listExtensions: {
    querystring: { type: 'object', properties: { grant: accessId, status }, additionalProperties: false },
    response: R(list),
  },
  certificate: {
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
  },
} as const;
