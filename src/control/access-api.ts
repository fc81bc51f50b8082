// The access API under /api/v1: the policy document (administrators), requests and their
// decisions, request-derived grants, extension requests, and client certificates for a grant.
// A refused access event answers with REFUSAL_STATUS[code] and `{ error: { code, message,
// details } }`; the refusal itself is in the audit log (written by the store, at most
// REFUSALS_PER_WINDOW per user per window: refusal-audit.ts).
//
//   PUT  /policy                       GET /policy
//   POST /requests                     GET /requests[?status=]     GET /requests/:id
//   GET  /requests/:id/wait[?timeout=S]  answers once the request is decided (or after S seconds)
//   POST /requests/:id/approve | /deny {reason} | /cancel   (approve: a recent sign-in, bearer.ts)
//   GET  /access-grants[?status=]      GET /access-grants/:id
//   POST /access-grants/:id/revoke {reason?}
//   POST /access-grants/:id/extensions {duration, reason}      GET /extensions[?grant=&status=]
//   POST /extensions/:id/approve | /deny {reason} | /cancel
//   POST /access-grants/:id/certificate {csr}   (the holder; notAfter = grant end)
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import {
  grantLive,
  readDuration,
  REFUSAL_STATUS,
  type Actor,
  type ApprovalRules,
  type RefusalCode,
} from '../access/index.ts';
import type { Clock } from '../clock/index.ts';
import { PkiError } from '../pki/index.ts';
import type { AccessResult, Store, UserRecord } from '../store/index.ts';
import type { AccessService } from './access.ts';
import { AS } from './access-schemas.ts';
import { emptyBody } from './schemas.ts';
import { ControlError } from './errors.ts';
import type { SessionAuth } from './bearer.ts';
import { issueGrantCert, type CoordinatorPki } from './pki.ts';

/** A waiting request re-reads the store at least this often (decisions on other coordinators). */
export const WAIT_RECHECK_MS = 2000;

export interface AccessApiDeps {
  auth: SessionAuth;
  store: Store;
  access: AccessService;
  pki: CoordinatorPki;
  clock: Clock;
  /** Called after a new policy document is stored (standing grants follow it). */
  policyChanged?(): void;
}

type Req<B = unknown, P = { id: string }, Q = Record<string, string | undefined>> = FastifyRequest<{
  Body: B;
  Params: P;
  Querystring: Q;
}>;
const h = <B, P, Q>(fn: (req: Req<B, P, Q>, reply: FastifyReply) => unknown): RouteHandlerMethod =>
  fn as unknown as RouteHandlerMethod;

/** Sends a refusal (status from REFUSAL_STATUS) or returns the state. */
function answer<S>(reply: FastifyReply, r: AccessResult<S>, okStatus = 200): S | FastifyReply {
  if (r.ok) {
    reply.code(okStatus);
    return r.state;
  }
  return reply.code(REFUSAL_STATUS[r.code as RefusalCode] ?? 400).send({
    error: { code: r.code, message: r.reason, ...(r.details ? { details: r.details } : {}) },
  });
}

/**
 * Whether `a` may see something on `deployment` decided under `rules` and asked for by `owner`:
 * a customer's person sees everything on its deployments and nothing else; the vendor's people
 * see their own, what their groups decide, and administrators everything.
 */
const mayView = (a: Actor, owner: string, rules: ApprovalRules, deployment: string): boolean =>
  a.customerOf !== undefined
    ? a.customerOf.includes(deployment)
    : a.admin === true || a.id === owner || a.groups.includes(rules.approval.group);

