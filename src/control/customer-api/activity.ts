// What was done under the grants: the streams served and the queries run, as the connectors
// reported them (audited grant.stream / grant.query), newest first; a customer's people see
// their deployments', administrators everyone's.
import type { FastifyInstance } from 'fastify';
import type { Actor } from '../../access/index.ts';
import type { Store } from '../../store/index.ts';
import { ControlError } from '../errors.ts';
import { handle } from '../handle.ts';
import { routes, type Activity } from '../routes/index.ts';
import type { CustomerApiDeps } from './deps.ts';

/** How far back (records) the activity list looks. */
const ACTIVITY_SCAN = 50_000;

export function registerActivity(app: FastifyInstance, d: CustomerApiDeps): void {
  const anyone = { preHandler: d.auth.preHandler(false, true) };
  handle(app, routes.activity, anyone, async (req) => {
    const a = await d.store.accessActor(req.user!.name);
    if (!a.customerOf && !a.admin)
      throw new ControlError('FORBIDDEN', 'activity is shown to administrators and to the customer');
    const limit = Math.min(1000, Math.max(1, Number(req.query.limit ?? 200)));
    return activityOf(d.store, a, limit);
  });
}

interface GrantInfo {
  id: string;
  deployment: string;
  holder: string;
}

/** Every grant the connectors may report under (access grants and standing ones), by id. */
async function grantNamer(store: Store): Promise<(id: string) => Promise<GrantInfo | undefined>> {
  const deps = new Map((await store.listDeployments()).map((x) => [x.id, x.name]));
  const users = new Map((await store.listUsers()).map((u) => [u.id, u.name]));
  const seen = new Map<string, GrantInfo | null>();
  return async (id) => {
    if (!seen.has(id)) {
      const g = await store.getGrant(id);
      seen.set(
        id,
        g
          ? {
              id,
              deployment: deps.get(g.deploymentId) ?? '?',
              holder:
                g.subjectType === 'user'
                  ? (users.get(g.subjectId) ?? g.subjectId)
                  : `${g.subjectType}:${g.subjectId.slice(0, 8)}`,
            }
          : null,
      );
    }
    return seen.get(id) ?? undefined;
  };
}

/** Up to `limit` entries `a` may see, newest first, a page at a time, at most ACTIVITY_SCAN records back. */
async function activityOf(store: Store, a: Actor, limit: number): Promise<Activity[]> {
  const grantOf = await grantNamer(store);
  const head = (await store.auditHead()).seq;
  const out: Activity[] = [];
  for (let upTo = head; upTo > 0 && out.length < limit && head - upTo < ACTIVITY_SCAN; upTo -= 1000) {
    const page = await store.listAudit({ afterSeq: Math.max(0, upTo - 1000), limit: 1000 });
    for (const r of page.reverse()) {
      if (r.action !== 'grant.stream' && r.action !== 'grant.query') continue;
      const g = await grantOf(r.subject.slice('grant:'.length));
      if (!g || (a.customerOf && !a.customerOf.includes(g.deployment))) continue;
      out.push({
        seq: r.seq,
        kind: r.action === 'grant.stream' ? 'connection' : 'query',
        grant: g.id,
        holder: g.holder,
        deployment: g.deployment,
        ...r.details,
      });
      if (out.length >= limit) break;
    }
  }
  return out;
}
