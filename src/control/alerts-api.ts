// Alerts under /api/v1 (DESIGN.md §7): Alertmanager's webhook, incidents, and receiver tokens.
//
//   POST /alerts/alertmanager          Alertmanager webhook (v4 body); Bearer = receiver token
//   GET  /incidents[?state=&deployment=]        signed-in users (deployment=global: no deployment)
//   POST /alert-tokens {name, deployment?}      administrators; the token is shown once
//   GET  /alert-tokens                          POST /alert-tokens/:name/revoke
//
// The webhook's token is not a user session: it is an alert receiver token (stored hashed), global
// or bound to one deployment, checked before the body is read. A token bound to a deployment
// refuses (403) alerts labelled with another deployment; alerts without the label take its
// deployment. The body is validated against Alertmanager's v4 schema with no unknown fields and
// bounded sizes: anything else is 400 and nothing is written. Every delivery is counted by result.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { AlertInput, IncidentChange, IncidentState, Store } from '../store/index.ts';
import { ControlError } from './errors.ts';
import { bearerToken, type SessionAuth } from './bearer.ts';
import type { ControlMetrics } from './metrics.ts';
import { emptyBody, errorSchema, userName } from './schemas.ts';
import type { IncidentNotice, Notice } from './webhooks.ts';

export interface AlertsApiDeps {
  auth: SessionAuth;
  store: Store;
  metrics: ControlMetrics;
  /** Where incident notifications go (the access webhooks). */
  notify: (notices: readonly Notice[]) => void;
}

/** The webhook route's body limit: Alertmanager batches at most `max_alerts` per delivery. */
export const ALERT_BODY_LIMIT = 512 * 1024;
export const MAX_ALERTS_PER_DELIVERY = 500;

const kv = (maxLength: number) =>
  ({
    type: 'object',
    maxProperties: 64,
    propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' },
    additionalProperties: { type: 'string', maxLength },
  }) as const;
const str = (maxLength: number) => ({ type: 'string', maxLength }) as const;
const timeStr = { type: 'string', minLength: 1, maxLength: 64 } as const;

const alert = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['firing', 'resolved'] },
    labels: kv(1024),
    annotations: kv(4096),
    startsAt: timeStr,
    endsAt: timeStr,
    generatorURL: str(2048),
    fingerprint: { type: 'string', pattern: '^[0-9a-f]{1,64}$' },
  },
  required: ['status', 'labels', 'annotations', 'startsAt', 'fingerprint'],
  additionalProperties: false,
} as const;

const webhookBody = {
  type: 'object',
  properties: {
    version: { type: 'string', const: '4' },
    receiver: str(256),
    status: { type: 'string', enum: ['firing', 'resolved'] },
    alerts: { type: 'array', minItems: 0, maxItems: MAX_ALERTS_PER_DELIVERY, items: alert },
    groupLabels: kv(1024),
    commonLabels: kv(1024),
    commonAnnotations: kv(4096),
    externalURL: str(2048),
    groupKey: str(8192),
    truncatedAlerts: { type: 'integer', minimum: 0 },
  },
  required: ['version', 'status', 'alerts'],
  additionalProperties: false,
} as const;

const incident = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    fingerprint: { type: 'string' },
    startsAt: { type: 'string' },
    deployment: { type: ['string', 'null'] },
    deploymentLabel: { type: ['string', 'null'] },
    alertname: { type: 'string' },
    severity: { type: 'string' },
    summary: { type: 'string' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    state: { type: 'string' },
    openedAt: { type: 'integer' },
    updatedAt: { type: 'integer' },
    closedAt: { type: ['integer', 'null'] },
    endsAt: { type: ['string', 'null'] },
    notifications: { type: 'integer' },
  },
} as const;
const alertToken = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    deployment: { type: ['string', 'null'] },
    createdAt: { type: 'integer' },
    createdBy: { type: 'string' },
    revokedAt: { type: ['integer', 'null'] },
  },
} as const;

const SCHEMAS = {
  webhook: {
    tags: ['alerts'],
    body: webhookBody,
    response: {
      200: {
        type: 'object',
        properties: { opened: { type: 'integer' }, closed: { type: 'integer' } },
      },
      '4xx': errorSchema,
    },
  },
  incidents: {
    tags: ['alerts'],
    querystring: {
      type: 'object',
      properties: {
        state: { type: 'string', enum: ['open', 'closed', 'all'] },
        deployment: { type: 'string', pattern: '^[a-z0-9-]{1,63}$' },
      },
      additionalProperties: false,
    },
    response: { 200: { type: 'array', items: incident }, '4xx': errorSchema },
  },
  createToken: {
    tags: ['alerts'],
    body: {
      type: 'object',
      properties: { name: userName, deployment: { type: 'string', pattern: '^[a-z0-9-]{1,63}$' } },
      required: ['name'],
      additionalProperties: false,
    },
    response: {
      201: { type: 'object', properties: { token: { type: 'string' }, ...alertToken.properties } },
      '4xx': errorSchema,
    },
  },
  listTokens: {
    tags: ['alerts'],
    response: { 200: { type: 'array', items: alertToken }, '4xx': errorSchema },
  },
  revokeToken: {
    tags: ['alerts'],
    body: { type: 'object', properties: {}, additionalProperties: false },
    params: {
      type: 'object',
      properties: { name: userName },
      required: ['name'],
      additionalProperties: false,
    },
    response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } }, '4xx': errorSchema },
  },
} as const;

