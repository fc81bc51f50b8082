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
import type { FastifyInstance } from 'fastify';
import type { ManagementMode, Store } from '../store/index.ts';
import type { SessionAuth } from './bearer.ts';
import type { Hub } from './hub.ts';
import { ControlError } from './errors.ts';
import { handle } from './handle.ts';
import { routes } from './routes/index.ts';
import { parseWebhookUrls, type Notice } from './webhooks.ts';

export interface ManagementApiDeps {
  auth: SessionAuth;
  store: Store;
  /** Sends each break-glass to the deployment's connected connectors, for the customer's local audit. */
  hub: Pick<Hub, 'notice'>;
  /** The vendor's webhooks, plus `also` (the customer's). */
  notify: (notices: readonly Notice[], also: readonly string[]) => void;
}

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

/** The settings a PUT asks for, checked: a configuration that could not be enforced is refused. */
export function managementSettings(b: {
  mode: ManagementMode;
  publicServer?: string;
  customerWebhook?: string;
}): {
  mode: ManagementMode;
  publicServer: string | null;
  customerWebhook: string | null;
} {
  const { mode } = b;
  const publicServer = b.publicServer === undefined ? null : publicServerUrl(b.publicServer);
  let customerWebhook: string | null = null;
  if (b.customerWebhook !== undefined)
    try {
      customerWebhook = parseWebhookUrls([b.customerWebhook])[0];
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
  return { mode, publicServer, customerWebhook };
}

export function registerManagementApi(app: FastifyInstance, d: ManagementApiDeps): void {
  const { store } = d;
  const signedIn = { preHandler: d.auth.preHandler(false) };
  const admin = { preHandler: d.auth.preHandler(true) };

  handle(app, routes.managementGet, signedIn, async (req) => {
    const m = await store.getManagement(req.params.name);
    // the customer's webhook is the administrators' business
    return req.user!.isAdmin ? m : { ...m, customerWebhook: null };
  });
  handle(app, routes.managementPut, admin, async (req) =>
    store.setManagement(`user:${req.user!.name}`, req.params.name, managementSettings(req.body)),
  );
  registerBreakGlass(app, d);
}

function registerBreakGlass(app: FastifyInstance, d: ManagementApiDeps): void {
  const { store } = d;
  handle(app, routes.breakGlass, { preHandler: d.auth.preHandler(false) }, async (req, reply) => {
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
  });
}
