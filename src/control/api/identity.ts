// Users and groups (administrators). Disabling a user, deleting a group or changing a membership
// recomputes the netmaps it concerns.
import type { FastifyInstance } from 'fastify';
import { affectedNodes } from '../affected.ts';
import { ControlError } from '../errors.ts';
import { handle } from '../handle.ts';
import { routes } from '../routes/index.ts';
import type { ApiDeps } from './deps.ts';
import { actor } from './views.ts';

export function registerUsers(app: FastifyInstance, d: ApiDeps): void {
  const { store, hub } = d;
  const admin = { preHandler: d.auth.preHandler(true) };

  handle(app, routes.usersList, admin, () => store.listUsers());
  handle(app, routes.usersCreate, admin, async (req, reply) => {
    reply.code(201);
    return store.createUser(actor(req), req.body);
  });
  for (const [r, disabled] of [
    [routes.usersDisable, true],
    [routes.usersEnable, false],
  ] as const) {
    handle(app, r, admin, async (req) => {
      const before = await store.getUser(req.params.name);
      const nodes = (await store.listNodes()).filter((n) => n.userId === before.id);
      const prev = nodes.flatMap((n) => hub.session(n.id)?.netmap?.peers.map((p) => p.key) ?? []);
      const u = await store.setUserDisabled(actor(req), req.params.name, disabled);
      // As for a revoked node: offline nodes have no session naming their peers.
      const holders = hub.idsWithPeer(new Set(nodes.map((n) => n.publicKey)));
      await hub.changed({
        type: 'user',
        userId: u.id,
        nodes,
        previousPeers: prev,
        previousPeerIds: holders,
      });
      return u;
    });
  }
}

export function registerGroups(app: FastifyInstance, d: ApiDeps): void {
  const { store, hub } = d;
  const admin = { preHandler: d.auth.preHandler(true) };

  handle(app, routes.groupsList, admin, () => store.listGroups());
  handle(app, routes.groupsCreate, admin, async (req, reply) => {
    reply.code(201);
    return store.createGroup(actor(req), req.body.name);
  });
  handle(app, routes.groupsDelete, admin, async (req) => {
    const g = (await store.listGroups()).find((x) => x.name === req.params.name);
    if (!g) throw new ControlError('NOT_FOUND', `no group ${req.params.name}`);
    const grants = (await store.listGrants()).filter(
      (x) => x.subjectType === 'group' && x.subjectId === g.id,
    );
    const affected = new Set<string>();
    for (const grant of grants)
      for (const id of await affectedNodes({ type: 'grant', grant }, store)) affected.add(id);
    await store.deleteGroup(actor(req), req.params.name);
    for (const id of affected) await hub.refresh(id);
    return { ok: true };
  });
  for (const [r, member] of [
    [routes.groupMembersAdd, true],
    [routes.groupMembersRemove, false],
  ] as const) {
    handle(app, r, admin, async (req) => {
      const m = await store.setMembership(actor(req), req.params.name, req.params.user, member);
      await hub.changed({ type: 'membership', ...m });
      return { ok: true };
    });
  }
}
