// The customer portal in Debian's Chromium: the customer's person (jane, customer "acme", owner of
// acme-prod) co-approves a request the vendor approved, revokes the grant while the engineer has a
// stream open (cut within 1 s), reads the history, and switches vendor access off and on. The
// vendor's people cannot stand in: a vendor user in the customer's approval group does not count as
// the customer, and an administrator cannot flip the customer's switches. Everything a customer's
// person sees is scoped to its deployments. Screenshots go to test-output/console/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { Harness, waitFor, type AgentHandle } from '../../src/testing/harness.ts';
import { needs } from '../../src/testing/require.ts';
import { ApiClient, ApiError, routes } from '../../src/control/index.ts';
import { startServices, type Services } from '../integration/services.ts';

const CHROMIUM = process.env.SALLYPORT_CHROMIUM ?? '/usr/bin/chromium';
const OUT = fileURLToPath(new URL('../../test-output/console/', import.meta.url));
const PW = (u: string) => `pw-${u}-${'x'.repeat(12)}`;

let h: Harness;
let svc: Services;
let eng: AgentHandle;
let browser: Browser | undefined;
let browserMissing: string | undefined;
let page: Page;
const as: Record<string, ApiClient> = {};
let requestId = '';
let hook: Server;
const hookBodies: { text: string; url?: string }[] = [];
let grantId = '';

const shot = (file: string) => page.screenshot({ path: join(OUT, file), fullPage: true });

async function refused(p: Promise<unknown>, status: number, code?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ApiError, String(e));
    assert.equal(e.status, status, e.message);
    if (code) assert.equal(e.code, code, e.message);
    return true;
  });
}

