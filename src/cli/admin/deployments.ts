// `sallyport admin info | deployments … | services …`: the coordinator's keys, the customer
// deployments, how their management services reach them, and the services their connectors serve.
import { routes, type ManagementMode, type ServiceKind, type TlsMode } from '../../control/routes/index.ts';
import { UsageError } from '../kit/index.ts';
import { done, need, out, split, type AdminVerb } from './context.ts';

const managementCols = ['deployment', 'mode', 'publicServer', 'customerWebhook'];

const management: AdminVerb = async (c) => {
  const { o, api, args } = c;
  const params = { name: need(args[0], 'NAME') };
  if (!o.mode) {
    if (o['public-server'] || o['customer-webhook']) throw new UsageError('--mode is required to change it');
    out(c, await api.route(routes.managementGet, { params }), managementCols);
    return 0;
  }
  // Flag values go as typed: the server's schema refuses what it does not know, naming it.
  const body = {
    mode: o.mode as ManagementMode,
    ...(o['public-server'] ? { publicServer: o['public-server'] } : {}),
    ...(o['customer-webhook'] ? { customerWebhook: o['customer-webhook'] } : {}),
  };
  out(c, await api.route(routes.managementPut, { params, body }), managementCols);
  return 0;
};

function labelsOf(specs: string[]): Record<string, string> {
  return Object.fromEntries(
    specs.map((l) => {
      const i = l.indexOf('=');
      if (i < 1) throw new UsageError(`--label wants K=V, got '${l}'`);
      return [l.slice(0, i), l.slice(i + 1)];
    }),
  );
}

const setService: AdminVerb = async (c) => {
  const { o, api, args } = c;
  const [d, n] = split(need(args[0], 'DEPLOYMENT/NAME'));
  const labels = labelsOf(o.label ?? []);
  const body = {
    kind: need(o.kind, '--kind') as ServiceKind,
    address: need(o.address, '--address HOST:PORT'),
    ...(o.tls ? { tlsMode: o.tls as TlsMode } : {}),
    ...(o.label ? { labels } : {}),
  };
  out(c, await api.route(routes.servicesPut, { params: { deployment: d, name: n }, body }), [
    'deployment',
    'name',
    'kind',
    'address',
    'tailnetName',
  ]);
  return 0;
};

const bindService: AdminVerb = async (c) => {
  const { o, api, args } = c;
  const [d, n] = split(need(args[0], 'DEPLOYMENT/NAME'));
  if ((o.node === undefined) === !o.release) throw new UsageError('give one of --node KEY or --release');
  const r = await api.route(routes.servicesBind, {
    params: { deployment: d, name: n },
    body: { key: o.release ? null : (o.node ?? null) },
  });
  out(c, r, ['deployment', 'name', 'connectorKey']);
  return 0;
};

export const DEPLOYMENT_VERBS: Record<string, AdminVerb> = {
  info: async (c) => {
    out(c, await c.api.route(routes.info), ['publicKey', 'signingKey', 'suffix']);
    return 0;
  },
  'deployments list': async (c) => {
    out(c, await c.api.route(routes.deploymentsList), ['name', 'region', 'cloud']);
    return 0;
  },
  'deployments create': async (c) => {
    const body = {
      name: need(c.args[0], 'NAME'),
      region: need(c.o.region, '--region'),
      cloud: need(c.o.cloud, '--cloud'),
    };
    out(c, await c.api.route(routes.deploymentsCreate, { body }), ['name', 'region', 'cloud']);
    return 0;
  },
  'deployments management': management,
  'deployments delete': async (c) => {
    await c.api.route(routes.deploymentsDelete, { params: { name: need(c.args[0], 'NAME') } });
    done(c, `deleted deployment ${c.args[0]}`, { deleted: c.args[0] });
    return 0;
  },
  'services list': async (c) => {
    const query = { deployment: c.o.deployment || undefined };
    out(c, await c.api.route(routes.servicesList, { query }), [
      'deployment',
      'name',
      'kind',
      'address',
      'tlsMode',
      'tailnetName',
      'connectorKey',
    ]);
    return 0;
  },
  'services set': setService,
  'services delete': async (c) => {
    const [d, n] = split(need(c.args[0], 'DEPLOYMENT/NAME'));
    await c.api.route(routes.servicesDelete, { params: { deployment: d, name: n } });
    done(c, `deleted service ${d}/${n}`, { deleted: `${d}/${n}` });
    return 0;
  },
  'services bind': bindService,
};
