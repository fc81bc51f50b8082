// The lab's accounts, made by the administrator through the API: the deployment, the groups, alice
// (on call: asks), bob (sre-leads: approves) and the policy that ties them together.
import { routes, type ApiClient } from '../control/index.ts';
import { DEPLOYMENT } from './cast.ts';
import { newPassword, type LabUser } from './topology.ts';

export async function setupAccounts(admin: ApiClient): Promise<{ alice: LabUser; bob: LabUser }> {
  await admin.route(routes.deploymentsCreate, {
    body: { name: DEPLOYMENT, region: 'us-east-1', cloud: 'aws' },
  });
  for (const name of ['oncall', 'sre-leads']) await admin.route(routes.groupsCreate, { body: { name } });
  const user = async (name: string, group: string): Promise<LabUser> => {
    const u = { name, password: newPassword() };
    await admin.route(routes.usersCreate, { body: u });
    await admin.route(routes.groupMembersAdd, { params: { name: group, user: name } });
    return u;
  };
  const alice = await user('alice', 'oncall');
  const bob = await user('bob', 'sre-leads');
  await admin.route(routes.policyPut, {
    body: {
      version: 1,
      policies: [
        {
          id: 'oncall-read-only',
          requesters: ['oncall'],
          deployments: '*',
          services: '*',
          access: 'read-only',
          maxDuration: '2h',
          pendingFor: '30m',
          approval: { group: 'sre-leads', threshold: 1 },
        },
      ],
    },
  });
  return { alice, bob };
}

/** A single-use pre-auth key bound to a deployment (a connector) or a user (an engineer node). */
export async function preauthKey(
  admin: ApiClient,
  bind: { deployment: string } | { user: string },
): Promise<string> {
  return (await admin.route(routes.preauthKeysCreate, { body: { ...bind, reusable: false } })).key;
}