before(async () => {
  mkdirSync(OUT, { recursive: true });
  svc = await startServices(1024);
  h = await Harness.start();
  for (const d of ['acme-prod', 'globex-prod']) await h.deployment(d);
  for (const u of ['alice', 'bob', 'vic']) await h.user(u);
  for (const [g, members] of [
    ['oncall', ['alice']],
    ['sre-leads', ['bob']],
    ['acme-admins', ['vic']],
  ] as const) {
    await h.api.route(routes.groupsCreate, { body: { name: g } });
    for (const u of members) await h.api.route(routes.groupMembersAdd, { params: { name: g, user: u } });
  }
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hookBodies.push(JSON.parse(body) as { text: string; url?: string });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  await h.api.route(routes.customersCreate, {
    body: {
      name: 'acme',
      deployments: ['acme-prod'],
      switches: ['co-approval', 'no-access', 'hours'],
      webhook: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/acme`,
    },
  });
  await h.api.route(routes.usersCreate, { body: { name: 'jane', password: PW('jane'), customer: 'acme' } });
  await h.api.route(routes.groupMembersAdd, { params: { name: 'acme-admins', user: 'jane' } });
  await h.api.route(routes.policyPut, {
    body: {
      version: 1,
      policies: [
        {
          id: 'oncall',
          requesters: ['oncall'],
          deployments: '*',
          services: '*',
          access: 'read-only',
          maxDuration: '2h',
          pendingFor: '10m',
          approval: { group: 'sre-leads', threshold: 1 },
          customer: { group: 'acme-admins', threshold: 1 },
        },
      ],
    },
  });
  const anon = new ApiClient({ server: h.coordinator.url, ca: h.coordinator.tls.cert });
  for (const u of ['alice', 'bob', 'vic', 'jane']) as[u] = await anon.login(u, PW(u));
  await h.connector({
    deployment: 'acme-prod',
    services: [{ name: 'echo', kind: 'tcp', address: `127.0.0.1:${svc.echoPort}`, tls: 'passthrough' }],
  });
  await h.connector({
    deployment: 'globex-prod',
    services: [{ name: 'echo', kind: 'tcp', address: `127.0.0.1:${svc.echoPort}`, tls: 'passthrough' }],
  });
  eng = await h.engineer({ user: 'alice', socks5: true });
  if (!existsSync(CHROMIUM)) browserMissing = `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  else {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }
});

after(async () => {
  await browser?.close();
  hook?.close();
  await h?.stop();
  await svc?.close();
});

test("the vendor's approvals do not stand in for the customer's", async () => {
  const r = await as.alice.route(routes.requestsCreate, {
    body: {
      deployment: 'acme-prod',
      services: ['echo'],
      reason: 'INC-77 connection resets',
      duration: '1h',
    },
  });
  requestId = r.id;
  const after1 = await as.bob.route(routes.requestsApprove, { params: { id: r.id } });
  assert.equal(after1.status, 'pending', 'the vendor approval alone');
  // vic is the vendor's, in the customer's approval group: not the customer.
  await refused(as.vic.route(routes.requestsApprove, { params: { id: r.id } }), 403, 'NOT_APPROVER');
  // The administrator neither.
  await refused(h.api.route(routes.requestsApprove, { params: { id: r.id } }), 403, 'NOT_APPROVER');
  const now = await as.bob.route(routes.requestsGet, { params: { id: r.id } });
  assert.equal(now.status, 'pending');
  // The customer's webhook hears of it, with a link that opens the request in the portal.
  await waitFor(() => hookBodies.some((b) => b.text.includes('Access requested')), 5000, 'customer webhook');
  const b = hookBodies.find((x) => x.text.includes('Access requested'))!;
  assert.equal(b.url, `${h.coordinator.url}/console/?open=request:${r.id}#approvals`);
});

test("a customer's person sees only its deployments and cannot act as the vendor", async () => {
  const other = await as.alice.route(routes.requestsCreate, {
    body: {
      deployment: 'globex-prod',
      services: ['echo'],
      reason: 'INC-78 another customer',
      duration: '1h',
    },
  });
  const seen = await as.jane.route(routes.requestsList);
  assert.deepEqual(
    seen.map((x) => x.deployment),
    ['acme-prod'],
  );
  await refused(as.jane.route(routes.requestsGet, { params: { id: other.id } }), 404);
  await refused(as.jane.route(routes.requestsApprove, { params: { id: other.id } }), 403, 'NOT_APPROVER');
  await refused(
    as.jane.route(routes.requestsCreate, {
      body: {
        deployment: 'acme-prod',
        services: ['echo'],
        reason: 'x',
        duration: '1h',
      },
    }),
    403,
    'NOT_ELIGIBLE',
  );
  // Routes outside the portal are closed to customers' people (fail closed).
  await refused(as.jane.route(routes.deviceApprove, { body: { userCode: 'ABCD-EFGH' } }), 403, 'FORBIDDEN');
  await refused(as.jane.route(routes.incidentsList), 403, 'FORBIDDEN');
  await refused(as.jane.route(routes.controlsGet, { params: { name: 'globex-prod' } }), 404);
  const who = await as.jane.route(routes.whoami);
  assert.equal(who.customer, 'acme');
  assert.deepEqual(who.deployments, ['acme-prod']);
});

test('the customer co-approves in the portal; the grant starts', async (t) => {
  if (!needs(t, browserMissing)) return;
  const ctx = await browser!.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1200, height: 900 } });
  page = await ctx.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(`${h.coordinator.url}/console/`);
  await page.fill('#signin-user', 'jane');
  await page.fill('#signin-password', PW('jane'));
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('#who:not([hidden])');
  assert.equal(await page.locator('#app-h').textContent(), 'Customer portal · acme');
  assert.ok(await page.locator('#request').isHidden(), 'no request form for a customer');
  assert.ok(await page.locator('#audit').isHidden());
  const card = page.locator(`[data-request="${requestId}"]`);
  await card.waitFor();
  assert.match(await card.innerText(), /alice asks for read-only access to acme-prod/);
  assert.match(await card.innerText(), /1 so far \(needs 1 from sre-leads and 1 from acme-admins\)/);
  await shot('customer-co-approval.png');
  await card.locator('button:has-text("Approve")').click();
  await waitFor(
    async () =>
      (await as.alice.route(routes.requestsGet, { params: { id: requestId } })).status === 'approved',
    10_000,
    'approved by the customer',
  );
  const r = await as.alice.route(routes.requestsGet, { params: { id: requestId } });
  grantId = r.grantId;
  // Live: the grant appears without a reload (server-sent events).
  await page.waitForSelector(`[data-grant="${grantId}"]`);
  await shot('customer-grant-active.png');
});

