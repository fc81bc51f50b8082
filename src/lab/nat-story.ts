// The story of `sallyport lab --netns`: the same steps, chapters and events as story.ts, told by the
// real CLI in each party's namespace (nat-parties.ts):
//
//   1 enrol        `sallyport agent` in the customer namespace (the connector) and in the engineer's
//   2 request      `sallyport request` by alice (engineer namespace); her `sallyport approve`: refused
//     approve      `sallyport approve` by bob (vendor namespace)
//   3 certificate  `sallyport cert --out` by alice: the key is made in the engineer namespace
//     path         curl through alice's SOCKS5 proxy; the engineer agent's status: relay, then direct
//   4 query …      curl with the grant's certificate through the SOCKS5 proxy (engineer namespace);
//                  the customer's side judges each answer (customer-host.ts)
//   5 audit        as story.ts: the coordinator's export and the connector's local log, verified
//   6 inbox        a second `sallyport request`, left pending for the console
import { join } from 'node:path';
import type { PeerStatus } from '../agent/index.ts';
import type { Clock } from '../clock/index.ts';
import { PublicKey } from '../crypto/index.ts';
import { preauthKey } from './accounts.ts';
import { verifyAudits } from './audit.ts';
import { CONNECTOR, DEPLOYMENT, ENGINEER, REASON, type Detail } from './cast.ts';
import { INBOX_REASON } from './chapter-access.ts';
import { groupProbes, runProbes } from './chapter-probes.ts';
import type { HttpAnswer } from './client.ts';
import type { HostedService } from './customer-host.ts';
import type { Reporter } from './events.ts';
import type { NatParties } from './nat-parties.ts';
import { runStep } from './story.ts';
import type { LabUser } from './topology.ts';
import { sleep, until } from './wait.ts';

export interface NatContext {
  rep: Reporter;
  p: NatParties;
  alice: LabUser;
  bob: LabUser;
  dir: string;
  signal: AbortSignal;
  clock: Clock;
}

export interface NatState {
  connector?: { state: string; key: string };
  engineer?: { state: string; key: string };
  /** Tailnet name of each service. */
  tailnet: Record<string, string>;
  aliceToken?: string;
  requestId?: string;
  grantId?: string;
  certDir?: string;
  inboxRequestId?: string;
}

type NatStep = (c: NatContext, s: NatState, detail: Detail) => Promise<string>;

const RETRY_EVERY_MS = 250;
const fingerprint = (b64: string): string => PublicKey.fromBase64(b64).fingerprint();

// IDs are base64url and may begin with '-': they go after `--`, never where an option could be.

