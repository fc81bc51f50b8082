// Deployments and their services (administrators).
import type { FastifyInstance } from 'fastify';
import { ControlError } from '../errors.ts';
import { handle } from '../handle.ts';
import { routes } from '../routes/index.ts';
import type { ApiDeps } from './deps.ts';
import { actor, serviceViews } from './views.ts';

export function registerDeployments(app: FastifyInstance, d: ApiDeps): void {
  const { store } = d;
  const admin = { preHandler: d.auth.preHandler(true) };

  handle(app, routes.deploymentsList, admin, () => store.listDeployments());
  handle(app, routes.deploymentsCreate, admin, async (req, reply) => {
    reply.code(201);
    return store.createDeployment(actor(req), req.body);
  });
  handle(app, routes.deploymentsDelete, admin, async (req) => {
    const dep = await store.getDeployment(req.params.name);
    const connectors = await store.connectorIdsOf(dep.id);
    if (connectors.length)
      throw new ControlError('CONFLICT', 'the deployment still has connector nodes: revoke them first');
    await store.deleteDeployment(actor(req), req.params.name);
    return { ok: true };
  });
}

export function registerServices(app: FastifyInstance, d: ApiDeps): void {
  const { store, hub } = d;
  const admin = { preHandler: d.auth.preHandler(true) };
  const viewOf = async (deployment: string, name: string) =>
    (await serviceViews(store, d.suffix, deployment)).find((x) => x.name === name)!;

  handle(app, routes.servicesList, admin, (req) => serviceViews(store, d.suffix, req.query.deployment));
  handle(app, routes.servicesPut, admin, async (req) => {
    const s = await store.upsertService(actor(req), {
      ...req.body,
      deployment: req.params.deployment,
      name: req.params.name,
    });
    await hub.changed({ type: 'services', deploymentId: s.deploymentId });
    return viewOf(req.params.deployment, s.name);
  });
  // An administrator moves a service to another live connector of its deployment, or releases it
  // (key null); a connector itself can never take over another's service (agent-channel.ts).
  handle(app, routes.servicesBind, admin, async (req) => {
    const s = await store.bindService(actor(req), {
      deployment: req.params.deployment,
      name: req.params.name,
      connectorKey: req.body.key,
    });
    await hub.changed({ type: 'services', deploymentId: s.deploymentId });
    return viewOf(req.params.deployment, s.name);
  });
  handle(app, routes.servicesDelete, admin, async (req) => {
    const dep = await store.getDeployment(req.params.deployment);
    await store.deleteService(actor(req), req.params.deployment, req.params.name);
    await hub.changed({ type: 'services', deploymentId: dep.id });
    return { ok: true };
  });
}