test("the vendor's topology page draws the engineer's live path to the customer's connector", async (t) => {
  if (!needs(t, browserMissing)) return;
  await h.api.route(routes.usersCreate, { body: { name: 'ops', password: PW('ops'), admin: true } });
  const ctx = await browser!.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1200, height: 700 } });
  const ops = await ctx.newPage();
  ops.setDefaultTimeout(15_000);
  await ops.goto(`${h.coordinator.url}/console/#page-topology`);
  await ops.fill('#signin-user', 'ops');
  await ops.fill('#signin-password', PW('ops'));
  await ops.click('#signin-form button[type=submit]');
  await ops.locator('#page-topology:not([hidden])').waitFor();
  // The agents report their paths when they change (checked every 2 s): reload until drawn.
  await waitFor(
    async () => {
      await ops.click('a[data-page-link="overview"]');
      await ops.click('a[data-page-link="page-topology"]');
      return (await ops.locator('#topology-svg g.edge').count()) > 0;
    },
    15_000,
    'a path drawn',
  );
  assert.equal(await ops.locator(`#topology-svg g[data-node="${eng.name}"]`).count(), 1);
  assert.match(
    (await ops.locator('#topology-svg g.edge text').first().textContent()) ?? '',
    /^(direct|relay)/,
  );
  await ops.screenshot({ path: join(OUT, 'page-topology-live.png'), fullPage: true });
  await ctx.close();
});

test('revoke now in the portal: the engineer’s open stream is cut within 1 s', async (t) => {
  if (!needs(t, browserMissing)) return;
  await waitFor(
    () => eng.agent.netmap?.services.some((s) => s.name === 'echo' && s.deployment === 'acme-prod') ?? false,
    15_000,
    'echo in the engineer netmap',
  );
  const echo = eng.agent.netmap!.services.find((s) => s.name === 'echo' && s.deployment === 'acme-prod')!;
  const s = eng.agent.openStream(echo)!;
  s.on('error', () => {});
  const first = await new Promise<Buffer>((res) => {
    s.once('data', res);
    s.write('ping');
  });
  assert.equal(first.toString(), 'ping');
  const closed = new Promise<number>((res) => s.on('close', () => res(performance.now())));
  await page.fill(`#revoke-${grantId}`, 'not during our freeze');
  const t0 = performance.now();
  await page.click(`[data-grant="${grantId}"] button[data-action=revoke]`);
  const ms = (await closed) - t0;
  t.diagnostic(`stream cut ${ms.toFixed(0)} ms after the click`);
  assert.ok(ms < 1000, `${ms} ms`);
  const g = await as.bob.route(routes.accessGrantsGet, { params: { id: grantId } });
  assert.equal(g.status, 'revoked');
  assert.equal(g.endedBy, 'jane');
  assert.equal(g.note, 'not during our freeze');
});

