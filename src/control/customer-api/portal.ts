// A customer's person: their customer, and the switches of its deployments. Only the customer's
// people flip them, and only those the vendor allows; switching noAccess on revokes every active
// grant there at once. The vendor cannot flip a customer's switch for it, as it cannot approve
// for it.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor } from '../../access/index.ts';
import { hoursProblem } from '../../access/index.ts';
import { ControlError } from '../errors.ts';
import { handle } from '../handle.ts';
import { routes } from '../routes/index.ts';
import type { CustomerApiDeps } from './deps.ts';

export function registerPortal(app: FastifyInstance, d: CustomerApiDeps): void {
  const { store } = d;
  const anyone = { preHandler: d.auth.preHandler(false, true) };

  handle(app, routes.customerGet, anyone, async (req) => {
    const a = await store.accessActor(req.user!.name);
    if (!a.customerOf) throw new ControlError('NOT_FOUND', "you are the vendor's, not a customer's person");
    const c = (await store.listCustomers()).find((x) => x.name === a.customer);
    if (!c) throw new ControlError('NOT_FOUND', 'your customer is gone');
    return {
      customer: { ...c, webhook: c.webhook ? 'set' : null },
      controls: await Promise.all(c.deployments.map((dep) => store.deploymentControls(dep))),
    };
  });
  handle(app, routes.controlsGet, anyone, async (req) => {
    await scoped(d, req, req.params.name);
    return store.deploymentControls(req.params.name);
  });
  handle(app, routes.controlsPut, anyone, async (req) => {
    const a = await scoped(d, req, req.params.name);
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
    const revoked = req.body.noAccess ? await revokeAll(d, a, req.params.name) : [];
    return { ...after, revoked };
  });
}

/** The caller, if the deployment is theirs (its customer's person) or they administer. */
async function scoped(d: CustomerApiDeps, req: FastifyRequest, deployment: string): Promise<Actor> {
  const a = await d.store.accessActor(req.user!.name);
  if (a.customerOf ? !a.customerOf.includes(deployment) : !a.admin)
    throw new ControlError('NOT_FOUND', `no deployment ${deployment} of yours`);
  return a;
}

/** Revokes every active grant on `deployment` (the customer switched vendor access off). */
async function revokeAll(d: CustomerApiDeps, a: Actor, deployment: string): Promise<string[]> {
  const revoked: string[] = [];
  for (const g of await d.store.listAccessGrants({ status: 'active' })) {
    if (g.deployment !== deployment) continue;
    const r = await d.store.accessGrantEvent(a.id, g.id, {
      type: 'revoke',
      reason: 'the customer switched off all vendor access',
    });
    await d.access.after(r);
    if (r.ok) revoked.push(g.id);
  }
  return revoked;
}
