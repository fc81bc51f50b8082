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
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncidentChange, IncidentState, Store } from '../store/index.ts';
import { ControlError } from './errors.ts';
import { bearerToken, type SessionAuth } from './bearer.ts';
import type { ControlMetrics } from './metrics.ts';
import { emptyBody, handle } from './handle.ts';
import { routes } from './routes/index.ts';
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
export { MAX_ALERTS_PER_DELIVERY } from './routes/alerts.ts';

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

  handle(
    app,
    routes.alertmanagerWebhook,
    { onRequest: receiver, bodyLimit: ALERT_BODY_LIMIT, attachValidation: true },
    async (req) => {
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
    },
  );

  handle(app, routes.incidentsList, { preHandler: signedIn }, async (req) => {
    const state = req.query.state === 'all' ? undefined : ((req.query.state ?? 'open') as IncidentState);
    const dep = req.query.deployment;
    return store.listIncidents({
      ...(state ? { state } : {}),
      ...(dep === undefined ? {} : { deployment: dep === 'global' ? null : dep }),
    });
  });

  handle(app, routes.alertTokensCreate, { preHandler: admin }, async (req, reply) => {
    const { token, record } = await store.createAlertToken(`user:${req.user!.name}`, req.body);
    void reply.code(201);
    return { token, ...record };
  });
  handle(app, routes.alertTokensList, { preHandler: admin }, async () => store.listAlertTokens());
  // No body, or `{}`.
  handle(app, routes.alertTokensRevoke, { preValidation: emptyBody, preHandler: admin }, async (req) => {
    await store.revokeAlertToken(`user:${req.user!.name}`, req.params.name);
    return { ok: true };
  });
}
