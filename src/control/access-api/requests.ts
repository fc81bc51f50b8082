// Access requests: open one, list and read them (scoped by mayView), and decide them. Approving
// needs a recent sign-in (bearer.ts).
import type { FastifyInstance } from 'fastify';
import { ControlError } from '../errors.ts';
import { emptyBody, handle } from '../handle.ts';
import { routes } from '../routes/index.ts';
import { answer, durationOf, mayView, signedIn, type AccessApiDeps } from './shared.ts';

export function registerRequests(app: FastifyInstance, d: AccessApiDeps): void {
  const { store, access } = d;
  const guard = signedIn(d);

  handle(app, routes.requestsCreate, guard, async (req, reply) => {
    const b = req.body;
    const r = await store.openAccessRequest(req.user!.name, {
      deployment: b.deployment,
      services: b.services,
      reason: b.reason,
      durationMs: durationOf(b.duration),
      ...(b.access !== undefined ? { access: b.access } : {}),
    });
    return answer(reply, await access.after(r), 201);
  });
  handle(app, routes.requestsList, guard, async (req) => {
    const a = await store.accessActor(req.user!.name);
    const rows = await store.listAccessRequests(req.query.status ? { status: req.query.status } : {});
    return rows.filter((r) => mayView(a, r.requester, r.rules, r.deployment));
  });
  handle(app, routes.requestsGet, guard, async (req) => {
    const a = await store.accessActor(req.user!.name);
    const r = await store.getAccessRequest(req.params.id);
    if (!r || !mayView(a, r.requester, r.rules, r.deployment))
      throw new ControlError('NOT_FOUND', `no request ${req.params.id}`);
    return r;
  });
  registerRequestDecisions(app, d);
}

function registerRequestDecisions(app: FastifyInstance, d: AccessApiDeps): void {
  const { store, access } = d;
  const guard = signedIn(d);
  for (const [r, verb] of [
    [routes.requestsApprove, 'approve'],
    [routes.requestsCancel, 'cancel'],
  ] as const)
    handle(app, r, { ...guard, preValidation: emptyBody }, async (req, reply) => {
      if (verb === 'approve') d.auth.requireRecent(req, 'approving');
      const actor = await store.accessActor(req.user!.name);
      const res = await store.requestEvent(actor.id, req.params.id, { type: verb, actor });
      return answer(reply, await access.after(res));
    });
  handle(app, routes.requestsDeny, guard, async (req, reply) => {
    const actor = await store.accessActor(req.user!.name);
    const r = await store.requestEvent(actor.id, req.params.id, {
      type: 'deny',
      actor,
      reason: req.body.reason,
    });
    return answer(reply, await access.after(r));
  });
}
