// The customer portal's API (docs/customer-portal.md): the vendor's administrators make customers
// (which deployments they own, which switches they may flip, their webhook) and their people; a
// customer's person sees their customer and flips its switches for its own deployments.
//
//   POST /api/v1/customers                    {name, deployments, switches?, webhook?}  (admin)
//   GET  /api/v1/customers                                                              (admin)
//   POST /api/v1/customers/:name/invites      {user, groups?, hours?}: a one-time link (admin); the
//                                             person sets their own password (POST /console/invite)
//   GET  /api/v1/customer                     the signed-in customer's record and switches
//   GET  /api/v1/deployments/:name/controls   the switches (admin, or the deployment's customer)
//   PUT  /api/v1/deployments/:name/controls   {requireCoApproval?, noAccess?, hours?}  (its customer only,
//                                             and only the switches the vendor allows); switching
//                                             noAccess on revokes every active grant there at once
//
// The vendor cannot flip a customer's switch for it, as it cannot approve for it.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { CUSTOMER_SWITCHES, type Store } from '../store/index.ts';
import { hoursProblem, type AccessHours } from '../access/index.ts';
import type { SessionAuth } from './bearer.ts';
import type { AccessService } from './access.ts';
import { ControlError } from './errors.ts';
import { errorSchema } from './schemas.ts';
import { parseWebhookUrls } from './webhooks.ts';

export interface CustomerApiDeps {
  auth: SessionAuth;
  store: Store;
  access: AccessService;
  /** The console's base URL, for invitation links. */
  consoleUrl(): string;
}

/** How far back (records) the activity list looks. */
const ACTIVITY_SCAN = 50_000;

/** How long an invitation stays open by default. */
export const INVITE_TTL_MS = 72 * 3600_000;