test('the history shows every request and grant of the deployment, and only those', async (t) => {
  if (!needs(t, browserMissing)) return;
  await page.click('a[href="#history"]');
  await page.locator(`[data-history="${grantId}"]`).filter({ hasText: 'revoked' }).waitFor();
  // The connection the connector served under the grant (reported when it ended), after a reload.
  await waitFor(
    async () => {
      const rows = await as.jane.route(routes.activity);
      return rows.some((r) => r.kind === 'connection' && r.grant === grantId && Number(r.bytesIn) >= 4);
    },
    10_000,
    'the connection reported',
  );
  await page.reload();
  await page.locator('tr[data-history^="connection-"]').first().waitFor();
  const text = await page.locator('#history-list').innerText();
  assert.match(text, /connection\s+alice\s+acme-prod\s+echo\s+\d+ B in, \d+ B out, \d+ ms\s+grant /);
  assert.match(text, /grant\s+alice\s+acme-prod\s+echo\s+revoked\s+jane\s+not during our freeze/);
  assert.match(text, /request\s+alice\s+acme-prod\s+echo\s+approved/);
  assert.doesNotMatch(text, /globex-prod|INC-78/);
  // Its requests, filtered, as CSV: only its own deployment's.
  await page.click('a[data-page-link="page-requests"]');
  await page.selectOption('#rf-status', 'approved');
  await page.locator(`#requests-table tr[data-row="${requestId}"]`).waitFor();
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#requests-csv')]);
  const csvText = readFileSync((await csv.path())!, 'utf8');
  assert.ok(csvText.includes(requestId) && !csvText.includes('globex-prod'), csvText);
  await shot('customer-requests-page.png');
  await page.click('a[data-page-link="overview"]');
  // Its audit log, verifiable offline: its records in full, the others elided.
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#customer-audit-export')]);
  const file = join(mkdtempSync(join(tmpdir(), 'sallyport-customer-audit-')), 'audit.jsonl');
  await dl.saveAs(file);
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const shown = lines.filter((l) => l.includes('"type":"record"'));
  assert.ok(shown.some((l) => l.includes(`request:${requestId}`) && l.includes('request.create')));
  assert.ok(shown.some((l) => l.includes('grant.revoke')));
  assert.ok(
    !shown.some((l) => l.includes('globex-prod') || l.includes('INC-78')),
    'nothing of another customer',
  );
  assert.ok(lines.some((l) => l.includes('"type":"elided"')));
  const { run: audit } = await import('../../src/cli/audit.ts');
  let out = '';
  const code = await audit(['verify', file, '--trust-key', h.coordinator.keys.auditKey.verifyKey.base64()], {
    out: (s) => (out += s),
    err: (s) => (out += s),
  });
  assert.equal(code, 0, out);
  assert.match(out, /OK: \d+ records \(seq 1\.\.\d+, \d+ shown, \d+ elided\)/);
  // One shown record altered: caught.
  const i = lines.findIndex((l) => l.includes('grant.revoke'));
  lines[i] = lines[i].replace('not during our freeze', 'routine');
  writeFileSync(file, lines.join('\n') + '\n');
  out = '';
  assert.equal(
    await audit(['verify', file, '--trust-key', h.coordinator.keys.auditKey.verifyKey.base64()], {
      out: (s) => (out += s),
      err: (s) => (out += s),
    }),
    1,
  );
  assert.match(out, /FAILED EDITED/);
  // The other customer's deployment never reached acme's webhook.
  assert.ok(hookBodies.every((x) => !x.text.includes('globex-prod')));
  await shot('customer-history.png');
});

