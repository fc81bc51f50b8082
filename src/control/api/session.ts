// Who the coordinator is (/api/v1/info, /health) and password sign-in, whoami and sign-out.
import type { FastifyInstance } from 'fastify';
import { ControlError } from '../errors.ts';
import { bearerToken } from '../bearer.ts';
import { emptyBody, handle } from '../handle.ts';
import { routes } from '../routes/index.ts';
import type { ApiDeps } from './deps.ts';

export function registerSessionRoutes(app: FastifyInstance, d: ApiDeps): void {
  const { store } = d;
  const anyone = d.auth.preHandler(false, true);

  handle(app, routes.info, {}, async () => ({
    publicKey: d.publicKey,
    signingKey: d.signingKey,
    auditKey: d.auditKey,
    rootCaPem: d.rootCaPem,
    suffix: d.suffix,
    version: 1,
  }));
  handle(app, routes.health, {}, async (_req, reply) => {
    const audit = d.auditState?.() ?? { signer: 'ok' as const, anchorSeq: 0 };
    const ok = audit.signer === 'ok';
    if (!ok) void reply.code(503);
    return {
      ok,
      sessions: d.hub.size,
      audit,
      ...(d.tlsState ? { tls: d.tlsState() } : {}),
      ...d.clusterState?.(),
    };
  });

  handle(app, routes.login, {}, async (req) => {
    try {
      return await store.login(req.body.user, req.body.password, d.tokenTtlMs);
    } catch {
      throw new ControlError('UNAUTHORIZED', 'wrong user name or password, or account disabled');
    }
  });
  handle(app, routes.whoami, { preHandler: anyone }, async (req) => {
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
  handle(app, routes.logout, { preHandler: anyone, preValidation: emptyBody }, async (req) => {
    // The preHandler accepted this very header.
    const token = bearerToken(req)!;
    return { ok: await store.logout(token) };
  });
}
