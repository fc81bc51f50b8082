// The pieces the route schemas are made of (validation with Fastify's Ajv; also the OpenAPI
// document). Bodies refuse unknown fields; names that become DNS labels of tailnet names are DNS
// labels.

export const dnsLabel = { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' } as const;
export const userName = { type: 'string', pattern: '^[A-Za-z0-9._@-]{1,63}$' } as const;
export const nodeKey = { type: 'string', pattern: '^[A-Za-z0-9+/]{43}=$' } as const;
export const region = { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' } as const;
export const time = { type: 'integer', minimum: 0 } as const;
export const id = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } as const;
export const seconds = { type: 'integer', minimum: 60, maximum: 366 * 86_400 } as const;

/** A body: exactly these properties, `required` among them. */
export const body = (
  properties: Record<string, unknown>,
  required: string[],
  extra: Record<string, unknown> = {},
) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
  ...extra,
});
/** Path parameters: every one required, no other. */
export const params = (properties: Record<string, unknown>) => ({
  type: 'object',
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
});

export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;

export const list = (items: Record<string, unknown>) => ({ type: 'array', items });
export const obj = (properties: Record<string, unknown>) => ({ type: 'object', properties });
export const ok = { type: 'object', properties: { ok: { type: 'boolean' } } } as const;

/** Responses: `schema` at `status`, the error body for 4xx. */
export const R = (schema: Record<string, unknown>, status = 200) => ({
  [status]: schema,
  '4xx': errorSchema,
});
/** Responses: `schema` at `status`, the error body for 4xx and 5xx. */
export const R5 = (schema: object, status = 200) => ({
  [status]: schema,
  '4xx': errorSchema,
  '5xx': errorSchema,
});

/** `{ ok: true }` */
export interface Ok {
  ok: boolean;
}