/** Parses a CLI's --json answer, or throws with what it printed on stderr. */
function cliJson<T>(what: string, r: { code: number; stdout: string; stderr: string }): T {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr.trim().split('\n')[0]}`);
  return JSON.parse(r.stdout) as T;
}

const enrol: NatStep = async (c, s, detail) => {
  const { p, clock, signal } = c;
  const specs = p.services.map((x) => x.spec);
  const connKey = await preauthKey(p.admin, { deployment: DEPLOYMENT });
  const conn = p.agent('customer', { name: CONNECTOR, preauthKey: connKey, services: specs });
  const cst = await until(
    clock,
    async () => {
      const st = await p.quickStatus(conn.state);
      return st && specs.every((x) => st.services.some((y) => y.name === x.name)) ? st : undefined;
    },
    { ms: 30_000, what: 'the connector netmap listing its services', signal, every: RETRY_EVERY_MS },
  );
  s.connector = { state: conn.state, key: cst.node.key };
  for (const x of cst.services) s.tailnet[x.name] = x.tailnetName;
  const engKey = await preauthKey(p.admin, { user: c.alice.name });
  const eng = p.agent('engineer', { name: ENGINEER, preauthKey: engKey });
  const est0 = await until(
    clock,
    async () => {
      const st = await p.quickStatus(eng.state);
      return st && st.coordinator.netmapTime !== null ? st : undefined;
    },
    { ms: 30_000, what: 'the engineer node netmap', signal, every: RETRY_EVERY_MS },
  );
  s.engineer = { state: eng.state, key: est0.node.key };
  // what `sallyport status --json` shows alice on her machine
  const est = (await p.status('engineer', eng.state)) ?? est0;
  const services = p.services.map((x) => ({
    name: x.spec.name,
    kind: x.spec.kind,
    tailnetName: s.tailnet[x.spec.name],
    serves: x.label,
    ...(x.demo ? { demo: true } : {}),
  }));
  const seesConnector = est.peers.length > 0;
  detail({
    deployment: DEPLOYMENT,
    connector: { name: CONNECTOR, key: fingerprint(cst.node.key), namespace: p.net.ns.customer },
    engineer: {
      name: ENGINEER,
      user: c.alice.name,
      key: fingerprint(est.node.key),
      namespace: p.net.ns.engineer,
    },
    services,
    engineerSeesConnector: seesConnector,
  });
  if (seesConnector) throw new Error('the engineer sees the connector before any grant');
  return (
    `connector ${CONNECTOR} (${fingerprint(cst.node.key)}, customer namespace, behind NAT) and ${ENGINEER} ` +
    `(engineer namespace, behind NAT) enrolled; services: ` +
    services.map((x) => `${x.tailnetName} → ${x.serves}`).join('; ') +
    '; no grant yet: the engineer cannot see the connector'
  );
};

const request: NatStep = async (c, s, detail) => {
  const { p } = c;
  s.aliceToken = await p.login('engineer', c.alice);
  const env = p.env(s.aliceToken);
  const args = ['request', DEPLOYMENT, ...p.services.flatMap((x) => ['--service', x.spec.name])];
  const r = cliJson<{ id: string; status: string }>(
    'sallyport request',
    await p.cli('engineer', [...args, '--reason', REASON, '--for', '1h', '--json'], env),
  );
  s.requestId = r.id;
  // No one approves their own request: the coordinator refuses it, the CLI exits non-zero.
  const self = await p.cli('engineer', ['approve', '--json', '--', r.id], env);
  const selfMessage = self.stderr.trim().split('\n')[0] ?? '';
  // "sallyport approve: SELF_APPROVAL (HTTP 403): …"
  const m = /: ([A-Z_]+) \(HTTP (\d{3})\)/.exec(selfMessage);
  detail({
    request: r.id,
    requester: c.alice.name,
    reason: REASON,
    status: r.status,
    selfApproval: { exit: self.code, http: m ? Number(m[2]) : undefined, code: m?.[1], message: selfMessage },
  });
  if (r.status !== 'pending') throw new Error(`request is ${r.status}, expected pending`);
  if (self.code === 0) throw new Error(`${c.alice.name} could approve her own request`);
  return `\`sallyport request\` in the engineer namespace: ${r.id} pending (1 approval from sre-leads needed); ${c.alice.name}'s own \`sallyport approve\`: refused (exit ${self.code}: ${selfMessage})`;
};

const approve: NatStep = async (c, s, detail) => {
  const { p } = c;
  const token = await p.login('vendor', c.bob);
  const r = cliJson<{ status: string; grantId?: string }>(
    'sallyport approve',
    await p.cli('vendor', ['approve', '--json', '--', s.requestId!], p.env(token)),
  );
  detail({ request: s.requestId, approver: c.bob.name, status: r.status, grant: r.grantId });
  if (r.status !== 'approved' || !r.grantId) throw new Error(`request is ${r.status} after approval`);
  s.grantId = r.grantId;
  return `\`sallyport approve\` by ${c.bob.name}: grant ${r.grantId} active for 1 h`;
};

const certificate: NatStep = async (c, s, detail) => {
  const dir = join(c.dir, 'alice-cert');
  const r = cliJson<{ grant: string; dir: string; serial: string; notAfter: number }>(
    'sallyport cert',
    await c.p.cli('engineer', ['cert', '--out', dir, '--json', '--', s.grantId!], c.p.env(s.aliceToken)),
  );
  s.certDir = dir;
  detail({ grant: r.grant, dir, serial: r.serial, notAfter: r.notAfter, subject: c.alice.name });
  return `\`sallyport cert\` in the engineer namespace: client certificate for grant ${r.grant} (CN ${c.alice.name}), valid until ${new Date(r.notAfter).toISOString()}; key in ${dir}/key.pem (0600), never sent`;
};

const describePath = (x: PeerStatus['path'] | undefined): string | undefined =>
  !x || x.kind === 'none' ? undefined : x.kind === 'relay' ? `relay ${x.region}` : `direct ${x.endpoint}`;

