// The admin HTTP API under /api/v1 (Fastify): every route has a JSON schema; bodies with unknown
// or malformed fields are refused with 400 before any handler runs, so nothing is written.
// Auth: `Authorization: Bearer <token>` from POST /api/v1/login; admin routes need an admin user.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { Store, UserRecord, NodeRecord, GrantRecord, PreauthKeyRecord } from '../store/index.ts';
import type { AccessLevel } from '../access/index.ts';
import type { Hub } from './hub.ts';
import type { AuditSignerState } from './audit-signer.ts';
import type { TimerOwnerState } from './timer-owner.ts';
import type { FanoutState } from './fanout.ts';
import { ControlError } from './errors.ts';
import { bearerToken, type SessionAuth } from './bearer.ts';
import { emptyBody, S } from './schemas.ts';
import { tailnetName } from './netmap.ts';
import { affectedNodes } from './affected.ts';
import { CHALLENGE_TTL_MS, type DeviceLoginGuard } from './device-login.ts';

export interface ApiDeps {
  /** Bearer tokens and console sessions (bearer.ts). */
  auth: SessionAuth;
  store: Store;
  hub: Hub;
  suffix: string;
  publicKey: string;
  signingKey: string;
  /** The Ed25519 key that signs audit checkpoints, base64 (`audit verify --trust-key`). */
  auditKey: string;
  /** The listener certificate: where it comes from, its fingerprint, notAfter, next renewal, last error. */
  tlsState?: () => {
    source: string;
    fingerprint: string;
    notAfter: string;
    renewAt?: string;
    lastError?: string;
  };
  /** The audit signer's state: /health is 503 while it is halted (AUDIT_REWRITE). */
  auditState?: () => AuditSignerState;
  /** Who runs the timers, and the netmap fan-out's state (several coordinators), for /health. */
  clusterState?: () => { timers: TimerOwnerState; fanout?: FanoutState };
  /** The root CA (PEM) that service and client certificates chain to. */
  rootCaPem: string;
  /** Bearer token lifetime. */
  tokenTtlMs: number;
  deviceCodeTtlMs: number;
  /** Where users approve device codes (shown by `sallyport login`). */
  verificationUri: string;
  /** Proof of the node key for device/start (device-login.ts). */
  deviceGuard: DeviceLoginGuard;
}

declare module 'fastify' {
  interface FastifyRequest {
    user?: UserRecord;
  }
}

type Req<B = unknown, P = Record<string, string>, Q = Record<string, string>> = FastifyRequest<{
  Body: B;
  Params: P;
  Querystring: Q;
}>;
/** Types a handler's request (the schema has already validated body, params and query). */
const h = <B, P, Q>(fn: (req: Req<B, P, Q>, reply: FastifyReply) => unknown): RouteHandlerMethod =>
  fn as unknown as RouteHandlerMethod;

