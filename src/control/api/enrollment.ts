// Pre-auth keys and the node list (administrators).
import type { FastifyInstance } from 'fastify';
import { handle } from '../handle.ts';
import { routes } from '../routes/index.ts';
import type { ApiDeps } from './deps.ts';
import { actor, namesOf, nodeView, preauthView } from './views.ts';

export function registerPreauthKeys(app: FastifyInstance, d: ApiDeps): void {
  const { store } = d;
  const admin = { preHandler: d.auth.preHandler(true) };

  handle(app, routes.preauthKeysList, admin, async () => {
    const names = await namesOf(store);
    return (await store.listPreauthKeys()).map((k) => preauthView(k, names));
  });
  handle(app, routes.preauthKeysCreate, admin, async (req, reply) => {
    const b = req.body;
    const { key, record } = await store.createPreauthKey(actor(req), {
      ...(b.deployment !== undefined ? { deployment: b.deployment } : {}),
      ...(b.user !== undefined ? { user: b.user } : {}),
      reusable: b.reusable ?? false,
      expiresAt: store.now() + (b.expiresInSeconds ?? 3600) * 1000,
    });
    reply.code(201);
    return { ...preauthView(record, await namesOf(store)), key };
  });
  handle(app, routes.preauthKeysRevoke, admin, async (req) => {
    await store.revokePreauthKey(actor(req), req.params.id);
    return { ok: true };
  });
}

export function registerNodes(app: FastifyInstance, d: ApiDeps): void {
  const { store, hub } = d;
  const admin = { preHandler: d.auth.preHandler(true) };

  handle(app, routes.nodesList, admin, async () => {
    const names = await namesOf(store);
    return (await store.listNodes()).map((n) => nodeView(hub, n, names));
  });
  handle(app, routes.nodesRevoke, admin, async (req) => {
    const before = await store.getNodeByKey(req.body.key);
    const prev = before ? (hub.session(before.id)?.netmap?.peers.map((p) => p.key) ?? []) : [];
    const n = await store.revokeNode(actor(req), req.body.key);
    // Its own session lists its peers only while it is online: the sessions here that list it
    // are its peers too (an offline node's peers must lose it as well).
    const holders = hub.idsWithPeer(new Set([req.body.key]));
    await hub.changed({ type: 'node', node: n, previousPeers: prev, previousPeerIds: holders });
    return nodeView(hub, n, await namesOf(store));
  });
}
