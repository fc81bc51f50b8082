// The lab's accounts, made by the administrator through the API: the deployment, the groups, alice
// (on call: asks), bob (sre-leads: approves) and the policy that ties them together.
import type { ApiClient } from '../control/index.ts';
import { DEPLOYMENT } from './cast.ts';
import { newPassword, type LabUser } from './topology.ts';

export async function setupAccounts(admin: ApiClient): Promise<{ alice: LabUser; bob: LabUser }> {
  await admin.call('POST', '/api/v1/deployments', { name: DEPLOYMENT, region: 'us-east-1', cloud: 'aws' });
  for (const name of ['oncall', 'sre-leads']) await admin.call('POST', '/api/v1/groups', { name });
  const user = async (name: string, group: string): Promise<LabUser> => {
    const u = { name, password: newPassword() };
    await admin.call('POST', '/api/v1/users', u);
    await admin.call(
      'PUT',
      `/api/v1/groups/${encodeURIComponent(group)}/members/${encodeURIComponent(name)}`,
    );
    return u;
  };
  const alice = await user('alice', 'oncall');
  const bob = await user('bob', 'sre-leads');
  await admin.call('PUT', '/api/v1/policy', {
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
  });
  return { alice, bob };
}

/** A single-use pre-auth key bound to a deployment (a connector) or a user (an engineer node). */
export async function preauthKey(
  admin: ApiClient,
  bind: { deployment: string } | { user: string },
): Promise<string> {
  return (await admin.call<{ key: string }>('POST', '/api/v1/preauth-keys', { ...bind, reusable: false }))
    .key;
}