export function registerAccessApi(app: FastifyInstance, d: AccessApiDeps): void {
  const { store, access } = d;
  // Customers' people too: every route here scopes what it answers (mayView) or refuses them.
  const signedIn = d.auth.preHandler(false, true);
  const admin = d.auth.preHandler(true);
  const me = (req: FastifyRequest): UserRecord => req.user!;
  const durationOf = (s: string): number => {
    const ms = readDuration(s);
    if (ms === undefined || ms <= 0)
      throw new ControlError(
        'BAD_REQUEST',
        `not a duration: ${JSON.stringify(s)} (write e.g. 30m, 2h, 1h30m)`,
      );
    return ms;
  };

  // ── policy ──
  app.get('/api/v1/policy', { schema: AS.getPolicy, preHandler: admin }, async () => {
    const p = await store.getPolicy();
    if (!p) throw new ControlError('NOT_FOUND', 'no access policy yet: sallyport admin policy set FILE');
    return p;
  });
  app.put(
    '/api/v1/policy',
    { schema: AS.putPolicy, preHandler: admin },
    h(async (req: Req<unknown>, reply) => {
      const r = await store.putPolicy(`user:${me(req).name}`, req.body);
      if (!r.ok)
        return reply.code(400).send({
          error: {
            code: 'POLICY_INVALID',
            message: `the policy document has ${r.issues.length} problem(s): ${r.issues
              .slice(0, 3)
              .map((i) => `${i.path}: ${i.message}`)
              .join('; ')}`,
            issues: r.issues.slice(0, 100),
          },
        });
      d.policyChanged?.();
      return r.policy;
    }),
  );

  // ── requests ──
  app.post(
    '/api/v1/requests',
    { schema: AS.createRequest, preHandler: signedIn },
    h(
      async (
        req: Req<{
          deployment: string;
          services: string[];
          reason: string;
          duration: string;
          access?: 'read-only' | 'read-write' | 'admin';
        }>,
        reply,
      ) => {
        const b = req.body;
        const r = await store.openAccessRequest(me(req).name, {
          deployment: b.deployment,
          services: b.services,
          reason: b.reason,
          durationMs: durationOf(b.duration),
          ...(b.access !== undefined ? { access: b.access } : {}),
        });
        return answer(reply, await access.after(r), 201);
      },
    ),
  );
  app.get(
    '/api/v1/requests',
    { schema: AS.listRequests, preHandler: signedIn },
    h(async (req: Req<unknown, unknown, { status?: string }>) => {
      const a = await store.accessActor(me(req).name);
      const rows = await store.listAccessRequests(req.query.status ? { status: req.query.status } : {});
      return rows.filter((r) => mayView(a, r.requester, r.rules, r.deployment));
    }),
  );
  app.get(
    '/api/v1/requests/:id',
    { schema: AS.get, preHandler: signedIn },
    h(async (req: Req) => {
      const a = await store.accessActor(me(req).name);
      const r = await store.getAccessRequest(req.params.id);
      if (!r || !mayView(a, r.requester, r.rules, r.deployment))
        throw new ControlError('NOT_FOUND', `no request ${req.params.id}`);
      return r;
    }),
  );
  // Server-sent events: one `access` event per committed access change in this coordinator, with
  // its topic only (what to reload, never whose or what); a comment line every 25 s keeps
  // proxies from closing the stream. The console reloads on them instead of polling every 5 s.
  app.get(
    '/api/v1/events',
    { schema: AS.events, preHandler: signedIn },
    h(async (req: Req, reply) => {
      const raw = reply.raw;
      const send = (e: { topic: string }) =>
        raw.write(`event: access\ndata: ${JSON.stringify({ topic: e.topic })}\n\n`);
      const off = access.events.listen(send);
      if (!off)
        throw new ControlError('BUSY', 'too many event streams open; try again later', { retryable: true });
      reply.hijack();
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
        connection: 'keep-alive',
      });
      raw.write(`retry: 3000\n: ${me(req).name}\n\n`);
      let beat = d.clock.setTimeout(function ping() {
        raw.write(': keep-alive\n\n');
        beat = d.clock.setTimeout(ping, 25_000);
      }, 25_000);
      raw.once('close', () => {
        off();
        d.clock.clearTimeout(beat);
      });
    }),
  );
  // Waits for a decision: wakes on every access change in this coordinator (access-events.ts) and
  // re-reads the store at least every WAIT_RECHECK_MS (a decision made on another coordinator).
  app.get(
    '/api/v1/requests/:id/wait',
    { schema: AS.wait, preHandler: signedIn },
    h(async (req: Req<unknown, { id: string }, { timeout?: string }>, reply) => {
      const a = await store.accessActor(me(req).name);
      const timeoutMs = Math.min(60, Math.max(1, Number(req.query.timeout ?? 25))) * 1000;
      const deadline = d.clock.now() + timeoutMs;
      for (;;) {
        const r = await store.getAccessRequest(req.params.id);
        if (!r || !mayView(a, r.requester, r.rules, r.deployment))
          throw new ControlError('NOT_FOUND', `no request ${req.params.id}`);
        const left = deadline - d.clock.now();
        // The client went away: answer nothing more (the response's close, not the request's).
        if (r.status !== 'pending' || left <= 0 || reply.raw.destroyed) return r;
        await new Promise<void>((resolve) => {
          const off = access.events.listen(() => done());
          const t = d.clock.setTimeout(() => done(), Math.min(WAIT_RECHECK_MS, left));
          const onClose = () => done();
          reply.raw.once('close', onClose);
          function done() {
            off?.();
            d.clock.clearTimeout(t);
            reply.raw.off('close', onClose);
            resolve();
          }
        });
      }
    }),
  );
  for (const verb of ['approve', 'cancel'] as const) {
    app.post(
      `/api/v1/requests/:id/${verb}`,
      { schema: AS.decide, preValidation: emptyBody, preHandler: signedIn },
      h(async (req: Req, reply) => {
        if (verb === 'approve') d.auth.requireRecent(req, 'approving');
        const actor = await store.accessActor(me(req).name);
        const r = await store.requestEvent(actor.id, req.params.id, { type: verb, actor });
        return answer(reply, await access.after(r));
      }),
    );
  }
  app.post(
    '/api/v1/requests/:id/deny',
    { schema: AS.deny, preHandler: signedIn },
    h(async (req: Req<{ reason: string }>, reply) => {
      const actor = await store.accessActor(me(req).name);
      const r = await store.requestEvent(actor.id, req.params.id, {
        type: 'deny',
        actor,
        reason: req.body.reason,
      });
      return answer(reply, await access.after(r));
    }),
  );

  // ── grants ──
  app.get(
    '/api/v1/access-grants',
    { schema: AS.listGrants, preHandler: signedIn },
    h(async (req: Req<unknown, unknown, { status?: string }>) => {
      const a = await store.accessActor(me(req).name);
      const rows = await store.listAccessGrants(req.query.status ? { status: req.query.status } : {});
      return rows.filter((g) => mayView(a, g.subject, g.rules, g.deployment));
    }),
  );
  app.get(
    '/api/v1/access-grants/:id',
    { schema: AS.get, preHandler: signedIn },
    h(async (req: Req) => {
      const a = await store.accessActor(me(req).name);
      const g = await store.getAccessGrant(req.params.id);
      if (!g || !mayView(a, g.subject, g.rules, g.deployment))
        throw new ControlError('NOT_FOUND', `no grant ${req.params.id}`);
      return g;
    }),
  );
  app.post(
    '/api/v1/access-grants/:id/revoke',
    { schema: AS.revoke, preValidation: emptyBody, preHandler: signedIn },
    h(async (req: Req<{ reason?: string } | undefined>, reply) => {
      const r = await store.accessGrantEvent(me(req).name, req.params.id, {
        type: 'revoke',
        reason: req.body?.reason ?? '',
      });
      return answer(reply, await access.after(r));
    }),
  );
  app.post(
    '/api/v1/access-grants/:id/extensions',
    { schema: AS.extend, preHandler: signedIn },
    h(async (req: Req<{ duration: string; reason: string }>, reply) => {
      const r = await store.openAccessExtension(me(req).name, req.params.id, {
        addMs: durationOf(req.body.duration),
        reason: req.body.reason,
      });
      return answer(reply, await access.after(r), 201);
    }),
  );
  app.get(
    '/api/v1/extensions',
    { schema: AS.listExtensions, preHandler: signedIn },
    h(async (req: Req<unknown, unknown, { grant?: string; status?: string }>) => {
      const a = await store.accessActor(me(req).name);
      const rows = await store.listAccessExtensions({
        ...(req.query.grant ? { grantId: req.query.grant } : {}),
        ...(req.query.status ? { status: req.query.status } : {}),
      });
      const deployments = new Map<string, string>();
      for (const x of rows)
        if (!deployments.has(x.grantId))
          deployments.set(x.grantId, (await store.getAccessGrant(x.grantId))?.deployment ?? '');
      return rows.filter((x) => mayView(a, x.requester, x.rules, deployments.get(x.grantId)!));
    }),
  );
  for (const verb of ['approve', 'cancel'] as const) {
    app.post(
      `/api/v1/extensions/:id/${verb}`,
      { schema: AS.decide, preValidation: emptyBody, preHandler: signedIn },
      h(async (req: Req, reply) => {
        if (verb === 'approve') d.auth.requireRecent(req, 'approving');
        const actor = await store.accessActor(me(req).name);
        const r = await store.extensionEvent(actor.id, req.params.id, { type: verb, actor });
        return answer(reply, await access.after(r));
      }),
    );
  }
  app.post(
    '/api/v1/extensions/:id/deny',
    { schema: AS.deny, preHandler: signedIn },
    h(async (req: Req<{ reason: string }>, reply) => {
      const actor = await store.accessActor(me(req).name);
      const r = await store.extensionEvent(actor.id, req.params.id, {
        type: 'deny',
        actor,
        reason: req.body.reason,
      });
      return answer(reply, await access.after(r));
    }),
  );

  // ── client certificate for the caller's grant (key made on the caller's machine, I9) ──
  app.post(
    '/api/v1/access-grants/:id/certificate',
    { schema: AS.certificate, preHandler: signedIn },
    h(async (req: Req<{ csr: string }>, reply) => {
      const user = me(req).name;
      const actor = `user:${user}`;
      const subject = `grant:${req.params.id}`;
      const refuse = async (status: number, code: string, message: string) => {
        await store.recordRefusal({
          actor,
          action: 'access.refuse',
          subject,
          details: { attempted: 'certificate.client', code, reason: message },
        });
        return reply.code(status).send({ error: { code, message } });
      };
      const g = await store.getAccessGrant(req.params.id);
      const now = Math.floor(d.clock.wallMs());
      if (!g || g.subject !== user) return refuse(404, 'NOT_FOUND', `you hold no grant ${req.params.id}`);
      if (!grantLive(g, now)) return refuse(409, 'GRANT_NOT_ACTIVE', `grant ${g.id} is no longer active`);
      let cert;
      try {
        cert = await issueGrantCert(d.pki, {
          csrPem: req.body.csr,
          user,
          grantId: g.id,
          grantEnd: g.end,
          nodeExpiresAt: g.end,
          clock: d.clock,
        });
      } catch (e) {
        if (e instanceof PkiError) return refuse(400, 'BAD_CSR', `${e.code}: ${e.message}`);
        throw e;
      }
      await store.recordAudit(actor, {
        action: 'certificate.client',
        subject: `sallyport:grant:${g.id}`,
        details: { serial: cert.serial, notAfter: cert.notAfterMs },
      });
      return {
        grant: g.id,
        serial: cert.serial,
        notAfter: cert.notAfterMs,
        chainPem: cert.chainPem,
        rootPem: d.pki.root.certPem,
      };
    }),
  );
}
