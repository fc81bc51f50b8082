// Alerts (DESIGN.md §7): Alertmanager's webhook, incidents, and alert receiver tokens.
//
// The webhook's bearer token is an alert receiver token (stored hashed), global or bound to one
// deployment. Its body is Alertmanager's v4 schema with no unknown fields and bounded sizes.
import type { IncidentRecord } from '../../store/index.ts';
import { errorSchema, userName } from './parts.ts';
import { route } from './route.ts';

/** Alertmanager batches at most `max_alerts` per delivery. */
export const MAX_ALERTS_PER_DELIVERY = 500;

export type Incident = IncidentRecord;

export interface AlertToken {
  id: string;
  name: string;
  /** The deployment the token may report for; null: any (global). */
  deployment: string | null;
  createdAt: number;
  createdBy: string;
  revokedAt: number | null;
}

/** One alert of an Alertmanager v4 webhook body. */
export interface AlertmanagerAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
  fingerprint: string;
}

/** Alertmanager's v4 webhook body. */
export interface AlertmanagerBody {
  version: '4';
  receiver?: string;
  status: 'firing' | 'resolved';
  alerts: AlertmanagerAlert[];
  groupLabels?: Record<string, string>;
  commonLabels?: Record<string, string>;
  commonAnnotations?: Record<string, string>;
  externalURL?: string;
  groupKey?: string;
  truncatedAlerts?: number;
}

const kv = (maxLength: number) =>
  ({
    type: 'object',
    maxProperties: 64,
    propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' },
    additionalProperties: { type: 'string', maxLength },
  }) as const;
const str = (maxLength: number) => ({ type: 'string', maxLength }) as const;
const timeStr = { type: 'string', minLength: 1, maxLength: 64 } as const;

const alert = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['firing', 'resolved'] },
    labels: kv(1024),
    annotations: kv(4096),
    startsAt: timeStr,
    endsAt: timeStr,
    generatorURL: str(2048),
    fingerprint: { type: 'string', pattern: '^[0-9a-f]{1,64}$' },
  },
  required: ['status', 'labels', 'annotations', 'startsAt', 'fingerprint'],
  additionalProperties: false,
} as const;

const webhookBody = {
  type: 'object',
  properties: {
    version: { type: 'string', const: '4' },
    receiver: str(256),
    status: { type: 'string', enum: ['firing', 'resolved'] },
    alerts: { type: 'array', minItems: 0, maxItems: MAX_ALERTS_PER_DELIVERY, items: alert },
    groupLabels: kv(1024),
    commonLabels: kv(1024),
    commonAnnotations: kv(4096),
    externalURL: str(2048),
    groupKey: str(8192),
    truncatedAlerts: { type: 'integer', minimum: 0 },
  },
  required: ['version', 'status', 'alerts'],
  additionalProperties: false,
} as const;

const incident = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    fingerprint: { type: 'string' },
    startsAt: { type: 'string' },
    deployment: { type: ['string', 'null'] },
    deploymentLabel: { type: ['string', 'null'] },
    alertname: { type: 'string' },
    severity: { type: 'string' },
    summary: { type: 'string' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    state: { type: 'string' },
    openedAt: { type: 'integer' },
    updatedAt: { type: 'integer' },
    closedAt: { type: ['integer', 'null'] },
    endsAt: { type: ['string', 'null'] },
    notifications: { type: 'integer' },
  },
} as const;
const alertToken = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    deployment: { type: ['string', 'null'] },
    createdAt: { type: 'integer' },
    createdBy: { type: 'string' },
    revokedAt: { type: ['integer', 'null'] },
  },
} as const;

/** Bearer: an alert receiver token, not a user session. */
export const alertmanagerWebhook = route('POST', '/api/v1/alerts/alertmanager', {
  tags: ['alerts'],
  body: webhookBody,
  response: {
    200: {
      type: 'object',
      properties: { opened: { type: 'integer' }, closed: { type: 'integer' } },
    },
    '4xx': errorSchema,
  },
}).typed<{ body: AlertmanagerBody; response: { opened: number; closed: number } }>();

/** Signed-in vendor users; `deployment=global`: incidents of no deployment. Default state open. */
export const incidentsList = route('GET', '/api/v1/incidents', {
  tags: ['alerts'],
  querystring: {
    type: 'object',
    properties: {
      state: { type: 'string', enum: ['open', 'closed', 'all'] },
      deployment: { type: 'string', pattern: '^[a-z0-9-]{1,63}$' },
    },
    additionalProperties: false,
  },
  response: { 200: { type: 'array', items: incident }, '4xx': errorSchema },
}).typed<{ query: { state?: 'open' | 'closed' | 'all'; deployment?: string }; response: Incident[] }>();

/** The token is in the answer, shown this once. */
export const alertTokensCreate = route('POST', '/api/v1/alert-tokens', {
  tags: ['alerts'],
  body: {
    type: 'object',
    properties: { name: userName, deployment: { type: 'string', pattern: '^[a-z0-9-]{1,63}$' } },
    required: ['name'],
    additionalProperties: false,
  },
  response: {
    201: { type: 'object', properties: { token: { type: 'string' }, ...alertToken.properties } },
    '4xx': errorSchema,
  },
}).typed<{ body: { name: string; deployment?: string }; response: AlertToken & { token: string } }>();

export const alertTokensList = route('GET', '/api/v1/alert-tokens', {
  tags: ['alerts'],
  response: { 200: { type: 'array', items: alertToken }, '4xx': errorSchema },
}).typed<{ response: AlertToken[] }>();

/** No body, or `{}`. */
export const alertTokensRevoke = route('POST', '/api/v1/alert-tokens/:name/revoke', {
  tags: ['alerts'],
  body: { type: 'object', properties: {}, additionalProperties: false },
  params: {
    type: 'object',
    properties: { name: userName },
    required: ['name'],
    additionalProperties: false,
  },
  response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } }, '4xx': errorSchema },
}).typed<{ body: Record<string, never>; response: { ok: boolean } }>();
