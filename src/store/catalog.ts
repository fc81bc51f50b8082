// Deployments and their services.
import type { Transaction } from 'kysely';
import { StoreError } from './errors.ts';
import type { Database } from './schema.ts';
import * as R from './records.ts';
import { newId } from './base.ts';
import { StoreBase } from './base.ts';

/** A deployment's id and name inside a transaction, or NOT_FOUND. */
async function deploymentIn(trx: Transaction<Database>, name: string): Promise<{ id: string; name: string }> {
  const d = await trx
    .selectFrom('deployments')
    .select(['id', 'name'])
    .where('name', '=', name)
    .executeTakeFirst();
  if (!d) throw new StoreError('NOT_FOUND', `no deployment ${JSON.stringify(name)}`);
  return d;
}

export class CatalogStore extends StoreBase {
  // ── deployments ──────────────────────────────────────────────────────────────────────────────

  createDeployment(
    actor: string,
    d: { name: string; region: string; cloud: string },
  ): Promise<R.DeploymentRecord> {
    return this.mutate(actor, async (trx, now) => {
      const row = { id: newId(), name: d.name, region: d.region, cloud: d.cloud, created_at: now };
      await trx.insertInto('deployments').values(row).execute();
      return {
        result: R.toDeployment(row),
        audit: {
          action: 'deployment.create',
          subject: `deployment:${d.name}`,
          details: { ...d, id: row.id },
        },
      };
    });
  }

  async listDeployments(): Promise<R.DeploymentRecord[]> {
    return (await this.db.selectFrom('deployments').selectAll().orderBy('name').execute()).map(
      R.toDeployment,
    );
  }

