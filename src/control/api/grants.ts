// Standing grants (administrators): each change recomputes the netmaps it concerns.
import type { FastifyInstance } from 'fastify';
import { handle } from '../handle.ts';
import { routes } from '../routes/index.ts';
import type { ApiDeps } from './deps.ts';
import { actor, grantView } from './views.ts';

export function registerStandingGrants(app: FastifyInstance, d: ApiDeps): void {
  const { store, hub } = d;
  const admin = { preHandler: d.auth.preHandler(true) };

  handle(app, routes.grantsList, admin, async (req) => {
    const q = req.query.deployment !== undefined ? { deployment: req.query.deployment } : {};
    return Promise.all((await store.listGrants(q)).map((g) => grantView(store, g)));
  });
  handle(app, routes.grantsCreate, admin, async (req, reply) => {
    const b = req.body;
    const g = await store.createGrant(actor(req), {
      subject: b.subject,
      deployment: b.deployment,
      services: b.services,
      expiresAt: b.expiresInSeconds ? store.now() + b.expiresInSeconds * 1000 : null,
      ...(b.access !== undefined ? { access: b.access } : {}),
    });
    await hub.changed({ type: 'grant', grant: g });
    reply.code(201);
    return grantView(store, { ...g, deployment: b.deployment });
  });
  handle(app, routes.grantsRevoke, admin, async (req) => {
    const g = await store.revokeGrant(actor(req), req.params.id);
    await hub.changed({ type: 'grant', grant: g });
    return { ok: true };
  });
}
