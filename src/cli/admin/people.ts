// `sallyport admin login | users … | customers … | groups …`: who may sign in, as what, and in
// which groups (what the access policy and standing grants name).
import { routes, type CustomerSwitch } from '../../control/routes/index.ts';
import { done, need, out, secretFrom, type AdminVerb } from './context.ts';

const login: AdminVerb = async (c) => {
  const r = await c.api.route(routes.login, {
    body: {
      user: need(c.o.user, '--user NAME'),
      password: await secretFrom(c.io, 'SALLYPORT_PASSWORD', 'Password: '),
    },
  });
  if (c.o.json) out(c, r);
  else c.io.stdout(`${r.token}\n`);
  return 0;
};

const createUser: AdminVerb = async (c) => {
  const { o, args } = c;
  const body = {
    name: need(args[0], 'NAME'),
    password: await secretFrom(c.io, 'SALLYPORT_NEW_PASSWORD', `New password for ${args[0] ?? 'the user'}: `),
    admin: !!o.admin,
    ...(o.customer ? { customer: o.customer } : {}),
  };
  out(c, await c.api.route(routes.usersCreate, { body }), ['name', 'isAdmin']);
  return 0;
};

const setUser: AdminVerb = async (c) => {
  const r = c.verb === 'disable' ? routes.usersDisable : routes.usersEnable;
  out(c, await c.api.route(r, { params: { name: need(c.args[0], 'NAME') } }), ['name', 'disabled']);
  return 0;
};

const invite: AdminVerb = async (c) => {
  const { o, args } = c;
  const r = await c.api.route(routes.customerInvitesCreate, {
    params: { name: need(args[0], 'CUSTOMER') },
    body: {
      user: need(args[1], 'USER'),
      ...(o.group ? { groups: [o.group, ...(o['also-group'] ?? [])] } : {}),
      ...(o.hours ? { hours: Number(o.hours) } : {}),
    },
  });
  if (o.json) out(c, r);
  else
    c.io.stdout(
      `send ${r.user} this link (it works once, until ${new Date(r.expiresAt).toISOString()}); they choose their own password:\n  ${r.url}\n`,
    );
  return 0;
};

const createCustomer: AdminVerb = async (c) => {
  const { o } = c;
  const body = {
    name: need(c.args[0], 'NAME'),
    deployments: o.deployment ? [o.deployment, ...(o['also-deployment'] ?? [])] : [],
    // The server checks the names against its list (CUSTOMER_SWITCHES).
    ...(o.switch ? { switches: o.switch as CustomerSwitch[] } : {}),
    ...(o.webhook ? { webhook: o.webhook } : {}),
  };
  out(c, await c.api.route(routes.customersCreate, { body }), ['name', 'deployments', 'switches']);
  return 0;
};

/** groups add GROUP USER, groups remove GROUP USER. */
const membership: AdminVerb = async (c) => {
  const { args, verb } = c;
  const add = verb === 'add';
  await c.api.route(add ? routes.groupMembersAdd : routes.groupMembersRemove, {
    params: { name: need(args[0], 'GROUP'), user: need(args[1], 'USER') },
  });
  done(c, `${add ? 'added' : 'removed'} ${args[1]} ${add ? 'to' : 'from'} group ${args[0]}`, {
    group: args[0],
    user: args[1],
  });
  return 0;
};

export const PEOPLE_VERBS: Record<string, AdminVerb> = {
  login,
  'users list': async (c) => {
    out(c, await c.api.route(routes.usersList), ['name', 'isAdmin', 'disabled']);
    return 0;
  },
  'users create': createUser,
  'users disable': setUser,
  'users enable': setUser,
  'customers list': async (c) => {
    out(c, await c.api.route(routes.customersList), ['name', 'deployments', 'switches', 'webhook']);
    return 0;
  },
  'customers invite': invite,
  'customers create': createCustomer,
  'groups list': async (c) => {
    out(c, await c.api.route(routes.groupsList), ['name', 'members']);
    return 0;
  },
  'groups create': async (c) => {
    out(c, await c.api.route(routes.groupsCreate, { body: { name: need(c.args[0], 'NAME') } }), ['name']);
    return 0;
  },
  'groups delete': async (c) => {
    await c.api.route(routes.groupsDelete, { params: { name: need(c.args[0], 'NAME') } });
    done(c, `deleted group ${c.args[0]}`, { deleted: c.args[0] });
    return 0;
  },
  'groups add': membership,
  'groups remove': membership,
};
