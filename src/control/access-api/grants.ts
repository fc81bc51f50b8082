// Request-derived grants: list and read them (scoped by mayView), revoke one, ask to extend one.
import type { FastifyInstance } from 'fastify';
import { ControlError } from '../errors.ts';
import { emptyBody, handle } from '../handle.ts';
import { routes } from '../routes/index.ts';
import { answer, durationOf, mayView, signedIn, type AccessApiDeps } from './shared.ts';

export function registerAccessGrants(app: FastifyInstance, d: AccessApiDeps): void {
  const { store, access } = d;
  const guard = signedIn(d);

  handle(app, routes.accessGrantsList, guard, async (req) => {
    const a = await store.accessActor(req.user!.name);
    const rows = await store.listAccessGrants(req.query.status ? { status: req.query.status } : {});
    return rows.filter((g) => mayView(a, g.subject, g.rules, g.deployment));
  });
  handle(app, routes.accessGrantsGet, guard, async (req) => {
    const a = await store.accessActor(req.user!.name);
    const g = await store.getAccessGrant(req.params.id);
    if (!g || !mayView(a, g.subject, g.rules, g.deployment))
      throw new ControlError('NOT_FOUND', `no grant ${req.params.id}`);
    return g;
  });
  handle(app, routes.accessGrantsRevoke, { ...guard, preValidation: emptyBody }, async (req, reply) => {
    const r = await store.accessGrantEvent(req.user!.name, req.params.id, {
      type: 'revoke',
      reason: req.body?.reason ?? '',
    });
    return answer(reply, await access.after(r));
  });
  handle(app, routes.accessGrantsExtend, guard, async (req, reply) => {
    const r = await store.openAccessExtension(req.user!.name, req.params.id, {
      addMs: durationOf(req.body.duration),
      reason: req.body.reason,
    });
    return answer(reply, await access.after(r), 201);
  });
}
