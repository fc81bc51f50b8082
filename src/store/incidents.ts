// Alerts: Alertmanager receiver tokens and incidents (DESIGN.md §7). An incident is one firing
// episode of one alert, keyed by Alertmanager's fingerprint and the alert's startsAt:
//
//   firing, no open incident ──► open   (audit incident.open)
//   firing, open incident    ──► open   (updated: labels, summary, notification count; no audit)
//   resolved, open incident  ──► closed (audit incident.close)
//   resolved, none open      ──► ignored (already closed, or never seen)
//
// Incidents belong to the deployment named by the alert's `deployment` label; a label naming no
// known deployment (or none) puts the incident in the global bucket (deployment_id null).
import type { Transaction } from 'kysely';
import type { AuditEntry } from './audit.ts';
import { newId, secret, sha256Hex } from './base.ts';
import { StoreError } from './errors.ts';
import type { Database, IncidentsTable } from './schema.ts';
import { AccessStore } from './access.ts';

export interface AlertTokenRecord {
  id: string;
  name: string;
  /** The deployment the token may report for; null: any (global). */
  deployment: string | null;
  createdAt: number;
  createdBy: string;
  revokedAt: number | null;
}

export type IncidentState = 'open' | 'closed';

export interface IncidentRecord {
  id: string;
  fingerprint: string;
  startsAt: string;
  /** The known deployment, or null (global bucket). */
  deployment: string | null;
  /** The alert's `deployment` label as sent, when there was one. */
  deploymentLabel: string | null;
  alertname: string;
  severity: string;
  summary: string;
  labels: Record<string, string>;
  state: IncidentState;
  openedAt: number;
  updatedAt: number;
  closedAt: number | null;
  endsAt: string | null;
  /** Webhook deliveries that carried this alert. */
  notifications: number;
}

/** One alert out of an Alertmanager webhook body (already validated). */
export interface AlertInput {
  status: 'firing' | 'resolved';
  fingerprint: string;
  startsAt: string;
  endsAt?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface IncidentChange {
  change: 'opened' | 'closed';
  incident: IncidentRecord;
}

export const MAX_INCIDENT_PAGE = 500;

type IncidentRow = IncidentsTable & { deployment_name: string | null };

function incidentOf(r: IncidentRow): IncidentRecord {
  return {
    id: r.id,
    fingerprint: r.fingerprint,
    startsAt: r.starts_at,
    deployment: r.deployment_name,
    deploymentLabel: r.deployment_label,
    alertname: r.alertname,
    severity: r.severity,
    summary: r.summary,
    labels: JSON.parse(r.labels) as Record<string, string>,
    state: r.state,
    openedAt: Number(r.opened_at),
    updatedAt: Number(r.updated_at),
    closedAt: r.closed_at === null ? null : Number(r.closed_at),
    endsAt: r.ends_at,
    notifications: Number(r.notifications),
  };
}

export class IncidentStore extends AccessStore {
  // ── receiver tokens ──────────────────────────────────────────────────────────────────────────

  /** Creates an Alertmanager receiver token (shown once; stored hashed); audited. */
  async createAlertToken(
    actor: string,
    input: { name: string; deployment?: string },
  ): Promise<{ token: string; record: AlertTokenRecord }> {
    const token = secret('spa_');
    return this.mutate(actor, async (trx, now) => {
      let deploymentId: string | null = null;
      if (input.deployment !== undefined) {
        const dep = await trx
          .selectFrom('deployments')
          .select('id')
          .where('name', '=', input.deployment)
          .executeTakeFirst();
        if (!dep) throw new StoreError('NOT_FOUND', `no deployment ${JSON.stringify(input.deployment)}`);
        deploymentId = dep.id;
      }
      const row = {
        id: newId(),
        name: input.name,
        token_hash: sha256Hex(token),
        deployment_id: deploymentId,
        created_at: now,
        created_by: actor,
        revoked_at: null,
      };
      await trx.insertInto('alert_tokens').values(row).execute();
      const record: AlertTokenRecord = {
        id: row.id,
        name: row.name,
        deployment: input.deployment ?? null,
        createdAt: now,
        createdBy: actor,
        revokedAt: null,
      };
      return {
        result: { token, record },
        audit: {
          action: 'alert-token.create',
          subject: `alert-token:${row.name}`,
          details: { id: row.id, deployment: input.deployment ?? null },
        },
      };
    });
  }