const dnsLabel = { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' } as const;
const R = (ok: object, code = 200) => ({ [code]: ok, '4xx': errorSchema, '5xx': errorSchema });
const params = { type: 'object', properties: { name: dnsLabel }, required: ['name'] } as const;
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

type Req<B = unknown> = FastifyRequest<{ Body: B; Params: { name: string } }>;
const h = <B>(fn: (req: Req<B>, reply: FastifyReply) => unknown): RouteHandlerMethod =>
  fn as unknown as RouteHandlerMethod;

export function registerCustomerApi(app: FastifyInstance, d: CustomerApiDeps): void {
  const { store } = d;
  const admin = d.auth.preHandler(true);
  const anyone = d.auth.preHandler(false, true);

  app.post(
    '/api/v1/customers',
    {
      schema: {
        body: {
          type: 'object',
          properties: {
            name: dnsLabel,
            deployments: { type: 'array', items: dnsLabel, minItems: 1, maxItems: 100 },
            switches: {
              type: 'array',
              items: { type: 'string', enum: [...CUSTOMER_SWITCHES] },
              maxItems: 10,
            },
            webhook: { type: 'string', maxLength: 2048 },
          },
          required: ['name', 'deployments'],
          additionalProperties: false,
        },
        response: R(customer, 201),
      },
      preHandler: admin,
    },
    h(
      async (
        req: Req<{ name: string; deployments: string[]; switches?: string[]; webhook?: string }>,
        reply,
      ) => {
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
          switches: (b.switches ?? []) as never,
          webhook: b.webhook ?? null,
        });
      },
    ),
  );
  app.post(
    '/api/v1/customers/:name/invites',
    {
      schema: {
        params,
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
        response: R(
          {
            type: 'object',
            properties: { user: { type: 'string' }, url: { type: 'string' }, expiresAt: { type: 'integer' } },
          },
          201,
        ),
      },
      preHandler: admin,
    },
    h(async (req: Req<{ user: string; groups?: string[]; hours?: number }>, reply) => {
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
    }),
  );
  app.get(
    '/api/v1/customers',
    { schema: { response: R({ type: 'array', items: customer }) }, preHandler: admin },
    () => store.listCustomers(),
  );

  app.get(
    '/api/v1/customer',
    {
      schema: {
        response: R({
          type: 'object',
          properties: { customer, controls: { type: 'array', items: controls } },
        }),
      },
      preHandler: anyone,
    },
    async (req: FastifyRequest) => {
      const a = await store.accessActor(req.user!.name);
      if (!a.customerOf) throw new ControlError('NOT_FOUND', "you are the vendor's, not a customer's person");
      const c = (await store.listCustomers()).find((x) => x.name === a.customer);
      if (!c) throw new ControlError('NOT_FOUND', 'your customer is gone');
      return {
        customer: { ...c, webhook: c.webhook ? 'set' : null },
        controls: await Promise.all(c.deployments.map((dep) => store.deploymentControls(dep))),
      };
    },
  );

  // What was done under the grants: the streams served and the queries run, as the connectors
  // reported them (audited grant.stream / grant.query), newest first; a customer's people see
  // their deployments', administrators everyone's.
  app.get(
    '/api/v1/activity',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { limit: { type: 'string', pattern: '^[0-9]{1,4}$' } },
          additionalProperties: false,
        },
        response: R({ type: 'array', items: { type: 'object', additionalProperties: true } }),
      },
      preHandler: anyone,
    },
    async (req: FastifyRequest) => {
      const a = await store.accessActor(req.user!.name);
      if (!a.customerOf && !a.admin)
        throw new ControlError('FORBIDDEN', 'activity is shown to administrators and to the customer');
      const limit = Math.min(1000, Math.max(1, Number((req.query as { limit?: string }).limit ?? 200)));
      // Every grant the connectors may report under (access grants and standing ones), by id.
      const deps = new Map((await store.listDeployments()).map((x) => [x.id, x.name]));
      const users = new Map((await store.listUsers()).map((u) => [u.id, u.name]));
      const seen = new Map<string, { id: string; deployment: string; holder: string } | null>();
      const grantOf = async (id: string) => {
        if (!seen.has(id)) {
          const g = await store.getGrant(id);
          seen.set(
            id,
            g
              ? {
                  id,
                  deployment: deps.get(g.deploymentId) ?? '?',
                  holder:
                    g.subjectType === 'user'
                      ? (users.get(g.subjectId) ?? g.subjectId)
                      : `${g.subjectType}:${g.subjectId.slice(0, 8)}`,
                }
              : null,
          );
        }
        return seen.get(id) ?? undefined;
      };
      const head = (await store.auditHead()).seq;
      const out: Record<string, unknown>[] = [];
      // Newest first, a page at a time, at most ACTIVITY_SCAN records back.
      for (let upTo = head; upTo > 0 && out.length < limit && head - upTo < ACTIVITY_SCAN; upTo -= 1000) {
        const page = await store.listAudit({ afterSeq: Math.max(0, upTo - 1000), limit: 1000 });
        for (const r of page.reverse()) {
          if (r.action !== 'grant.stream' && r.action !== 'grant.query') continue;
          const g = await grantOf(r.subject.slice('grant:'.length));
          if (!g || (a.customerOf && !a.customerOf.includes(g.deployment))) continue;
          out.push({
            seq: r.seq,
            kind: r.action === 'grant.stream' ? 'connection' : 'query',
            grant: g.id,
            holder: g.holder,
            deployment: g.deployment,
            ...(r.details as Record<string, unknown>),
          });
          if (out.length >= limit) break;
        }
      }
      return out;
    },
  );

  const scoped = async (req: Req<unknown>) => {
    const a = await store.accessActor(req.user!.name);
    if (a.customerOf ? !a.customerOf.includes(req.params.name) : !a.admin)
      throw new ControlError('NOT_FOUND', `no deployment ${req.params.name} of yours`);
    return a;
  };
  app.get(
    '/api/v1/deployments/:name/controls',
    { schema: { params, response: R(controls) }, preHandler: anyone },
    h(async (req) => {
      await scoped(req);
      return store.deploymentControls(req.params.name);
    }),
  );
  app.put(
    '/api/v1/deployments/:name/controls',
    {
      schema: {
        params,
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
        response: R(controls),
      },
      preHandler: anyone,
    },
    h(async (req: Req<{ requireCoApproval?: boolean; noAccess?: boolean; hours?: AccessHours | null }>) => {
      const a = await scoped(req);
      if (!a.customerOf)
        throw new ControlError('FORBIDDEN', "these are the customer's switches: only its people flip them");
      const c = await store.customerOf(req.params.name);
      const want: string[] = [
        ...(req.body.requireCoApproval !== undefined ? ['co-approval'] : []),
        ...(req.body.noAccess !== undefined ? ['no-access'] : []),
        ...(req.body.hours !== undefined ? ['hours'] : []),
      ];
      const problem = req.body.hours ? hoursProblem(req.body.hours) : undefined;
      if (problem) throw new ControlError('BAD_REQUEST', `hours: ${problem}`);
      const denied = want.filter((s) => !c?.switches.includes(s as never));
      if (denied.length)
        throw new ControlError('FORBIDDEN', `the vendor has not given you the switch ${denied.join(', ')}`);
      const after = await store.setDeploymentControls(`user:${a.id}`, req.params.name, req.body);
      const revoked: string[] = [];
      if (req.body.noAccess) {
        for (const g of await store.listAccessGrants({ status: 'active' })) {
          if (g.deployment !== req.params.name) continue;
          const r = await store.accessGrantEvent(a.id, g.id, {
            type: 'revoke',
            reason: 'the customer switched off all vendor access',
          });
          await d.access.after(r);
          if (r.ok) revoked.push(g.id);
        }
      }
      return { ...after, revoked };
    }),
  );
}
