// Deployments, their services, and each deployment's management path (DESIGN.md §7).
//
// Management modes: `private` (the default: only through the overlay), `public` (the API server's
// public endpoint, allow-listed to the vendor's egress addresses), `private-with-public-fallback`
// (the overlay; the public endpoint only while the overlay is down, each use a recorded break-glass).
import { body, dnsLabel, list, nodeKey, obj, ok, params, R, R5, region, time, type Ok } from './parts.ts';
import { route } from './route.ts';
import type { ManagementMode, ServiceKind, TlsMode } from '../../store/index.ts';

export type { ManagementMode, ServiceKind, TlsMode };

export interface Deployment {
  id: string;
  name: string;
  region: string;
  cloud: string;
  createdAt: number;
}

export interface Service {
  id: string;
  /** The deployment's name. */
  deployment: string;
  name: string;
  kind: ServiceKind;
  address: string;
  tlsMode: TlsMode;
  labels: Record<string, string>;
  /** `<service>.<deployment>.<region>.<cloud>.<suffix>` */
  tailnetName: string;
  /** The connector serving it, or null. */
  connectorKey: string | null;
}

export interface ServiceSpec {
  kind: ServiceKind;
  address: string;
  tlsMode?: TlsMode;
  labels?: Record<string, string>;
}

export interface Management {
  deployment: string;
  mode: ManagementMode;
  publicServer: string | null;
  /** Shown to administrators only (null for everyone else). */
  customerWebhook: string | null;
  updatedAt: number | null;
}

export interface BreakGlass {
  at: number;
  deployment: string;
  /** The public endpoint to use now: a client never uses one it was not given this way. */
  publicServer: string;
}

export const MANAGEMENT_MODES: readonly ManagementMode[] = [
  'public',
  'private',
  'private-with-public-fallback',
];

const deployment = obj({
  id: { type: 'string' },
  name: { type: 'string' },
  region: { type: 'string' },
  cloud: { type: 'string' },
  createdAt: time,
});
const service = obj({
  id: { type: 'string' },
  deployment: { type: 'string' },
  name: { type: 'string' },
  kind: { type: 'string' },
  address: { type: 'string' },
  tlsMode: { type: 'string' },
  labels: { type: 'object', additionalProperties: { type: 'string' } },
  tailnetName: { type: 'string' },
  connectorKey: { type: ['string', 'null'] },
});
const serviceKind = {
  type: 'string',
  enum: ['kubernetes', 'clickhouse', 'prometheus', 'http', 'tcp'],
} as const;
const labels = {
  type: 'object',
  maxProperties: 32,
  propertyNames: { pattern: '^[A-Za-z0-9._/-]{1,63}$' },
  additionalProperties: { type: 'string', maxLength: 128 },
} as const;
const address = { type: 'string', minLength: 3, maxLength: 255, pattern: '^[^\\s/]+:[0-9]{1,5}$' } as const;
const serviceParams = params({ deployment: dnsLabel, name: dnsLabel });

export const deploymentsList = route('GET', '/api/v1/deployments', {
  response: R(list(deployment)),
}).typed<{ response: Deployment[] }>();

export const deploymentsCreate = route('POST', '/api/v1/deployments', {
  body: body({ name: dnsLabel, region, cloud: region }, ['name', 'region', 'cloud']),
  response: R(deployment, 201),
}).typed<{ body: { name: string; region: string; cloud: string }; response: Deployment }>();

/** Refused (409) while the deployment still has connector nodes. */
export const deploymentsDelete = route('DELETE', '/api/v1/deployments/:name', {
  params: params({ name: dnsLabel }),
  response: R(ok),
}).typed<{ response: Ok }>();

export const servicesList = route('GET', '/api/v1/services', {
  querystring: { type: 'object', properties: { deployment: dnsLabel }, additionalProperties: false },
  response: R(list(service)),
}).typed<{ query: { deployment?: string }; response: Service[] }>();

export const servicesPut = route('PUT', '/api/v1/deployments/:deployment/services/:name', {
  params: serviceParams,
  body: body(
    { kind: serviceKind, address, tlsMode: { type: 'string', enum: ['terminate', 'passthrough'] }, labels },
    ['kind', 'address'],
  ),
  response: R(service),
}).typed<{ body: ServiceSpec; response: Service }>();

/** Moves a service to another live connector of its deployment, or releases it (key null). */
export const servicesBind = route('PUT', '/api/v1/deployments/:deployment/services/:name/connector', {
  params: serviceParams,
  body: body({ key: { anyOf: [nodeKey, { type: 'null' }] } }, ['key']),
  response: R(service),
}).typed<{ body: { key: string | null }; response: Service }>();

export const servicesDelete = route('DELETE', '/api/v1/deployments/:deployment/services/:name', {
  params: serviceParams,
  response: R(ok),
}).typed<{ response: Ok }>();

const management = {
  type: 'object',
  properties: {
    deployment: { type: 'string' },
    mode: { type: 'string', enum: MANAGEMENT_MODES },
    publicServer: { type: ['string', 'null'] },
    customerWebhook: { type: ['string', 'null'] },
    updatedAt: { type: ['number', 'null'] },
  },
} as const;
const url = { type: 'string', minLength: 8, maxLength: 2048 } as const;
const nameParams = { type: 'object', properties: { name: dnsLabel }, required: ['name'] } as const;

export const managementGet = route('GET', '/api/v1/deployments/:name/management', {
  params: nameParams,
  response: R5(management),
}).typed<{ response: Management }>();

export const managementPut = route('PUT', '/api/v1/deployments/:name/management', {
  params: nameParams,
  body: {
    type: 'object',
    properties: { mode: { type: 'string', enum: MANAGEMENT_MODES }, publicServer: url, customerWebhook: url },
    required: ['mode'],
    additionalProperties: false,
  },
  response: R5(management),
}).typed<{
  body: { mode: ManagementMode; publicServer?: string; customerWebhook?: string };
  response: Management;
}>();

/** Records a break-glass (audited, both sides' webhooks told) and answers the public endpoint. */
export const breakGlass = route('POST', '/api/v1/deployments/:name/break-glass', {
  params: nameParams,
  body: {
    type: 'object',
    properties: {
      reason: { type: 'string', minLength: 10, maxLength: 500 },
      service: dnsLabel,
      overlay: { type: 'string', minLength: 1, maxLength: 500 },
    },
    required: ['reason', 'service', 'overlay'],
    additionalProperties: false,
  },
  response: R5(
    {
      type: 'object',
      properties: {
        at: { type: 'number' },
        deployment: { type: 'string' },
        publicServer: { type: 'string' },
      },
    },
    201,
  ),
}).typed<{ body: { reason: string; service: string; overlay: string }; response: BreakGlass }>();
