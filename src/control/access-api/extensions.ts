// Extension requests: list them (scoped by mayView through their grant's deployment) and decide
// them like requests. Approving needs a recent sign-in (bearer.ts).
import type { FastifyInstance } from 'fastify';
import { emptyBody, handle } from '../handle.ts';
import { routes } from '../routes/index.ts';
import { answer, mayView, signedIn, type AccessApiDeps } from './shared.ts';

export function registerExtensions(app: FastifyInstance, d: AccessApiDeps): void {
  const { store, access } = d;
  const guard = signedIn(d);

  handle(app, routes.extensionsList, guard, async (req) => {
    const a = await store.accessActor(req.user!.name);
    const rows = await store.listAccessExtensions({
      ...(req.query.grant ? { grantId: req.query.grant } : {}),
      ...(req.query.status ? { status: req.query.status } : {}),
    });
    const deployments = new Map<string, string>();
    for (const x of rows)
      if (!deployments.has(x.grantId))
        deployments.set(x.grantId, (await store.getAccessGrant(x.grantId))?.deployment ?? '');
    return rows.filter((x) => mayView(a, x.requester, x.rules, deployments.get(x.grantId)!));
  });
  for (const [r, verb] of [
    [routes.extensionsApprove, 'approve'],
    [routes.extensionsCancel, 'cancel'],
  ] as const)
    handle(app, r, { ...guard, preValidation: emptyBody }, async (req, reply) => {
      if (verb === 'approve') d.auth.requireRecent(req, 'approving');
      const actor = await store.accessActor(req.user!.name);
      const res = await store.extensionEvent(actor.id, req.params.id, { type: verb, actor });
      return answer(reply, await access.after(res));
    });
  handle(app, routes.extensionsDeny, guard, async (req, reply) => {
    const actor = await store.accessActor(req.user!.name);
    const r = await store.extensionEvent(actor.id, req.params.id, {
      type: 'deny',
      actor,
      reason: req.body.reason,
    });
    return answer(reply, await access.after(r));
  });
}
