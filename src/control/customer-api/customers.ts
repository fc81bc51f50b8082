// Customers and their people (the vendor's administrators): make a customer (its deployments, the
// switches it may flip, its webhook), list them, invite a customer's person.
import type { FastifyInstance } from 'fastify';
import { ControlError } from '../errors.ts';
import { handle } from '../handle.ts';
import { routes } from '../routes/index.ts';
import { parseWebhookUrls } from '../webhooks.ts';
import type { CustomerApiDeps } from './deps.ts';

/** How long an invitation stays open by default. */
export const INVITE_TTL_MS = 72 * 3600_000;

export function registerCustomers(app: FastifyInstance, d: CustomerApiDeps): void {
  const { store } = d;
  const admin = { preHandler: d.auth.preHandler(true) };

  handle(app, routes.customersCreate, admin, async (req, reply) => {
    const b = req.body;
    if (b.webhook !== undefined) {
      try {
        parseWebhookUrls([b.webhook]);
      } catch (e) {
        throw new ControlError('BAD_REQUEST', (e as Error).message);
      }
    }
    reply.code(201);
    return store.createCustomer(`user:${req.user!.name}`, {
      name: b.name,
      deployments: b.deployments,
      switches: b.switches ?? [],
      webhook: b.webhook ?? null,
    });
  });
  // The person sets their own password (POST /console/invite).
  handle(app, routes.customerInvitesCreate, admin, async (req, reply) => {
    const r = await store.inviteCustomerPerson(`user:${req.user!.name}`, {
      customer: req.params.name,
      user: req.body.user,
      groups: req.body.groups ?? [],
      ttlMs: req.body.hours ? req.body.hours * 3600_000 : INVITE_TTL_MS,
    });
    reply.code(201);
    // The token rides in the fragment: browsers never send it to a server, proxies never log it.
    return {
      user: req.body.user,
      url: `${new URL('/console/', d.consoleUrl()).href}#invite=${r.token}`,
      expiresAt: r.expiresAt,
    };
  });
  handle(app, routes.customersList, admin, () => store.listCustomers());
}