  async getDeployment(name: string): Promise<R.DeploymentRecord> {
    const row = await this.db
      .selectFrom('deployments')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row) throw new StoreError('NOT_FOUND', `no deployment ${JSON.stringify(name)}`);
    return R.toDeployment(row);
  }

  // ── management path ──────────────────────────────────────────────────────────────────────────

  /** A deployment's management path (no row: private, nothing public). */
  async getManagement(name: string): Promise<R.ManagementRecord> {
    const d = await this.getDeployment(name);
    const row = await this.db
      .selectFrom('deployment_management')
      .selectAll()
      .where('deployment_id', '=', d.id)
      .executeTakeFirst();
    return {
      deployment: d.name,
      mode: (row?.mode ?? 'private') as R.ManagementMode,
      publicServer: row?.public_server ?? null,
      customerWebhook: row?.customer_webhook ?? null,
      updatedAt: row?.updated_at ?? null,
    };
  }

  /** Sets the management path; audited `deployment.management`. */
  setManagement(
    actor: string,
    name: string,
    m: { mode: R.ManagementMode; publicServer: string | null; customerWebhook: string | null },
  ): Promise<R.ManagementRecord> {
    return this.mutate(actor, async (trx, now) => {
      const d = await deploymentIn(trx, name);
      const row = {
        deployment_id: d.id,
        mode: m.mode,
        public_server: m.publicServer,
        customer_webhook: m.customerWebhook,
        updated_at: now,
      };
      await trx.deleteFrom('deployment_management').where('deployment_id', '=', d.id).execute();
      await trx.insertInto('deployment_management').values(row).execute();
      return {
        result: { deployment: d.name, ...m, updatedAt: now },
        audit: { action: 'deployment.management', subject: `deployment:${d.name}`, details: { ...m } },
      };
    });
  }

  /**
   * A use of the public management endpoint while the overlay is down: audited `mgmt.break-glass`
   * with who and why. Refused (CONFLICT) unless the deployment's mode allows a fallback.
   */
  recordBreakGlass(
    actor: string,
    name: string,
    b: { reason: string; service: string; overlay: string },
  ): Promise<{
    at: number;
    deployment: string;
    deploymentId: string;
    publicServer: string;
    customerWebhook: string | null;
  }> {
    return this.mutate(actor, async (trx, now) => {
      const d = await deploymentIn(trx, name);
      const m = await trx
        .selectFrom('deployment_management')
        .selectAll()
        .where('deployment_id', '=', d.id)
        .executeTakeFirst();
      const mode = m?.mode ?? 'private';
      if (mode !== 'private-with-public-fallback' || !m?.public_server)
        throw new StoreError(
          'CONFLICT',
          mode === 'public'
            ? `deployment ${d.name} is managed over its public endpoint: no break-glass is needed`
            : `deployment ${d.name}'s management path is ${mode}${mode === 'private' ? ': the public endpoint is never used' : ' with no public endpoint set'}`,
        );
      return {
        result: {
          at: now,
          deployment: d.name,
          deploymentId: d.id,
          publicServer: m.public_server,
          customerWebhook: m.customer_webhook,
        },
        audit: {
          action: 'mgmt.break-glass',
          subject: `deployment:${d.name}`,
          details: {
            reason: b.reason,
            service: b.service,
            overlay: b.overlay,
            publicServer: m.public_server,
          },
        },
      };
    });
  }

  /** The break-glass records of a deployment (by id) since `sinceMs`, oldest first (at most 100). */
  async breakGlassSince(
    deploymentId: string,
    sinceMs: number,
  ): Promise<{ seq: number; time: number; actor: string; details: Record<string, string> }[]> {
    const d = await this.db
      .selectFrom('deployments')
      .select('name')
      .where('id', '=', deploymentId)
      .executeTakeFirst();
    if (!d) return [];
    const rows = await this.db
      .selectFrom('audit_log')
      .select(['seq', 'time', 'actor', 'details'])
      .where('action', '=', 'mgmt.break-glass')
      .where('subject', '=', `deployment:${d.name}`)
      .where('time', '>=', sinceMs)
      .orderBy('seq')
      .limit(100)
      .execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      time: Number(r.time),
      actor: r.actor,
      details: Object.fromEntries(
        Object.entries(JSON.parse(r.details) as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
      ),
    }));
  }

  deleteDeployment(actor: string, name: string): Promise<void> {
    return this.mutate(actor, async (trx) => {
      const d = await deploymentIn(trx, name);
      await trx.deleteFrom('deployment_management').where('deployment_id', '=', d.id).execute();
      await trx.deleteFrom('services').where('deployment_id', '=', d.id).execute();
      await trx.deleteFrom('deployments').where('id', '=', d.id).execute();
      return {
        result: undefined,
        audit: { action: 'deployment.delete', subject: `deployment:${name}`, details: {} },
      };
    });
  }

  // ── services ─────────────────────────────────────────────────────────────────────────────────

  /** Creates or replaces a service of a deployment (by name). */
  upsertService(
    actor: string,
    s: {
      deployment: string;
      name: string;
      kind: R.ServiceKind;
      address: string;
      tlsMode?: R.TlsMode;
      labels?: Record<string, string>;
      connectorId?: string | null;
    },
  ): Promise<R.ServiceRecord> {
    return this.mutate(actor, async (trx, now) => {
      const d = await deploymentIn(trx, s.deployment);
      const old = await trx
        .selectFrom('services')
        .selectAll()
        .where('deployment_id', '=', d.id)
        .where('name', '=', s.name)
        .executeTakeFirst();
      const row = {
        id: old?.id ?? newId(),
        deployment_id: d.id,
        name: s.name,
        kind: s.kind,
        address: s.address,
        tls_mode: R.storedTlsMode(s.kind, s.tlsMode),
        labels: JSON.stringify(s.labels ?? {}),
        connector_id: s.connectorId === undefined ? (old?.connector_id ?? null) : s.connectorId,
        created_at: old?.created_at ?? now,
      };
      if (old) await trx.updateTable('services').set(row).where('id', '=', old.id).execute();
      else await trx.insertInto('services').values(row).execute();
      const rec = R.toService(row);
      return {
        result: rec,
        audit: {
          action: old ? 'service.update' : 'service.create',
          subject: `service:${s.deployment}/${s.name}`,
          details: {
            kind: rec.kind,
            address: rec.address,
            tlsMode: rec.tlsMode,
            labels: rec.labels,
            connectorId: rec.connectorId,
          },
        },
      };
    });
  }

  async listServices(deployment?: string): Promise<(R.ServiceRecord & { deployment: string })[]> {
    let q = this.db
      .selectFrom('services')
      .innerJoin('deployments', 'deployments.id', 'services.deployment_id')
      .selectAll('services')
      .select('deployments.name as deployment_name');
    if (deployment !== undefined) q = q.where('deployments.name', '=', deployment);
    const rows = await q.orderBy('deployments.name').orderBy('services.name').execute();
    return rows.map((r) => ({ ...R.toService(r), deployment: r.deployment_name }));
  }

  deleteService(actor: string, deployment: string, name: string): Promise<void> {
    return this.mutate(actor, async (trx) => {
      const d = await trx
        .selectFrom('deployments')
        .select('id')
        .where('name', '=', deployment)
        .executeTakeFirst();
      const res = d
        ? await trx
            .deleteFrom('services')
            .where('deployment_id', '=', d.id)
            .where('name', '=', name)
            .executeTakeFirst()
        : undefined;
      if (!res || Number(res.numDeletedRows) === 0)
        throw new StoreError('NOT_FOUND', `no service ${deployment}/${name}`);
      return {
        result: undefined,
        audit: { action: 'service.delete', subject: `service:${deployment}/${name}`, details: {} },
      };
    });
  }
}
