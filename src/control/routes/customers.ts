// The customer portal's API (docs/customer-portal.md): the vendor's administrators make customers
// (which deployments they own, which switches they may flip, their webhook) and invite their
// people; a customer's person sees their customer and flips its switches for its own deployments.
// The vendor cannot flip a customer's switch for it, as it cannot approve for it.
import { dnsLabel, R5 } from './parts.ts';
import { route } from './route.ts';
import type { CustomerSwitch } from '../../store/index.ts';
import type { AccessHours } from '../../access/index.ts';

export type { CustomerSwitch };
/** The store's CUSTOMER_SWITCHES, without loading the store (a test keeps the two equal). */
export const CUSTOMER_SWITCH_NAMES: readonly CustomerSwitch[] = ['co-approval', 'no-access', 'hours'];

export interface Customer {
  name: string;
  deployments: string[];
  /** The customer's webhook; in GET /customer only whether there is one ('set' or null). */
  webhook: string | null;
  /** The switches the vendor allows this customer to flip. */
  switches: CustomerSwitch[];
  createdAt: number;
}

/** Requests only inside these hours (UTC). */
export type Hours = AccessHours;

export interface DeploymentControls {
  deployment: string;
  customer: string | null;
  requireCoApproval: boolean;
  noAccess: boolean;
  hours: Hours | null;
  updatedAt: number | null;
  updatedBy: string | null;
}

export interface Invite {
  user: string;
  /** The console link; the one-time token rides in its fragment. */
  url: string;
  expiresAt: number;
}

/** One stream served or query run under a grant, as the connectors reported it. */
export interface Activity {
  seq: number;
  kind: 'connection' | 'query';
  grant: string;
  holder: string;
  deployment: string;
  /** The report's own details (service, bytes, query, …). */
  [detail: string]: unknown;
}

const nameParams = { type: 'object', properties: { name: dnsLabel }, required: ['name'] } as const;
const customer = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    deployments: { type: 'array', items: { type: 'string' } },
    webhook: { type: ['string', 'null'] },
    switches: { type: 'array', items: { type: 'string' } },
    createdAt: { type: 'integer' },
  },
} as const;
const controls = {
  type: 'object',
  properties: {
    deployment: { type: 'string' },
    customer: { type: ['string', 'null'] },
    requireCoApproval: { type: 'boolean' },
    noAccess: { type: 'boolean' },
    hours: {
      type: ['object', 'null'],
      properties: {
        from: { type: 'string' },
        to: { type: 'string' },
        days: { type: 'array', items: { type: 'integer' } },
      },
    },
    updatedAt: { type: ['integer', 'null'] },
    updatedBy: { type: ['string', 'null'] },
    revoked: { type: 'array', items: { type: 'string' } },
  },
} as const;

export const customersCreate = route('POST', '/api/v1/customers', {
  body: {
    type: 'object',
    properties: {
      name: dnsLabel,
      deployments: { type: 'array', items: dnsLabel, minItems: 1, maxItems: 100 },
      switches: {
        type: 'array',
        items: { type: 'string', enum: [...CUSTOMER_SWITCH_NAMES] },
        maxItems: 10,
      },
      webhook: { type: 'string', maxLength: 2048 },
    },
    required: ['name', 'deployments'],
    additionalProperties: false,
  },
  response: R5(customer, 201),
}).typed<{
  body: { name: string; deployments: string[]; switches?: CustomerSwitch[]; webhook?: string };
  response: Customer;
}>();

export const customersList = route('GET', '/api/v1/customers', {
  response: R5({ type: 'array', items: customer }),
}).typed<{ response: Customer[] }>();

/** A one-time link; the person sets their own password (POST /console/invite). */
export const customerInvitesCreate = route('POST', '/api/v1/customers/:name/invites', {
  params: nameParams,
  body: {
    type: 'object',
    properties: {
      user: { type: 'string', pattern: '^[A-Za-z0-9._@-]{1,63}$' },
      groups: { type: 'array', items: { type: 'string', maxLength: 63 }, maxItems: 20 },
      hours: { type: 'integer', minimum: 1, maximum: 720 },
    },
    required: ['user'],
    additionalProperties: false,
  },
  response: R5(
    {
      type: 'object',
      properties: { user: { type: 'string' }, url: { type: 'string' }, expiresAt: { type: 'integer' } },
    },
    201,
  ),
}).typed<{ body: { user: string; groups?: string[]; hours?: number }; response: Invite }>();

/** The signed-in customer's record and switches. */
export const customerGet = route('GET', '/api/v1/customer', {
  response: R5({
    type: 'object',
    properties: { customer, controls: { type: 'array', items: controls } },
  }),
}).typed<{ response: { customer: Customer; controls: DeploymentControls[] } }>();

/** Newest first; a customer's people see their deployments', administrators everyone's. */
export const activity = route('GET', '/api/v1/activity', {
  querystring: {
    type: 'object',
    properties: { limit: { type: 'string', pattern: '^[0-9]{1,4}$' } },
    additionalProperties: false,
  },
  response: R5({ type: 'array', items: { type: 'object', additionalProperties: true } }),
}).typed<{ query: { limit?: string }; response: Activity[] }>();

/** The switches (administrators, or the deployment's customer). */
export const controlsGet = route('GET', '/api/v1/deployments/:name/controls', {
  params: nameParams,
  response: R5(controls),
}).typed<{ response: DeploymentControls }>();

/**
 * Its customer's people only, and only the switches the vendor allows; switching noAccess on
 * revokes every active grant there at once (`revoked`).
 */
export const controlsPut = route('PUT', '/api/v1/deployments/:name/controls', {
  params: nameParams,
  body: {
    type: 'object',
    properties: {
      requireCoApproval: { type: 'boolean' },
      noAccess: { type: 'boolean' },
      hours: {
        anyOf: [
          { type: 'null' },
          {
            type: 'object',
            properties: {
              from: { type: 'string', maxLength: 5 },
              to: { type: 'string', maxLength: 5 },
              days: { type: 'array', items: { type: 'integer' }, maxItems: 7 },
            },
            required: ['from', 'to', 'days'],
            additionalProperties: false,
          },
        ],
      },
    },
    additionalProperties: false,
    minProperties: 1,
  },
  response: R5(controls),
}).typed<{
  body: { requireCoApproval?: boolean; noAccess?: boolean; hours?: Hours | null };
  response: DeploymentControls & { revoked: string[] };
}>();
