// `sallyport admin keys … | nodes … | device approve` and standing `grants …`: how machines join
// (pre-auth keys, device codes), the nodes that did, and who may reach what without asking.
import { UsageError } from '../kit/index.ts';
import { done, enc, need, out, time, type AdminContext, type AdminVerb, type Row } from './context.ts';

/** --expires as the API's seconds. */
const expiresIn = (c: AdminContext) =>
  c.o.expires !== undefined ? { expiresInSeconds: c.o.expires / 1000 } : {};

const createKey: AdminVerb = async (c) => {
  const { o } = c;
  if (!!o.deployment === !!o.user)
    throw new UsageError('give exactly one of --deployment NAME or --user NAME');
  const r = await c.api.call<Row>('POST', '/api/v1/preauth-keys', {
    ...(o.deployment ? { deployment: o.deployment } : { user: o.user }),
    reusable: !!o.reusable,
    ...expiresIn(c),
  });
  if (o.json) out(c, r);
  else c.io.stdout(`${String(r.key)}\n`);
  return 0;
};

const createGrant: AdminVerb = async (c) => {
  const { o } = c;
  const subjects = [
    o.user && { type: 'user', name: o.user },
    o.group && { type: 'group', name: o.group },
    o.node && { type: 'node', name: o.node },
  ].filter(Boolean);
  if (subjects.length !== 1) throw new UsageError('give exactly one of --user, --group or --node');
  const r = await c.api.call('POST', '/api/v1/grants', {
    subject: subjects[0],
    deployment: need(o.deployment, '--deployment'),
    services: o.service ?? [],
    ...expiresIn(c),
    ...(o.access !== undefined ? { access: o.access } : {}),
  });
  out(c, r, ['id', 'subject.type', 'subject.name', 'deployment', 'services', 'access']);
  return 0;
};

export const NODE_VERBS: Record<string, AdminVerb> = {
  'keys list': async (c) => {
    const rows = await c.api.call<Row[]>('GET', '/api/v1/preauth-keys');
    out(c, c.o.json ? rows : rows.map((r) => ({ ...r, expiresAt: time(r.expiresAt) })), [
      'id',
      'deployment',
      'user',
      'reusable',
      'usedCount',
      'expiresAt',
      'revokedAt',
    ]);
    return 0;
  },
  'keys create': createKey,
  'keys revoke': async (c) => {
    await c.api.call('DELETE', `/api/v1/preauth-keys/${enc(need(c.args[0], 'ID'))}`);
    done(c, `revoked pre-auth key ${c.args[0]}`, { revoked: c.args[0] });
    return 0;
  },
  'grants list': async (c) => {
    const q = c.o.deployment ? `?deployment=${enc(c.o.deployment)}` : '';
    const rows = await c.api.call<Row[]>('GET', `/api/v1/grants${q}`);
    out(c, c.o.json ? rows : rows.map((r) => ({ ...r, expiresAt: time(r.expiresAt) })), [
      'id',
      'subject.type',
      'subject.name',
      'deployment',
      'services',
      'access',
      'expiresAt',
    ]);
    return 0;
  },
  'grants create': createGrant,
  'grants revoke': async (c) => {
    await c.api.call('DELETE', `/api/v1/grants/${enc(need(c.args[0], 'ID'))}`);
    done(c, `revoked standing grant ${c.args[0]}`, { revoked: c.args[0] });
    return 0;
  },
  'nodes list': async (c) => {
    out(c, await c.api.call('GET', '/api/v1/nodes'), [
      'name',
      'kind',
      'deployment',
      'user',
      'online',
      'publicKey',
      'revokedAt',
    ]);
    return 0;
  },
  'nodes revoke': async (c) => {
    out(c, await c.api.call('POST', '/api/v1/nodes/revoke', { key: need(c.args[0], 'KEY') }), [
      'name',
      'kind',
      'revokedAt',
    ]);
    return 0;
  },
  'device approve': async (c) => {
    out(c, await c.api.call('POST', '/api/v1/device/approve', { userCode: need(c.args[0], 'CODE') }), [
      'name',
      'user',
      'publicKey',
    ]);
    return 0;
  },
};
