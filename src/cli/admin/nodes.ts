// `sallyport admin keys … | nodes … | device approve` and standing `grants …`: how machines join
// (pre-auth keys, device codes), the nodes that did, and who may reach what without asking.
import { routes, type NewStandingGrant } from '../../control/routes/index.ts';
import type { AccessLevel } from '../../access/index.ts';
import { UsageError } from '../kit/index.ts';
import { done, need, out, time, type AdminContext, type AdminVerb } from './context.ts';

/** --expires as the API's seconds. */
const expiresIn = (c: AdminContext) =>
  c.o.expires !== undefined ? { expiresInSeconds: c.o.expires / 1000 } : {};

const createKey: AdminVerb = async (c) => {
  const { o } = c;
  if (!!o.deployment === !!o.user)
    throw new UsageError('give exactly one of --deployment NAME or --user NAME');
  const r = await c.api.route(routes.preauthKeysCreate, {
    body: {
      ...(o.deployment ? { deployment: o.deployment } : { user: o.user }),
      reusable: !!o.reusable,
      ...expiresIn(c),
    },
  });
  if (o.json) out(c, r);
  else c.io.stdout(`${r.key}\n`);
  return 0;
};

const createGrant: AdminVerb = async (c) => {
  const { o } = c;
  const subjects = (
    [
      ['user', o.user],
      ['group', o.group],
      ['node', o.node],
    ] as const
  ).flatMap(([type, name]): NewStandingGrant['subject'][] => (name ? [{ type, name }] : []));
  if (subjects.length !== 1) throw new UsageError('give exactly one of --user, --group or --node');
  const r = await c.api.route(routes.grantsCreate, {
    body: {
      subject: subjects[0],
      deployment: need(o.deployment, '--deployment'),
      services: o.service ?? [],
      ...expiresIn(c),
      // As typed: the server's schema names the levels it takes.
      ...(o.access !== undefined ? { access: o.access as AccessLevel } : {}),
    },
  });
  out(c, r, ['id', 'subject.type', 'subject.name', 'deployment', 'services', 'access']);
  return 0;
};

export const NODE_VERBS: Record<string, AdminVerb> = {
  'keys list': async (c) => {
    const rows = await c.api.route(routes.preauthKeysList);
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
    await c.api.route(routes.preauthKeysRevoke, { params: { id: need(c.args[0], 'ID') } });
    done(c, `revoked pre-auth key ${c.args[0]}`, { revoked: c.args[0] });
    return 0;
  },
  'grants list': async (c) => {
    const rows = await c.api.route(routes.grantsList, { query: { deployment: c.o.deployment || undefined } });
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
    await c.api.route(routes.grantsRevoke, { params: { id: need(c.args[0], 'ID') } });
    done(c, `revoked standing grant ${c.args[0]}`, { revoked: c.args[0] });
    return 0;
  },
  'nodes list': async (c) => {
    out(c, await c.api.route(routes.nodesList), [
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
    out(c, await c.api.route(routes.nodesRevoke, { body: { key: need(c.args[0], 'KEY') } }), [
      'name',
      'kind',
      'revokedAt',
    ]);
    return 0;
  },
  'device approve': async (c) => {
    out(c, await c.api.route(routes.deviceApprove, { body: { userCode: need(c.args[0], 'CODE') } }), [
      'name',
      'user',
      'publicKey',
    ]);
    return 0;
  },
};
