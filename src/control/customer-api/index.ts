// The customer portal's API (docs/customer-portal.md, routes/customers.ts): the vendor's
// administrators make customers and invite their people; a customer's person sees their customer,
// the activity under its grants, and flips its switches for its own deployments.
import type { FastifyInstance } from 'fastify';
import type { CustomerApiDeps } from './deps.ts';
import { registerCustomers } from './customers.ts';
import { registerPortal } from './portal.ts';
import { registerActivity } from './activity.ts';

export type { CustomerApiDeps } from './deps.ts';
export { INVITE_TTL_MS } from './customers.ts';

export function registerCustomerApi(app: FastifyInstance, d: CustomerApiDeps): void {
  registerCustomers(app, d);
  registerPortal(app, d);
  registerActivity(app, d);
}
