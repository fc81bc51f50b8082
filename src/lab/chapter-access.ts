// Chapters 1–3 of the story (story.ts): enrolment, the request and its approval by a second
// person, and the grant's client certificate with a key made on the engineer's machine.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { routes, type ApiClient } from '../control/index.ts';
import { createKeyAndCsr } from '../pki/index.ts';
import type { ClientCert } from './client.ts';
import { CONNECTOR, DEPLOYMENT, ENGINEER, REASON, type Step } from './cast.ts';
import { until, within } from './wait.ts';

export const enrolStep: Step = async (c, s, detail) => {
  const clock = c.topo.o.clock;
  const specs = c.services.map((x) => x.spec);
  const conn = await c.topo.connector({ name: CONNECTOR, deployment: DEPLOYMENT, services: specs });
  s.connector = conn;
  const nm = await within(
    clock,
    conn.whenNetmap((n) => specs.every((x) => n.services.some((y) => y.name === x.name))),
    15_000,
    'the connector netmap listing its services',
  );
  const terminate = specs.filter((x) => x.tls === 'terminate').map((x) => x.name);
  await until(clock, () => terminate.every((x) => conn.certs.get(x)), {
    ms: 15_000,
    what: 'service certificates (key made on the connector, signed by the service CA)',
    signal: c.signal,
  });
  const eng = await c.topo.engineer({ name: ENGINEER, user: c.alice.name });
  s.engineer = eng;
  await within(clock, eng.whenNetmap(), 15_000, 'the engineer node netmap');
  const services = c.services.map((x) => ({
    name: x.spec.name,
    kind: x.spec.kind,
    tailnetName: nm.services.find((y) => y.name === x.spec.name)?.tailnetName,
    serves: x.label,
    ...(x.demo ? { demo: true } : {}),
  }));
  const seesConnector = eng.netmap!.peers.length > 0;
  detail({
    deployment: DEPLOYMENT,
    connector: { name: CONNECTOR, key: conn.publicKey.fingerprint() },
    engineer: { name: ENGINEER, user: c.alice.name, key: eng.publicKey.fingerprint() },
    services,
    engineerSeesConnector: seesConnector,
  });
  if (seesConnector) throw new Error('the engineer sees the connector before any grant');
  return (
    `connector ${CONNECTOR} (${conn.publicKey.fingerprint()}) and ${ENGINEER} enrolled; services: ` +
    services.map((x) => `${x.tailnetName} → ${x.serves}`).join('; ') +
    '; no grant yet: the engineer cannot see the connector'
  );
};

export const requestStep: Step = async (c, s, detail) => {
  const api = await c.topo.anonymous().login(c.alice.name, c.alice.password);
  s.aliceApi = api;
  const r = await api.route(routes.requestsCreate, {
    body: {
      deployment: DEPLOYMENT,
      services: c.services.map((x) => x.spec.name),
      reason: REASON,
      duration: '1h',
    },
  });
  s.requestId = r.id;
  // No one approves their own request: the coordinator refuses it.
  const self = await api.routeRaw(routes.requestsApprove, { params: { id: r.id } });
  const selfCode = 'error' in self.body ? self.body.error.code : undefined;
  detail({
    request: r.id,
    requester: c.alice.name,
    reason: REASON,
    status: r.status,
    selfApproval: { http: self.status, code: selfCode },
  });
  if (r.status !== 'pending') throw new Error(`request is ${r.status}, expected pending`);
  if (self.status < 400) throw new Error(`${c.alice.name} could approve her own request`);
  return `request ${r.id} pending (1 approval from sre-leads needed); ${c.alice.name} approving it herself: refused (${selfCode ?? `HTTP ${self.status}`})`;
};

export const approveStep: Step = async (c, s, detail) => {
  const api = await c.topo.anonymous().login(c.bob.name, c.bob.password);
  const r = await api.route(routes.requestsApprove, { params: { id: s.requestId! } });
  detail({ request: s.requestId, approver: c.bob.name, status: r.status, grant: r.grantId });
  if (r.status !== 'approved' || !r.grantId) throw new Error(`request is ${r.status} after approval`);
  s.grantId = r.grantId;
  return `approved by ${c.bob.name}: grant ${r.grantId} active for 1 h`;
};

export const certificateStep: Step = async (c, s, detail) => {
  const grantId = s.grantId!;
  const got = await clientCertificate(s.aliceApi!, c.alice.name, grantId, join(c.dir, 'alice-cert'));
  s.cert = got.cert;
  detail({ grant: grantId, dir: got.dir, serial: got.serial, notAfter: got.notAfter, subject: c.alice.name });
  const until = new Date(got.notAfter).toISOString();
  return `client certificate for grant ${grantId} (CN ${c.alice.name}, SAN sallyport:grant:${grantId}), valid until ${until}; key in ${got.dir}/key.pem (0600), never sent`;
};

/** What `sallyport cert --out DIR` does: key and CSR made here, the coordinator signs for the grant. */
async function clientCertificate(
  api: ApiClient,
  user: string,
  grantId: string,
  dir: string,
): Promise<{ cert: ClientCert; dir: string; serial: string; notAfter: number }> {
  const { keyPem, csrPem } = await createKeyAndCsr({ commonName: user });
  const r = await api.route(routes.accessGrantsCertificate, {
    params: { id: grantId },
    body: { csr: csrPem },
  });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'key.pem'), keyPem, { mode: 0o600 });
  chmodSync(join(dir, 'key.pem'), 0o600);
  writeFileSync(join(dir, 'cert.pem'), r.chainPem);
  writeFileSync(join(dir, 'ca.pem'), r.rootPem);
  return {
    cert: { keyPem, certPem: r.chainPem, caPem: r.rootPem },
    dir,
    serial: r.serial,
    notAfter: r.notAfter,
  };
}

/** After the story: a second request by alice, left pending, so bob's console inbox has one to decide. */
export const INBOX_REASON = 'INC-4712 pods restarting in acme-prod';

export const inboxStep: Step = async (c, s, detail) => {
  const k8s = c.services.find((x) => x.spec.kind === 'kubernetes') ?? c.services[0];
  const r = await s.aliceApi!.route(routes.requestsCreate, {
    body: { deployment: DEPLOYMENT, services: [k8s.spec.name], reason: INBOX_REASON, duration: '30m' },
  });
  s.inboxRequestId = r.id;
  detail({
    request: r.id,
    requester: c.alice.name,
    services: [k8s.spec.name],
    reason: INBOX_REASON,
    status: r.status,
  });
  if (r.status !== 'pending') throw new Error(`request is ${r.status}, expected pending`);
  return `request ${r.id} by ${c.alice.name} for ${k8s.spec.name} ("${INBOX_REASON}") waits in ${c.bob.name}'s inbox`;
};