const path: NatStep = async (c, s, detail) => {
  const { p, clock, signal } = c;
  const eng = s.engineer!.state;
  const connKey = s.connector!.key;
  const peer = async () => (await p.quickStatus(eng))?.peers.find((x) => x.key === connKey);
  await until(clock, peer, { ms: 15_000, what: 'the connector in the engineer netmap (the grant)', signal });
  const seen: string[] = [];
  const sample = async (): Promise<void> => {
    const v = describePath((await peer())?.path);
    if (v && seen.at(-1) !== v) seen.push(v);
  };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await sample();
      await sleep(clock, 20, signal).catch(() => (sampling = false));
    }
  })();
  const main = p.services[0].spec.name;
  const host = s.tailnet[main] ?? main;
  let lastError = '';
  try {
    await until(
      clock,
      () =>
        p.curl(s.certDir!, host, { path: '/' }, 5).then(
          () => true,
          (e: Error) => {
            lastError = e.message;
            return false;
          },
        ),
      {
        ms: 20_000,
        what: `an mTLS connection to ${host} through the overlay`,
        signal,
        every: RETRY_EVERY_MS,
      },
    ).catch(async (e: Error) => {
      // what the engineer's agent saw, for the failed event
      const st = await peer();
      detail({ paths: seen, lastCurlError: lastError, peer: st ?? null });
      throw new Error(`${e.message} (last curl: ${lastError})`);
    });
    await until(clock, async () => (await peer())?.path.kind === 'direct', {
      ms: 15_000,
      what: 'a direct path',
      signal,
      every: 100,
    }).catch(() => undefined);
  } finally {
    sampling = false;
    await sampler;
  }
  // the final reading as `sallyport status --json` prints it in the engineer namespace
  const now = (await p.status('engineer', eng))?.peers.find((x) => x.key === connKey);
  const last = describePath(now?.path);
  if (last && seen.at(-1) !== last) seen.push(last);
  const change = now?.pathChange ?? null;
  if (change && seen[0] !== change.from && seen[0] === change.to) seen.unshift(change.from);
  detail({
    paths: seen,
    now: now?.path ?? null,
    rttMs: now?.rttMs ?? null,
    pathRttMs: now?.pathRttMs ?? null,
    direct: now?.path.kind === 'direct',
    change,
    nat: { engineer: p.net.addr.engrtrWan, customer: p.net.addr.custrtrWan },
  });
  if (!now || now.path.kind === 'none') throw new Error('no path to the connector');
  const rtt = now.pathRttMs ?? now.rttMs;
  return (
    seen.join(' → ') +
    (rtt !== null ? ` (RTT ${rtt} ms)` : '') +
    (now.path.kind === 'direct'
      ? ', through both NATs'
      : ': no direct path within 15 s, the relay carries the traffic')
  );
};

/** Chapter 4's steps: the same probes as on loopback, sent by curl in the engineer namespace and judged on the customer side. */
function probeSteps(services: HostedService[]): { name: string; running: string; fn: NatStep }[] {
  return groupProbes(services).map(([name, probes]) => ({
    name,
    running: probes.map((x) => x.probe.what).join(', then ') + ' (curl in the engineer namespace)',
    fn: (c, s, detail) =>
      runProbes(
        probes.map(({ svc, probe, index }) => {
          const host = s.tailnet[svc.spec.name] ?? svc.spec.name;
          return {
            service: svc.spec.name,
            what: probe.what,
            host,
            ...(probe.retryMs !== undefined ? { retryMs: probe.retryMs } : {}),
            send: () => c.p.curl(s.certDir!, host, probe.request),
            judge: (a: HttpAnswer) => c.p.judge(svc.spec.name, index, a),
          };
        }),
        c.clock,
        c.signal,
        detail,
      ),
  }));
}

const audit: NatStep = (c, _s, detail) => verifyAudits(c.p.admin, c.dir, c.clock, detail);

const inbox: NatStep = async (c, s, detail) => {
  const k8s = c.p.services.find((x) => x.spec.kind === 'kubernetes') ?? c.p.services[0];
  const r = cliJson<{ id: string; status: string }>(
    'sallyport request',
    await c.p.cli(
      'engineer',
      ['request', DEPLOYMENT, '--service', k8s.spec.name, '--reason', INBOX_REASON, '--for', '30m', '--json'],
      c.p.env(s.aliceToken),
    ),
  );
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

export async function runNatStory(c: NatContext, s: NatState): Promise<void> {
  const step = (name: string, chapter: number, running: string, fn: NatStep) =>
    runStep(c, s, name, chapter, running, fn);
  await step(
    'enrol',
    1,
    'the connector (customer namespace) and the engineer node (engineer namespace) enrol with single-use pre-auth keys',
    enrol,
  );
  await step('request', 2, `${c.alice.name} asks for access: "${REASON}"`, request);
  await step('approve', 2, `${c.bob.name} (sre-leads) approves`, approve);
  await step('certificate', 3, 'key made in the engineer namespace; CSR signed for the grant', certificate);
  const pathRunning =
    'the engineer node dials the connector through both NATs (relay first, then a direct UDP path)';
  await step('path', 3, pathRunning, path);
  for (const x of probeSteps(c.p.services)) await step(x.name, 4, x.running, x.fn);
  await step('audit', 5, "the coordinator's audit log and the connector's local log are verified", audit);
  await step('inbox', 6, 'a second request, left pending for the console', inbox);
}
