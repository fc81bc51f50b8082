// What the admin API shows of the store's records: names instead of ids, and a node's live state.
import type { FastifyRequest } from 'fastify';
import type { GrantRecord, NodeRecord, PreauthKeyRecord, Store } from '../../store/index.ts';
import type { Hub } from '../hub.ts';
import { tailnetName } from '../netmap.ts';
import type { Node, PreauthKey, Service, StandingGrant } from '../routes/index.ts';

/** The audit actor of a signed-in request. */
export const actor = (req: FastifyRequest): string => `user:${req.user!.name}`;

/** Deployment and user names by id, read once per answer. */
export interface Names {
  dep(id: string | null): string | null;
  user(id: string | null): string | null;
}

export async function namesOf(store: Store): Promise<Names> {
  const [deps, users] = await Promise.all([store.listDeployments(), store.listUsers()]);
  return {
    dep: (id) => (id ? (deps.find((x) => x.id === id)?.name ?? null) : null),
    user: (id) => (id ? (users.find((x) => x.id === id)?.name ?? null) : null),
  };
}

export const nodeView = (hub: Hub, n: NodeRecord, names: Names): Node => ({
  ...n,
  deployment: names.dep(n.deploymentId),
  user: names.user(n.userId),
  online: hub.session(n.id) !== undefined,
  peerPaths: hub.session(n.id)?.paths ?? null,
});

export const preauthView = (k: PreauthKeyRecord, names: Names): PreauthKey => ({
  ...k,
  deployment: names.dep(k.deploymentId),
  user: names.user(k.userId),
});

/** A standing grant with its subject named (a node by its public key). */
export async function grantView(
  store: Store,
  g: GrantRecord & { deployment: string },
): Promise<StandingGrant> {
  let name = g.subjectId;
  if (g.subjectType === 'node') name = (await store.getNode(g.subjectId))?.publicKey ?? g.subjectId;
  else if (g.subjectType === 'user')
    name = (await store.listUsers()).find((u) => u.id === g.subjectId)?.name ?? g.subjectId;
  else name = (await store.listGroups()).find((x) => x.id === g.subjectId)?.name ?? g.subjectId;
  return { ...g, subject: { type: g.subjectType, name } };
}

/** The services (of one deployment, or all) with their tailnet names and connectors' keys. */
export async function serviceViews(store: Store, suffix: string, deployment?: string): Promise<Service[]> {
  const [svcs, deps, nodes] = await Promise.all([
    store.listServices(deployment),
    store.listDeployments(),
    store.listNodes(),
  ]);
  return svcs.map((s) => ({
    ...s,
    tailnetName: tailnetName(
      s.name,
      deps.find((x) => x.id === s.deploymentId)!,
      suffix,
    ),
    connectorKey: nodes.find((n) => n.id === s.connectorId)?.publicKey ?? null,
  }));
}