export function registerApi(app: FastifyInstance, d: ApiDeps): void {
  const { store, hub } = d;

  const admin = { preHandler: d.auth.preHandler(true) };
  const signedIn = { preHandler: d.auth.preHandler(false) };
  const anyone = { preHandler: d.auth.preHandler(false, true) };
  const actor = (req: FastifyRequest) => `user:${req.user!.name}`;
  const nameOf = async () => {
    const [deps, users] = await Promise.all([store.listDeployments(), store.listUsers()]);
    return {
      dep: (id: string | null) => (id ? (deps.find((x) => x.id === id)?.name ?? null) : null),
      user: (id: string | null) => (id ? (users.find((x) => x.id === id)?.name ?? null) : null),
    };
  };
  const nodeView = (n: NodeRecord, names: Awaited<ReturnType<typeof nameOf>>) => ({
    ...n,
    deployment: names.dep(n.deploymentId),
    user: names.user(n.userId),
    online: hub.session(n.id) !== undefined,
    peerPaths: hub.session(n.id)?.paths ?? null,
  });
  const preauthView = (k: PreauthKeyRecord, names: Awaited<ReturnType<typeof nameOf>>) => ({
    ...k,
    deployment: names.dep(k.deploymentId),
    user: names.user(k.userId),
  });
  const grantView = async (g: GrantRecord & { deployment: string }) => {
    let name = g.subjectId;
    if (g.subjectType === 'node') name = (await store.getNode(g.subjectId))?.publicKey ?? g.subjectId;
    else if (g.subjectType === 'user')
      name = (await store.listUsers()).find((u) => u.id === g.subjectId)?.name ?? g.subjectId;
    else name = (await store.listGroups()).find((x) => x.id === g.subjectId)?.name ?? g.subjectId;
    return { ...g, subject: { type: g.subjectType, name } };
  };

  // ── public ──
  app.get('/api/v1/info', { schema: S.info }, async () => ({
    publicKey: d.publicKey,
    signingKey: d.signingKey,
    auditKey: d.auditKey,
    rootCaPem: d.rootCaPem,
    suffix: d.suffix,
    version: 1,
  }));
  app.get('/health', { schema: S.health }, async (_req, reply) => {
    const audit = d.auditState?.() ?? { signer: 'ok' as const, anchorSeq: 0 };
    const ok = audit.signer === 'ok';
    if (!ok) void reply.code(503);
    return {
      ok,
      sessions: hub.size,
      audit,
      ...(d.tlsState ? { tls: d.tlsState() } : {}),
      ...d.clusterState?.(),
    };
  });

  app.post(
    '/api/v1/login',
    { schema: S.login },
    h(async (req: Req<{ user: string; password: string }>) => {
      try {
        return await store.login(req.body.user, req.body.password, d.tokenTtlMs);
      } catch {
        throw new ControlError('UNAUTHORIZED', 'wrong user name or password, or account disabled');
      }
    }),
  );
  app.get('/api/v1/whoami', { schema: S.whoami, ...anyone }, async (req) => {
    const a = await store.accessActor(req.user!.name);
    return {
      ...req.user!,
      groups: [...a.groups],
      signIn: req.signIn,
      ...(a.customerOf
        ? {
            customer: a.customer ?? null,
            deployments: a.customerOf,
          }
        : {}),
    };
  });
  app.post(
    '/api/v1/logout',
    {
      schema: S.logout,
      ...anyone,
      preValidation: emptyBody,
    },
    h(async (req: Req) => {
      // The preHandler accepted this very header.
      const token = bearerToken(req)!;
      return { ok: await store.logout(token) };
    }),
  );

  // ── deployments and services ──
  app.get('/api/v1/deployments', { schema: S.listDeployments, ...admin }, () => store.listDeployments());
  app.post(
    '/api/v1/deployments',
    { schema: S.createDeployment, ...admin },
    h(async (req: Req<{ name: string; region: string; cloud: string }>, reply: FastifyReply) => {
      reply.code(201);
      return store.createDeployment(actor(req), req.body);
    }),
  );
  app.delete(
    '/api/v1/deployments/:name',
    { schema: S.deploymentParams, ...admin },
    h(async (req: Req<unknown, { name: string }>) => {
      const dep = await store.getDeployment(req.params.name);
      const connectors = await store.connectorIdsOf(dep.id);
      if (connectors.length)
        throw new ControlError('CONFLICT', 'the deployment still has connector nodes: revoke them first');
      await store.deleteDeployment(actor(req), req.params.name);
      return { ok: true };
    }),
  );

  const serviceViews = async (deployment?: string) => {
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
        d.suffix,
      ),
      connectorKey: nodes.find((n) => n.id === s.connectorId)?.publicKey ?? null,
    }));
  };
  app.get(
    '/api/v1/services',
    { schema: S.listServices, ...admin },
    h((req: Req<unknown, never, { deployment?: string }>) => serviceViews(req.query.deployment)),
  );
  app.put(
    '/api/v1/deployments/:deployment/services/:name',
    { schema: S.putService, ...admin },
    h(
      async (
        req: Req<
          {
            kind: 'tcp';
            address: string;
            tlsMode?: 'terminate' | 'passthrough';
            labels?: Record<string, string>;
          },
          { deployment: string; name: string }
        >,
      ) => {
        const s = await store.upsertService(actor(req), {
          ...req.body,
          deployment: req.params.deployment,
          name: req.params.name,
        });
        await hub.changed({ type: 'services', deploymentId: s.deploymentId });
        return (await serviceViews(req.params.deployment)).find((x) => x.name === s.name);
      },
    ),
  );
  // An administrator moves a service to another live connector of its deployment, or releases it
  // (key null); a connector itself can never take over another's service (agent-channel.ts).
  app.put(
    '/api/v1/deployments/:deployment/services/:name/connector',
    { schema: S.bindService, ...admin },
    h(async (req: Req<{ key: string | null }, { deployment: string; name: string }>) => {
      const s = await store.bindService(actor(req), {
        deployment: req.params.deployment,
        name: req.params.name,
        connectorKey: req.body.key,
      });
      await hub.changed({ type: 'services', deploymentId: s.deploymentId });
      return (await serviceViews(req.params.deployment)).find((x) => x.name === s.name);
    }),
  );
  app.delete(
    '/api/v1/deployments/:deployment/services/:name',
    { schema: S.deleteService, ...admin },
    h(async (req: Req<unknown, { deployment: string; name: string }>) => {
      const dep = await store.getDeployment(req.params.deployment);
      await store.deleteService(actor(req), req.params.deployment, req.params.name);
      await hub.changed({ type: 'services', deploymentId: dep.id });
      return { ok: true };
    }),
  );

  // ── pre-auth keys ──
  app.get('/api/v1/preauth-keys', { schema: S.listPreauth, ...admin }, async () => {
    const names = await nameOf();
    return (await store.listPreauthKeys()).map((k) => preauthView(k, names));
  });
  app.post(
    '/api/v1/preauth-keys',
    { schema: S.createPreauth, ...admin },
    h(
      h(
        async (
          req: Req<{ deployment?: string; user?: string; reusable?: boolean; expiresInSeconds?: number }>,
          reply: FastifyReply,
        ) => {
          const b = req.body;
          const { key, record } = await store.createPreauthKey(actor(req), {
            ...(b.deployment !== undefined ? { deployment: b.deployment } : {}),
            ...(b.user !== undefined ? { user: b.user } : {}),
            reusable: b.reusable ?? false,
            expiresAt: store.now() + (b.expiresInSeconds ?? 3600) * 1000,
          });
          reply.code(201);
          return { ...preauthView(record, await nameOf()), key };
        },
      ),
    ),
  );
  app.delete(
    '/api/v1/preauth-keys/:id',
    { schema: S.idParams, ...admin },
    h(async (req: Req<unknown, { id: string }>) => {
      await store.revokePreauthKey(actor(req), req.params.id);
      return { ok: true };
    }),
  );

  // ── users and groups ──
  app.get('/api/v1/users', { schema: S.listUsers, ...admin }, () => store.listUsers());
  app.post(
    '/api/v1/users',
    { schema: S.createUser, ...admin },
    h(
      async (
        req: Req<{ name: string; password: string; admin?: boolean; customer?: string }>,
        reply: FastifyReply,
      ) => {
        reply.code(201);
        return store.createUser(actor(req), req.body);
      },
    ),
  );
  for (const [verb, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    app.post(
      `/api/v1/users/:name/${verb}`,
      { schema: S.userAction, ...admin },
      h(async (req: Req<unknown, { name: string }>) => {
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
      }),
    );
  }
  app.get('/api/v1/groups', { schema: S.listGroups, ...admin }, () => store.listGroups());
  app.post(
    '/api/v1/groups',
    { schema: S.createGroup, ...admin },
    h(async (req: Req<{ name: string }>, reply: FastifyReply) => {
      reply.code(201);
      return store.createGroup(actor(req), req.body.name);
    }),
  );
  app.delete(
    '/api/v1/groups/:name',
    { schema: S.groupParams, ...admin },
    h(async (req: Req<unknown, { name: string }>) => {
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
    }),
  );
  for (const [method, member] of [
    ['put', true],
    ['delete', false],
  ] as const) {
    app[method](
      '/api/v1/groups/:name/members/:user',
      { schema: S.memberParams, ...admin },
      h(async (req: Req<unknown, { name: string; user: string }>) => {
        const m = await store.setMembership(actor(req), req.params.name, req.params.user, member);
        await hub.changed({ type: 'membership', ...m });
        return { ok: true };
      }),
    );
  }

  // ── standing grants ──
  app.get(
    '/api/v1/grants',
    { schema: S.listGrants, ...admin },
    h(async (req: Req<unknown, never, { deployment?: string }>) =>
      Promise.all(
        (
          await store.listGrants(
            req.query.deployment !== undefined ? { deployment: req.query.deployment } : {},
          )
        ).map(grantView),
      ),
    ),
  );
  app.post(
    '/api/v1/grants',
    { schema: S.createGrant, ...admin },
    h(
      async (
        req: Req<{
          subject: { type: 'user' | 'group' | 'node'; name: string };
          deployment: string;
          services: string[];
          expiresInSeconds?: number;
          access?: AccessLevel;
        }>,
        reply: FastifyReply,
      ) => {
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
        return grantView({ ...g, deployment: b.deployment });
      },
    ),
  );
  app.delete(
    '/api/v1/grants/:id',
    { schema: S.idParams, ...admin },
    h(async (req: Req<unknown, { id: string }>) => {
      const g = await store.revokeGrant(actor(req), req.params.id);
      await hub.changed({ type: 'grant', grant: g });
      return { ok: true };
    }),
  );

  // ── nodes ──
  app.get('/api/v1/nodes', { schema: S.listNodes, ...admin }, async () => {
    const names = await nameOf();
    return (await store.listNodes()).map((n) => nodeView(n, names));
  });
  app.post(
    '/api/v1/nodes/revoke',
    { schema: S.revokeNode, ...admin },
    h(async (req: Req<{ key: string }>) => {
      const before = await store.getNodeByKey(req.body.key);
      const prev = before ? (hub.session(before.id)?.netmap?.peers.map((p) => p.key) ?? []) : [];
      const n = await store.revokeNode(actor(req), req.body.key);
      // Its own session lists its peers only while it is online: the sessions here that list it
      // are its peers too (an offline node's peers must lose it as well).
      const holders = hub.idsWithPeer(new Set([req.body.key]));
      await hub.changed({ type: 'node', node: n, previousPeers: prev, previousPeerIds: holders });
      return nodeView(n, await nameOf());
    }),
  );

  // ── device login (engineer machines) ──
  // Unauthenticated: the caller proves it holds the node key (a MAC over a fresh challenge,
  // keyed by X25519 with the coordinator's channel key: src/proto/control/device-proof.ts).
  app.get('/api/v1/device/challenge', { schema: S.deviceChallenge }, async (_req, reply) => {
    void reply.header('cache-control', 'no-store');
    return { challenge: d.deviceGuard.challenge(), expiresIn: CHALLENGE_TTL_MS / 1000 };
  });
  app.post(
    '/api/v1/device/start',
    { schema: S.deviceStart },
    h(async (req: Req<{ nodeKey: string; name?: string; challenge: string; proof: string }>, reply) => {
      const wait = d.deviceGuard.waitMs(req.ip);
      if (wait > 0) {
        const s = Math.ceil(wait / 1000);
        return reply
          .code(429)
          .header('retry-after', String(s))
          .send({
            error: {
              code: 'RATE_LIMITED',
              message: `too many device logins started from this address: try again in ${s} s`,
            },
          });
      }
      d.deviceGuard.checkProof({
        nodeKey: req.body.nodeKey,
        name: req.body.name ?? '',
        challenge: req.body.challenge,
        proof: req.body.proof,
      });
      const r = await store.startDeviceLogin({
        nodeKey: req.body.nodeKey,
        name: req.body.name ?? 'device',
        ttlMs: d.deviceCodeTtlMs,
      });
      d.deviceGuard.started(req.ip);
      return {
        deviceCode: r.deviceCode,
        userCode: r.userCode,
        verificationUri: d.verificationUri,
        expiresIn: Math.round(d.deviceCodeTtlMs / 1000),
      };
    }),
  );
  app.post(
    '/api/v1/device/approve',
    { schema: S.deviceApprove, ...signedIn },
    h(async (req: Req<{ userCode: string }>) => {
      const code = req.body.userCode.toUpperCase().replace(/^([A-Z]{4})-?([A-Z]{4})$/, '$1-$2');
      const n = await store.approveDeviceLogin(req.user!, code);
      await hub.changed({ type: 'node', node: n, previousPeers: [] });
      return nodeView(n, await nameOf());
    }),
  );
  app.post(
    '/api/v1/device/poll',
    { schema: S.devicePoll },
    h(async (req: Req<{ deviceCode: string }>) => {
      const r = await store.pollDeviceLogin(req.body.deviceCode);
      return r.node ? { status: r.status, node: nodeView(r.node, await nameOf()) } : { status: r.status };
    }),
  );

  // ── audit ──
  app.get(
    '/api/v1/audit',
    { schema: S.audit, ...admin },
    h((req: Req<unknown, never, { after?: string; limit?: string }>) =>
      store.listAudit({ afterSeq: Number(req.query.after ?? 0), limit: Number(req.query.limit ?? 1000) }),
    ),
  );
  // Signs the head first (an export's records then end under a signature), then lists every
  // checkpoint and every key that signed one, the current audit key first.
  app.get('/api/v1/audit/checkpoints', { schema: S.auditCheckpoints, ...admin }, async () => {
    await store.signAuditHead();
    const stored = await store.listAuditCheckpoints();
    const keys = [...new Set([d.auditKey, ...stored.map((c) => c.publicKey)])];
    const checkpoints = stored.map(({ seq, hash, time, keyId, signature }) => ({
      seq,
      hash,
      time,
      keyId,
      signature,
    }));
    return { keys, checkpoints };
  });
}
