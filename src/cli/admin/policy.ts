// `sallyport admin policy … | alert-tokens … | audit`: the access policy document, the tokens
// Alertmanager's webhook sends, and the audit log's records.
import { readFileSync } from 'node:fs';
import { parseJsonc } from '../../util/index.ts';
import { routes } from '../../control/routes/index.ts';
import { UsageError } from '../kit/index.ts';
import { done, need, out, time, type AdminVerb } from './context.ts';

const setPolicy: AdminVerb = async (c) => {
  const file = need(c.args[0], 'FILE (the policy document, JSON; comments allowed)');
  let doc: unknown;
  try {
    doc = parseJsonc(file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read a JSON policy document from ${file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  c.io.stdout(JSON.stringify(await c.api.route(routes.policyPut, { body: doc }), null, 2) + '\n');
  return 0;
};

const audit: AdminVerb = async (c) => {
  const { o } = c;
  const rows = await c.api.route(routes.auditList, {
    query: { after: o.after || undefined, limit: o.limit || undefined },
  });
  out(c, o.json ? rows : rows.map((r) => ({ ...r, time: time(r.time) })), [
    'seq',
    'time',
    'actor',
    'action',
    'subject',
  ]);
  return 0;
};

export const POLICY_VERBS: Record<string, AdminVerb> = {
  'policy get': async (c) => {
    c.io.stdout(JSON.stringify(await c.api.route(routes.policyGet), null, 2) + '\n');
    return 0;
  },
  'policy set': setPolicy,
  'alert-tokens list': async (c) => {
    const rows = await c.api.route(routes.alertTokensList);
    out(
      c,
      c.o.json
        ? rows
        : rows.map((r) => ({ ...r, createdAt: time(r.createdAt), revokedAt: time(r.revokedAt) })),
      ['name', 'deployment', 'createdBy', 'createdAt', 'revokedAt'],
    );
    return 0;
  },
  'alert-tokens create': async (c) => {
    const r = await c.api.route(routes.alertTokensCreate, {
      body: {
        name: need(c.args[0], 'NAME'),
        ...(c.o.deployment ? { deployment: c.o.deployment } : {}),
      },
    });
    if (c.o.json) out(c, r);
    else c.io.stdout(`${r.token}\n`);
    return 0;
  },
  'alert-tokens revoke': async (c) => {
    await c.api.route(routes.alertTokensRevoke, { params: { name: need(c.args[0], 'NAME') } });
    done(c, `revoked alert token ${c.args[0]}`, { revoked: c.args[0] });
    return 0;
  },
  audit,
};
