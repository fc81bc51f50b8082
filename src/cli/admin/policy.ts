// `sallyport admin policy … | alert-tokens … | audit`: the access policy document, the tokens
// Alertmanager's webhook sends, and the audit log's records.
import { readFileSync } from 'node:fs';
import { parseJsonc } from '../../util/index.ts';
import { UsageError } from '../kit/index.ts';
import { done, enc, need, out, time, type AdminVerb, type Row } from './context.ts';

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
  c.io.stdout(JSON.stringify(await c.api.call('PUT', '/api/v1/policy', doc), null, 2) + '\n');
  return 0;
};

const audit: AdminVerb = async (c) => {
  const { o } = c;
  const q = new URLSearchParams({
    ...(o.after ? { after: o.after } : {}),
    ...(o.limit ? { limit: o.limit } : {}),
  }).toString();
  const rows = await c.api.call<Row[]>('GET', `/api/v1/audit${q ? `?${q}` : ''}`);
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
    c.io.stdout(JSON.stringify(await c.api.call('GET', '/api/v1/policy'), null, 2) + '\n');
    return 0;
  },
  'policy set': setPolicy,
  'alert-tokens list': async (c) => {
    const rows = await c.api.call<Row[]>('GET', '/api/v1/alert-tokens');
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
    const r = await c.api.call<Row>('POST', '/api/v1/alert-tokens', {
      name: need(c.args[0], 'NAME'),
      ...(c.o.deployment ? { deployment: c.o.deployment } : {}),
    });
    if (c.o.json) out(c, r);
    else c.io.stdout(`${String(r.token)}\n`);
    return 0;
  },
  'alert-tokens revoke': async (c) => {
    await c.api.call('POST', `/api/v1/alert-tokens/${enc(need(c.args[0], 'NAME'))}/revoke`);
    done(c, `revoked alert token ${c.args[0]}`, { revoked: c.args[0] });
    return 0;
  },
  audit,
};