test('switching vendor access off refuses new requests; the vendor cannot flip it back', async (t) => {
  if (!needs(t, browserMissing)) return;
  await page.click('a[href="#controls"]');
  await page.click('[data-switch="acme-prod:noAccess"]');
  await page.waitForSelector('text=switched off by you');
  await shot('customer-switches.png');
  await refused(
    as.alice.route(routes.requestsCreate, {
      body: {
        deployment: 'acme-prod',
        services: ['echo'],
        reason: 'INC-79',
        duration: '1h',
      },
    }),
    403,
    'DEPLOYMENT_LOCKED',
  );
  await refused(
    h.api.route(routes.controlsPut, { params: { name: 'acme-prod' }, body: { noAccess: false } }),
    403,
    'FORBIDDEN',
  );
  await page.click('[data-switch="acme-prod:noAccess"]');
  await page.waitForSelector('text=as the policy allows');
  const r = await as.alice.route(routes.requestsCreate, {
    body: {
      deployment: 'acme-prod',
      services: ['echo'],
      reason: 'INC-80',
      duration: '1h',
    },
  });
  assert.equal(r.status, 'pending');
  // Hours: a window that does not include now refuses; "Any time" lifts it.
  const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
  const card = page.locator('[data-controls="acme-prod"]');
  await card
    .locator('input[type=time]')
    .first()
    .fill(hhmm(Date.now() + 2 * 3600_000));
  await card
    .locator('input[type=time]')
    .nth(1)
    .fill(hhmm(Date.now() + 3 * 3600_000));
  for (let d = 0; d < 7; d++) await card.locator(`#hours-acme-prod-d${d}`).check();
  await card.locator('button:has-text("Set hours")').click();
  await page.waitForSelector('text=Sun, Mon, Tue, Wed, Thu, Fri, Sat');
  await shot('customer-switches-hours.png');
  await assert.rejects(
    as.alice.route(routes.requestsCreate, {
      body: {
        deployment: 'acme-prod',
        services: ['echo'],
        reason: 'INC-81',
        duration: '1h',
      },
    }),
    (e: unknown) =>
      e instanceof ApiError && e.code === 'DEPLOYMENT_LOCKED' && /only Sun, Mon/.test(e.message),
  );
  await card.locator('button:has-text("Any time")').click();
  await page.waitForSelector('[data-controls="acme-prod"] >> text=any time');
  const ok = await as.alice.route(routes.requestsCreate, {
    body: {
      deployment: 'acme-prod',
      services: ['echo'],
      reason: 'INC-82',
      duration: '1h',
    },
  });
  assert.equal(ok.status, 'pending');
  const audit = await h.api.route(routes.auditList, { query: { limit: 1000 } });
  const flips = audit.filter((x) => x.action === 'customer.controls');
  assert.equal(flips.length, 4);
  assert.ok(flips.every((x) => x.actor === 'user:jane'));
});

test("an invited customer's person sets their own password once and lands in the portal", async (t) => {
  if (!needs(t, browserMissing)) return;
  const inv = await h.api.route(routes.customerInvitesCreate, {
    params: { name: 'acme' },
    body: {
      user: 'kim',
      groups: ['acme-admins'],
    },
  });
  assert.match(inv.url, new RegExp(`^${h.coordinator.url}/console/#invite=spi_`));
  const ctx = await browser!.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1200, height: 700 } });
  const p = await ctx.newPage();
  p.setDefaultTimeout(15_000);
  await p.goto(inv.url);
  await p.locator('#invite:not([hidden])').waitFor();
  await p.screenshot({ path: join(OUT, 'customer-invite.png'), fullPage: true });
  await p.fill('#invite-password', 'kims own password 1');
  await p.fill('#invite-repeat', 'kims own password 1');
  await p.click('#invite-form button[type=submit]');
  await p.locator('#who:not([hidden])').waitFor();
  assert.equal(await p.locator('#app-h').textContent(), 'Customer portal · acme');
  assert.equal(new URL(p.url()).hash, '', 'the spent token left the address bar');
  const kim = await new ApiClient({ server: h.coordinator.url, ca: h.coordinator.tls.cert }).login(
    'kim',
    'kims own password 1',
  );
  const who = await kim.route(routes.whoami);
  assert.equal(who.customer, 'acme');
  assert.deepEqual(who.groups, ['acme-admins']);
  // The link works once.
  const again = await ctx.newPage();
  await again.goto(inv.url);
  await again.fill('#invite-password', 'another password 12');
  await again.fill('#invite-repeat', 'another password 12');
  await again.click('#invite-form button[type=submit]');
  await again.getByText('this invitation is unknown, used or expired').waitFor();
  await ctx.close();
});