type Req<B = unknown, P = Record<string, string>, Q = Record<string, string | undefined>> = FastifyRequest<{
  Body: B;
  Params: P;
  Querystring: Q;
}>;
const h = <B, P, Q>(fn: (req: Req<B, P, Q>, reply: FastifyReply) => unknown): RouteHandlerMethod =>
  fn as unknown as RouteHandlerMethod;

interface WebhookBody {
  alerts: AlertInput[];
}

/** The notification text of one incident change (escaped by webhookBody like every other). */
export function incidentNotice(c: IncidentChange): IncidentNotice {
  const i = c.incident;
  const where = i.deployment ?? (i.deploymentLabel ? `${i.deploymentLabel} (unknown deployment)` : 'global');
  const sev = i.severity ? ` [${i.severity}]` : '';
  const text =
    c.change === 'opened'
      ? `${i.alertname}${sev} firing in ${where}: ${i.summary}`
      : `${i.alertname}${sev} resolved in ${where}: ${i.summary}`;
  return {
    kind: 'notify',
    topic: c.change === 'opened' ? 'incident-open' : 'incident-close',
    subject: `incident:${i.id}`,
    at: c.change === 'opened' ? i.openedAt : (i.closedAt ?? i.updatedAt),
    text,
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    alertToken?: { name: string; deployment: string | null };
  }
}

export function registerAlertsApi(app: FastifyInstance, d: AlertsApiDeps): void {
  const { store, metrics } = d;
  const bearer = bearerToken;
  const signedIn = async (req: FastifyRequest) => {
    const t = bearer(req);
    if (!t) throw new ControlError('UNAUTHORIZED', 'missing bearer token: sallyport login');
    await d.auth.authenticate(req, t, 'bearer token unknown or expired: sallyport login again');
    if (req.customerPerson)
      throw new ControlError(
        'FORBIDDEN',
        "incidents are the vendor's: a customer's people cannot read them here",
      );
  };
  const admin = async (req: FastifyRequest) => {
    await signedIn(req);
    if (!req.user!.isAdmin) throw new ControlError('FORBIDDEN', 'this needs an administrator');
  };
  /** Checks the receiver token before the body is read. */
  const receiver = async (req: FastifyRequest) => {
    const t = bearer(req);
    try {
      if (!t) throw new Error('no token');
      const rec = await store.alertTokenFor(t);
      req.alertToken = { name: rec.name, deployment: rec.deployment };
    } catch {
      metrics.alertDeliveries.inc({ result: 'unauthorized' });
      throw new ControlError(
        'UNAUTHORIZED',
        'alert receiver token missing, unknown or revoked: sallyport admin alert-tokens create NAME',
      );
    }
  };

  app.post(
    '/api/v1/alerts/alertmanager',
    {
      schema: SCHEMAS.webhook,
      onRequest: receiver,
      bodyLimit: ALERT_BODY_LIMIT,
      attachValidation: true,
    },
    h(async (req: Req<WebhookBody>) => {
      if (req.validationError) {
        metrics.alertDeliveries.inc({ result: 'bad-request' });
        throw new ControlError(
          'BAD_REQUEST',
          `not an Alertmanager v4 webhook body: ${req.validationError.message}`,
        );
      }
      const tok = req.alertToken!;
      const alerts = req.body.alerts.map((a) => ({ ...a, labels: { ...a.labels } }));
      if (tok.deployment !== null) {
        for (const a of alerts) {
          const dep = a.labels.deployment;
          if (dep === undefined) a.labels.deployment = tok.deployment;
          else if (dep !== tok.deployment) {
            metrics.alertDeliveries.inc({ result: 'forbidden' });
            throw new ControlError(
              'FORBIDDEN',
              `alert token ${tok.name} reports for deployment ${tok.deployment}, not ${JSON.stringify(dep)}`,
            );
          }
        }
      }
      const changes = await store.applyAlerts(`alert-token:${tok.name}`, alerts);
      metrics.alertDeliveries.inc({ result: 'accepted' });
      let opened = 0;
      for (const c of changes) {
        metrics.incidents.inc({ change: c.change });
        if (c.change === 'opened') opened++;
      }
      d.notify(changes.map(incidentNotice));
      return { opened, closed: changes.length - opened };
    }),
  );

  app.get(
    '/api/v1/incidents',
    { schema: SCHEMAS.incidents, preHandler: signedIn },
    h(async (req: Req<unknown, Record<string, string>, { state?: string; deployment?: string }>) => {
      const state = req.query.state === 'all' ? undefined : ((req.query.state ?? 'open') as IncidentState);
      const dep = req.query.deployment;
      return store.listIncidents({
        ...(state ? { state } : {}),
        ...(dep === undefined ? {} : { deployment: dep === 'global' ? null : dep }),
      });
    }),
  );

  app.post(
    '/api/v1/alert-tokens',
    { schema: SCHEMAS.createToken, preHandler: admin },
    h(async (req: Req<{ name: string; deployment?: string }>, reply) => {
      const { token, record } = await store.createAlertToken(`user:${req.user!.name}`, req.body);
      void reply.code(201);
      return { token, ...record };
    }),
  );
  app.get('/api/v1/alert-tokens', { schema: SCHEMAS.listTokens, preHandler: admin }, async () =>
    store.listAlertTokens(),
  );
  app.post(
    '/api/v1/alert-tokens/:name/revoke',
    {
      schema: SCHEMAS.revokeToken,
      // No body, or `{}`.
      preValidation: emptyBody,
      preHandler: admin,
    },
    h(async (req: Req<unknown, { name: string }>) => {
      await store.revokeAlertToken(`user:${req.user!.name}`, req.params.name);
      return { ok: true };
    }),
  );
}