  async listAlertTokens(): Promise<AlertTokenRecord[]> {
    const rows = await this.db
      .selectFrom('alert_tokens')
      .leftJoin('deployments', 'deployments.id', 'alert_tokens.deployment_id')
      .selectAll('alert_tokens')
      .select('deployments.name as deployment_name')
      .orderBy('alert_tokens.created_at')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      deployment: r.deployment_name,
      createdAt: Number(r.created_at),
      createdBy: r.created_by,
      revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    }));
  }

  /** Revokes a receiver token by name; audited. NOT_FOUND when unknown or revoked already. */
  async revokeAlertToken(actor: string, name: string): Promise<void> {
    await this.mutate(actor, async (trx, now) => {
      const r = await trx
        .updateTable('alert_tokens')
        .set({ revoked_at: now })
        .where('name', '=', name)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0)
        throw new StoreError('NOT_FOUND', `no live alert token ${JSON.stringify(name)}`);
      return {
        result: undefined,
        audit: { action: 'alert-token.revoke', subject: `alert-token:${name}`, details: {} },
      };
    });
  }

  /** The live receiver token `token` is; AUTH when unknown or revoked. */
  async alertTokenFor(token: string): Promise<AlertTokenRecord> {
    const r = await this.db
      .selectFrom('alert_tokens')
      .leftJoin('deployments', 'deployments.id', 'alert_tokens.deployment_id')
      .selectAll('alert_tokens')
      .select('deployments.name as deployment_name')
      .where('alert_tokens.token_hash', '=', sha256Hex(token))
      .executeTakeFirst();
    if (!r || r.revoked_at !== null) throw new StoreError('AUTH', 'alert receiver token unknown or revoked');
    return {
      id: r.id,
      name: r.name,
      deployment: r.deployment_name,
      createdAt: Number(r.created_at),
      createdBy: r.created_by,
      revokedAt: null,
    };
  }

  // ── incidents ────────────────────────────────────────────────────────────────────────────────

  /**
   * Applies one webhook delivery's alerts in one transaction: opens, updates and closes incidents,
   * with an audit record per open and per close (I7). Returns what opened and closed.
   */
  async applyAlerts(actor: string, alerts: readonly AlertInput[]): Promise<IncidentChange[]> {
    return this.mutateAll(async (trx, now) => {
      const changes: IncidentChange[] = [];
      const audit: AuditEntry[] = [];
      const deps = new Map(
        (await trx.selectFrom('deployments').select(['id', 'name']).execute()).map((d) => [d.name, d.id]),
      );
      for (const a of alerts) {
        const open = await trx
          .selectFrom('incidents')
          .select('id')
          .where('fingerprint', '=', a.fingerprint)
          .where('state', '=', 'open')
          .executeTakeFirst();
        if (a.status === 'resolved') {
          if (!open) continue;
          await trx
            .updateTable('incidents')
            .set((eb) => ({
              state: 'closed',
              closed_at: now,
              updated_at: now,
              ends_at: a.endsAt ?? null,
              notifications: eb('notifications', '+', 1),
            }))
            .where('id', '=', open.id)
            .execute();
          const inc = await this.#incident(trx, open.id);
          changes.push({ change: 'closed', incident: inc });
          audit.push({
            actor,
            action: 'incident.close',
            subject: `incident:${inc.id}`,
            details: { alertname: inc.alertname, fingerprint: inc.fingerprint, deployment: inc.deployment },
          });
          continue;
        }
        const fields = {
          alertname: a.labels.alertname ?? '',
          severity: a.labels.severity ?? '',
          summary: a.annotations.summary ?? '',
          labels: JSON.stringify(a.labels),
        };
        if (open) {
          await trx
            .updateTable('incidents')
            .set((eb) => ({ ...fields, updated_at: now, notifications: eb('notifications', '+', 1) }))
            .where('id', '=', open.id)
            .execute();
          continue;
        }
        // A firing report of an episode that is closed already arrived late: it stays closed.
        const seen = await trx
          .selectFrom('incidents')
          .select('id')
          .where('fingerprint', '=', a.fingerprint)
          .where('starts_at', '=', a.startsAt)
          .executeTakeFirst();
        if (seen) continue;
        const label = a.labels.deployment ?? null;
        const id = newId();
        await trx
          .insertInto('incidents')
          .values({
            id,
            fingerprint: a.fingerprint,
            starts_at: a.startsAt,
            deployment_id: label === null ? null : (deps.get(label) ?? null),
            deployment_label: label,
            ...fields,
            state: 'open',
            opened_at: now,
            updated_at: now,
            closed_at: null,
            ends_at: null,
            notifications: 1,
          })
          .execute();
        const inc = await this.#incident(trx, id);
        changes.push({ change: 'opened', incident: inc });
        audit.push({
          actor,
          action: 'incident.open',
          subject: `incident:${id}`,
          details: {
            alertname: inc.alertname,
            severity: inc.severity,
            fingerprint: inc.fingerprint,
            deployment: inc.deployment,
            deploymentLabel: inc.deploymentLabel,
          },
        });
      }
      return { result: changes, audit };
    });
  }

  async #incident(trx: Transaction<Database>, id: string): Promise<IncidentRecord> {
    const r = await trx
      .selectFrom('incidents')
      .leftJoin('deployments', 'deployments.id', 'incidents.deployment_id')
      .selectAll('incidents')
      .select('deployments.name as deployment_name')
      .where('incidents.id', '=', id)
      .executeTakeFirstOrThrow();
    return incidentOf(r);
  }

  /** Incidents, newest first; `deployment: null` is the global bucket. */
  async listIncidents(
    q: { state?: IncidentState; deployment?: string | null; limit?: number } = {},
  ): Promise<IncidentRecord[]> {
    let query = this.db
      .selectFrom('incidents')
      .leftJoin('deployments', 'deployments.id', 'incidents.deployment_id')
      .selectAll('incidents')
      .select('deployments.name as deployment_name');
    if (q.state) query = query.where('incidents.state', '=', q.state);
    if (q.deployment === null) query = query.where('incidents.deployment_id', 'is', null);
    else if (q.deployment !== undefined) query = query.where('deployments.name', '=', q.deployment);
    const rows = await query
      .orderBy('incidents.opened_at', 'desc')
      .orderBy('incidents.id')
      .limit(Math.min(q.limit ?? MAX_INCIDENT_PAGE, MAX_INCIDENT_PAGE))
      .execute();
    return rows.map(incidentOf);
  }
}
