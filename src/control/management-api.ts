// The management path of each deployment under /api/v1 (DESIGN.md §7): how the vendor's
// management services reach the customer's Kubernetes API, and the record of every break-glass.
//
//   GET  /deployments/:name/management        signed-in users: { mode, publicServer, customerWebhook? }
//   PUT  /deployments/:name/management        administrators: { mode, publicServer?, customerWebhook? }
//   POST /deployments/:name/break-glass       signed-in users: { reason, service, overlay }
//
// Modes: `private` (the default: only through the overlay, the public endpoint is never used),
// `public` (the API server's public endpoint, allow-listed to the vendor's egress addresses), and
// `private-with-public-fallback` (the overlay; the public endpoint only while the overlay is down).
// A configuration that could not be enforced is refused: public modes need the endpoint
// (https://), the fallback needs the customer's webhook, so that no break-glass goes unseen.
// A break-glass is refused unless the mode allows it; when it is recorded (audited
// `mgmt.break-glass`, with who and why), the customer's webhook and the vendor's are notified, and
// the answer gives the public endpoint — a client never uses one it was not given this way.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { ManagementMode, Store } from '../store/index.ts';
import type { SessionAuth } from './bearer.ts';
import type { Hub } from './hub.ts';
import { ControlError } from './errors.ts';
import { errorSchema } from './schemas.ts';
import { parseWebhookUrls, type Notice } from './webhooks.ts';

export interface ManagementApiDeps {
  auth: SessionAuth;
  store: Store;
  /** Sends each break-glass to the deployment's connected connectors, for the customer's local audit. */
  hub: Pick<Hub, 'notice'>;
  /** The vendor's webhooks, plus `also` (the customer's). */
  notify: (notices: readonly Notice[], also: readonly string[]) => void;
}

const MODES: readonly ManagementMode[] = ['public', 'private', 'private-with-public-fallback'];
const dnsLabel = { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' } as const;
const url = { type: 'string', minLength: 8, maxLength: 2048 } as const;
const management = {
  type: 'object',
  properties: {
    deployment: { type: 'string' },
    mode: { type: 'string', enum: MODES },
    publicServer: { type: ['string', 'null'] },
    customerWebhook: { type: ['string', 'null'] },
    updatedAt: { type: ['number', 'null'] },
  },
} as const;
const R = (ok: object, code = 200) => ({ [code]: ok, '4xx': errorSchema, '5xx': errorSchema });
const params = { type: 'object', properties: { name: dnsLabel }, required: ['name'] } as const;

type Req<B = unknown> = FastifyRequest<{ Body: B; Params: { name: string } }>;
const h = <B>(fn: (req: Req<B>, reply: FastifyReply) => unknown): RouteHandlerMethod =>
  fn as unknown as RouteHandlerMethod;

/** https://HOST[:PORT] of an API server, or a ControlError saying what is wrong. */
function publicServerUrl(s: string): string {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new ControlError('BAD_REQUEST', `publicServer ${JSON.stringify(s)} is not a URL`);
  }
  if (u.protocol !== 'https:' || u.pathname !== '/' || u.search || u.username)
    throw new ControlError(
      'BAD_REQUEST',
      `publicServer must be https://HOST[:PORT], got ${JSON.stringify(s)}`,
    );
  return u.origin;
}

export function registerManagementApi(app: FastifyInstance, d: ManagementApiDeps): void {
  const { store } = d;
  const signedIn = d.auth.preHandler(false);
  const admin = d.auth.preHandler(true);

  app.get(
    '/api/v1/deployments/:name/management',
    { schema: { params, response: R(management) }, preHandler: signedIn },
    h(async (req) => {
      const m = await store.getManagement(req.params.name);
      // the customer's webhook is the administrators' business
      return req.user!.isAdmin ? m : { ...m, customerWebhook: null };
    }),
  );

  app.put(
    '/api/v1/deployments/:name/management',
    {
      schema: {
        params,
        body: {
          type: 'object',
          properties: { mode: { type: 'string', enum: MODES }, publicServer: url, customerWebhook: url },
          required: ['mode'],
          additionalProperties: false,
        },
        response: R(management),
      },
      preHandler: admin,
    },
    h(async (req: Req<{ mode: ManagementMode; publicServer?: string; customerWebhook?: string }>) => {
      const { mode } = req.body;
      const publicServer =
        req.body.publicServer === undefined ? null : publicServerUrl(req.body.publicServer);
      let customerWebhook: string | null = null;
      if (req.body.customerWebhook !== undefined)
        try {
          customerWebhook = parseWebhookUrls([req.body.customerWebhook])[0];
        } catch (e) {
          throw new ControlError('BAD_REQUEST', (e as Error).message);
        }
      if (mode !== 'private' && !publicServer)
        throw new ControlError(
          'BAD_REQUEST',
          `mode ${mode} needs publicServer: the API server's public endpoint`,
        );
      if (mode === 'private' && publicServer)
        throw new ControlError(
          'BAD_REQUEST',
          'mode private never uses a public endpoint: leave publicServer out',
        );
      if (mode === 'private-with-public-fallback' && !customerWebhook)
        throw new ControlError(
          'BAD_REQUEST',
          'mode private-with-public-fallback needs customerWebhook: the customer is told of every break-glass',
        );
      return store.setManagement(`user:${req.user!.name}`, req.params.name, {
        mode,
        publicServer,
        customerWebhook,
      });
    }),
  );

  app.post(
    '/api/v1/deployments/:name/break-glass',
    {
      schema: {
        params,
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
        response: R(
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
      },
      preHandler: signedIn,
    },
    h(async (req: Req<{ reason: string; service: string; overlay: string }>, reply) => {
      const user = req.user!.name;
      const r = await store.recordBreakGlass(`user:${user}`, req.params.name, req.body);
      d.notify(
        [
          {
            kind: 'notify',
            topic: 'break-glass',
            subject: `deployment:${r.deployment}`,
            at: r.at,
            text: `${user} used the public management endpoint of ${r.deployment} (${req.body.service}) because the overlay is down (${req.body.overlay}). Reason: ${req.body.reason}`,
          },
        ],
        r.customerWebhook ? [r.customerWebhook] : [],
      );
      // the customer's local audit (the connectors connected now; the others when they connect)
      for (const x of await store.breakGlassSince(r.deploymentId, r.at))
        d.hub.notice(r.deploymentId, {
          id: x.seq,
          action: 'mgmt.break-glass',
          at: x.time,
          actor: x.actor,
          details: x.details,
        });
      void reply.code(201);
      return { at: r.at, deployment: r.deployment, publicServer: r.publicServer };
    }),
  );
}
