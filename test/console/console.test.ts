// The browser console end to end: a coordinator (harness) with a connector, two people (alice
// requests, bob approves and administers), and Debian's Chromium driven headless by playwright-core.
// The HTTP-level checks (cookie flags, CSRF, sign-out) run without a browser; the browser tests
// skip loudly when Chromium is missing. Screenshots go to test-output/console/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Harness, LogSink, waitFor } from '../../src/testing/harness.ts';
import { ApiClient, Coordinator, routes, type Route, type RouteArgs } from '../../src/control/index.ts';
import { needs } from '../../src/testing/require.ts';

const CHROMIUM = process.env.SALLYPORT_CHROMIUM ?? '/usr/bin/chromium';
const OUT = fileURLToPath(new URL('../../test-output/console/', import.meta.url));
const PW = (u: string) => `pw-${u}-${'x'.repeat(12)}`;

let h: Harness;
let browser: Browser | undefined;
let browserMissing: string | undefined;
const contexts: BrowserContext[] = [];
let requestId = '';
let grantId = '';
let bobPage: Page;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { error?: { code: string; message: string } } & Record<string, unknown>;
}

/**
 * One call of a declared route as a browser makes it: no Authorization header, the cookie and
 * CSRF headers as given, the coordinator's self-signed certificate trusted.
 */
async function http<R extends Route>(
  r: R,
  input: RouteArgs<R>[0],
  headers: Record<string, string> = {},
): Promise<Answer> {
  const a = await new ApiClient({ server: h.coordinator.url, ca: h.coordinator.tls.cert }).routeRaw(
    r,
    input,
    headers,
  );
  const body = typeof a.body === 'object' && a.body !== null ? a.body : { text: a.text };
  return { status: a.status, headers: a.headers, body: body as Answer['body'] };
}

async function signInHttp(user: string): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const r = await http(routes.consoleSessionCreate, { body: { user, password: PW(user) } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const setCookie = String(([] as string[]).concat(r.headers['set-cookie'] ?? [])[0]);
  return { cookie: setCookie.split(';')[0], csrf: String(r.body.csrf), setCookie };
}

async function newPage(name: string): Promise<Page> {
  const ctx = await browser!.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1200, height: 900 } });
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.setDefaultTimeout(10_000);
  const cspErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
  });
  page.on('pageerror', (e) => cspErrors.push(`${name}: ${e.message}`));
  (page as Page & { cspErrors: string[] }).cspErrors = cspErrors;
  await page.goto(`${h.coordinator.url}/console/`);
  return page;
}

const shot = (page: Page, file: string) => page.screenshot({ path: join(OUT, file), fullPage: true });

/** Every field has a label; nothing but buttons and links takes focus or clicks. */
async function accessible(page: Page): Promise<void> {
  const unlabelled = await page.evaluate(
    "[...document.querySelectorAll('input, select, textarea')].filter((e) => !e.labels || e.labels.length === 0).map((e) => e.id || e.outerHTML)",
  );
  assert.deepEqual(unlabelled, [], 'fields without a label');
  const fakeControls = await page.evaluate(
    "document.querySelectorAll('[onclick], [tabindex]:not(h1):not(h2):not(main), [role=button]').length",
  );
  assert.equal(fakeControls, 0, 'elements acting as buttons that are not buttons');
}

before(async () => {
  mkdirSync(OUT, { recursive: true });
  h = await Harness.start();
  await h.deployment('acme-prod');
  await h.user('alice');
  await h.api.route(routes.usersCreate, { body: { name: 'bob', password: PW('bob'), admin: true } });
  for (const [g, u] of [
    ['oncall', 'alice'],
    ['sre-leads', 'bob'],
  ]) {
    await h.api.route(routes.groupsCreate, { body: { name: g } });
    await h.api.route(routes.groupMembersAdd, { params: { name: g, user: u } });
  }
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
        },
      ],
    },
  });
  await h.connector({
    deployment: 'acme-prod',
    services: [{ name: 'web', kind: 'http', address: '127.0.0.1:9', tls: 'passthrough' }],
  });
  if (!existsSync(CHROMIUM)) browserMissing = `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  else {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  }
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await h?.stop();
});

describe('console over HTTP', () => {
  test('the page is served with a strict CSP and no inline script', async () => {
    const r = await new Promise<{ status: number; csp: string; html: string }>((resolve, reject) => {
      request(new URL('/console/', h.coordinator.url), { ca: h.coordinator.tls.cert }, (res) => {
        let html = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (html += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            csp: String(res.headers['content-security-policy']),
            html,
          }),
        );
      })
        .on('error', reject)
        .end();
    });
    assert.equal(r.status, 200);
    assert.match(r.csp, /default-src 'none'/);
    assert.match(r.csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(r.csp, /unsafe-inline|unsafe-eval/);
    assert.match(r.csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(r.html, /<script(?![^>]*\bsrc=)[^>]*>/, 'every script is a file');
    assert.doesNotMatch(r.html, /\son[a-z]+=/i, 'no inline event handlers');
  });

  test('sign-in sets a __Host- cookie (Secure, HttpOnly, SameSite=Strict, Path=/); wrong password sets none', async () => {
    const bad = await http(routes.consoleSessionCreate, {
      body: { user: 'alice', password: 'wrong-password' },
    });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers['set-cookie'], undefined);
    const { setCookie } = await signInHttp('alice');
    const [nameValue, ...attrs] = setCookie.split(';').map((s) => s.trim());
    assert.match(nameValue, /^__Host-sallyport-session=spt_[A-Za-z0-9_-]+$/);
    const lower = attrs.map((a) => a.toLowerCase());
    for (const a of ['secure', 'httponly', 'samesite=strict', 'path=/'])
      assert.ok(lower.includes(a), `${a} in ${setCookie}`);
    assert.ok(!lower.some((a) => a.startsWith('domain')), 'no Domain attribute');
    assert.ok(lower.some((a) => /^max-age=\d+$/.test(a)));
  });

  test('the cookie reaches the API; a state-changing call without the right CSRF token gets 403 and writes nothing', async () => {
    const alice = await signInHttp('alice');
    const bob = await signInHttp('bob');
    const count = async () => (await h.coordinator.store.listAccessRequests({})).length;
    const before = await count();
    const listed = await http(routes.requestsList, {}, { cookie: alice.cookie });
    assert.equal(listed.status, 200, 'a GET with the cookie alone is signed in');
    const body = { deployment: 'acme-prod', services: ['web'], reason: 'csrf test', duration: '10m' };
    const refusals: [string, Record<string, string>][] = [
      ['no token', { cookie: alice.cookie }],
      ['another session’s token', { cookie: alice.cookie, 'x-csrf-token': bob.csrf }],
      ['a forged token', { cookie: alice.cookie, 'x-csrf-token': 'A'.repeat(43) }],
      ['another origin', { cookie: alice.cookie, 'x-csrf-token': alice.csrf, origin: 'https://evil.test' }],
    ];
    for (const [what, headers] of refusals) {
      const r = await http(routes.requestsCreate, { body }, headers);
      assert.equal(r.status, 403, what);
      assert.equal(r.body.error?.code, 'CSRF', what);
    }
    assert.equal(await count(), before, 'nothing written by a refused call');
    const ok = await http(
      routes.requestsCreate,
      { body },
      {
        cookie: alice.cookie,
        'x-csrf-token': alice.csrf,
      },
    );
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(await count(), before + 1);
    const cancel = await http(
      routes.requestsCancel,
      { params: { id: String(ok.body.id) } },
      {
        cookie: alice.cookie,
        'x-csrf-token': alice.csrf,
      },
    );
    assert.equal(cancel.status, 200);
    // Sign-out needs the token too, then the cookie is cleared and refused.
    assert.equal((await http(routes.consoleSessionDelete, {}, { cookie: alice.cookie })).status, 403);
    const out = await http(
      routes.consoleSessionDelete,
      {},
      {
        cookie: alice.cookie,
        'x-csrf-token': alice.csrf,
      },
    );
    assert.equal(out.status, 200);
    assert.match(String(out.headers['set-cookie']), /^__Host-sallyport-session=; .*Max-Age=0/);
    assert.equal((await http(routes.requestsList, {}, { cookie: alice.cookie })).status, 401);
    assert.equal((await http(routes.consoleSessionGet, {}, { cookie: alice.cookie })).status, 401);
    // Bearer clients are untouched: no CSRF token needed with an Authorization header.
    assert.equal((await h.api.routeRaw(routes.deploymentsList, {})).status, 200);
  });

  test('the audit verification is for administrators only', async () => {
    const alice = await signInHttp('alice');
    assert.equal((await http(routes.consoleAudit, {}, { cookie: alice.cookie })).status, 403);
    const bob = await signInHttp('bob');
    const v = await http(routes.consoleAudit, {}, { cookie: bob.cookie });
    assert.equal(v.status, 200);
    assert.equal(v.body.ok, true, JSON.stringify(v.body));
    assert.equal(v.body.lastSeq, v.body.headSeq);
  });
});

test('console: false serves no console and leaves the API as it was', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-console-off-'));
  const c = await Coordinator.start({
    dataDir: dir,
    listen: { host: '127.0.0.1', port: 0 },
    suffix: 'byoc.test',
    console: false,
    logger: new LogSink('warn').logger,
    bootstrapAdmin: { name: 'admin', password: 'console-off-password' },
    scrypt: { N: 1024, r: 8, p: 1 },
  });
  try {
    const api = new ApiClient({ server: c.url, ca: c.tls.cert });
    assert.equal((await api.raw('GET', '/console/')).status, 404);
    assert.equal(
      (await api.routeRaw(routes.consoleSessionCreate, { body: { user: 'admin', password: 'x' } })).status,
      404,
    );
    assert.equal((await api.routeRaw(routes.info, {})).status, 200);
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('console in Chromium', () => {
  test('a requester files a request and cannot approve it: no button, and a forged call is refused', async (t) => {
    if (!needs(t, browserMissing)) return;
    const page = await newPage('alice');
    // Keyboard only: the user name field, Tab to the password, Enter submits.
    await page.getByLabel('User name').focus();
    await page.keyboard.type('alice');
    await page.keyboard.press('Tab');
    // Page-side code as strings: the tests compile without the DOM library.
    const focus = await page.evaluate(
      '({ id: document.activeElement.id, outline: getComputedStyle(document.activeElement).outlineStyle })',
    );
    assert.deepEqual(focus, { id: 'signin-password', outline: 'solid' }, 'keyboard focus is visible');
    await page.keyboard.type(PW('alice'));
    await page.keyboard.press('Enter');
    await page.getByText('alice · oncall').waitFor();
    const cookie = (await page.context().cookies()).find((c) => c.name === '__Host-sallyport-session');
    assert.ok(cookie, 'the session cookie is set');
    assert.deepEqual(
      { httpOnly: cookie.httpOnly, secure: cookie.secure, sameSite: cookie.sameSite, path: cookie.path },
      { httpOnly: true, secure: true, sameSite: 'Strict', path: '/' },
    );
    assert.equal(await page.evaluate('document.cookie'), '', 'the page script cannot read the session');

    await page.getByLabel('Deployment', { exact: true }).fill('acme-prod');
    await page.getByLabel('Services', { exact: true }).fill('web');
    await page.getByLabel('Duration', { exact: true }).fill('1h');
    await page.getByLabel('Reason', { exact: true }).fill('INC-42: disk full on the ingest tier');
    await page.getByRole('button', { name: 'Request access' }).click();
    const result = page.locator('#request-result');
    await result.filter({ hasText: /is pending/ }).waitFor();
    requestId = /Request (\S+) is pending/.exec((await result.textContent()) ?? '')![1];

    const card = page.locator(`article[data-request="${requestId}"]`);
    await card.waitFor();
    assert.equal(await card.getByRole('button', { name: 'Approve' }).count(), 0, 'no approve button');
    assert.equal(await card.getByRole('button', { name: 'Cancel request' }).count(), 1);
    await shot(page, 'requester-own-request.png');

    const forged = await page.evaluate(async (id) => {
      const s = (await (await fetch('/console/session')).json()) as { csrf: string };
      const r = await fetch(`/api/v1/requests/${id}/approve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf },
        body: '{}',
      });
      return { status: r.status, body: (await r.json()) as { error?: { code: string } } };
    }, requestId);
    assert.equal(forged.status, 403);
    assert.equal(forged.body.error?.code, 'SELF_APPROVAL');
    assert.equal((await h.coordinator.store.getAccessRequest(requestId))?.status, 'pending');
    assert.deepEqual((page as Page & { cspErrors: string[] }).cspErrors, []);
  });

  test('an approver approves the pending request and sees the grant with a live countdown', async (t) => {
    if (!needs(t, browserMissing)) return;
    assert.ok(requestId, 'the previous test filed a request');
    bobPage = await newPage('bob');
    const page = bobPage;
    await page.getByLabel('User name').fill('bob');
    await page.getByLabel('Password').fill(PW('bob'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('bob (administrator) · sre-leads').waitFor();

    const card = page.locator(`article[data-request="${requestId}"]`);
    await card.waitFor();
    await card.getByText('INC-42: disk full on the ingest tier').waitFor();
    const approve = card.getByRole('button', { name: 'Approve' });
    await approve.focus();
    await page.keyboard.press('Enter');
    await card.waitFor({ state: 'detached' });
    assert.match((await page.locator('#live').textContent()) ?? '', /Approved the request of alice/);

    const req = await h.coordinator.store.getAccessRequest(requestId);
    assert.equal(req?.status, 'approved');
    grantId = req!.grantId;
    const g = await h.coordinator.store.getAccessGrant(grantId);
    assert.equal(g?.status, 'active');
    const row = page.locator(`tr[data-grant="${grantId}"]`);
    await row.waitFor();
    const timer = row.getByRole('timer');
    const secs = async () => {
      const m = /^(?:(\d+)h )?(?:(\d+)m )?(\d+)s$/.exec(((await timer.textContent()) ?? '').trim());
      assert.ok(m, `countdown text: ${await timer.textContent()}`);
      return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3]);
    };
    await accessible(page);
    const first = await secs();
    const expected = (g!.end - h.clock.wallMs()) / 1000;
    assert.ok(Math.abs(first - expected) < 5, `countdown ${first} s, grant ends in ${expected.toFixed(1)} s`);
    await page.waitForTimeout(2100);
    const second = await secs();
    assert.ok(first - second >= 1 && first - second <= 4, `the countdown moved: ${first} → ${second}`);
    await shot(page, 'approver-grant-countdown.png');

    // Alice asks for 30 minutes more; the inbox shows it on its next poll; bob approves; the
    // countdown grows by the extension.
    const alice = await signInHttp('alice');
    const ext = await http(
      routes.accessGrantsExtend,
      { params: { id: grantId }, body: { duration: '30m', reason: 'still digging' } },
      { cookie: alice.cookie, 'x-csrf-token': alice.csrf },
    );
    assert.equal(ext.status, 201, JSON.stringify(ext.body));
    const extCard = page.locator(`article[data-extension="${String(ext.body.id)}"]`);
    await extCard.getByText('alice asks for 30m more on a grant').waitFor();
    await extCard.getByRole('button', { name: 'Approve' }).click();
    await extCard.waitFor({ state: 'detached' });
    const extended = (await h.coordinator.store.getAccessGrant(grantId))!;
    assert.equal(extended.end, g!.end + 30 * 60_000);
    await waitFor(async () => (await secs()) > first + 25 * 60, 10_000, 'the countdown shows the extension');
    assert.deepEqual((page as Page & { cspErrors: string[] }).cspErrors, []);
  });

  test('pages: requests (filter, CSV), audit log (filter, a download that verifies offline), topology', async (t) => {
    if (!needs(t, browserMissing)) return;
    const page = bobPage;
    await page.click('a[data-page-link="page-requests"]');
    await page.locator('#page-requests:not([hidden])').waitFor();
    assert.ok(await page.locator('#overview').isHidden(), 'one page at a time');
    await page.selectOption('#rf-status', 'approved');
    await page.locator(`#requests-table tr[data-row="${requestId}"]`).waitFor();
    await page.selectOption('#rf-status', 'denied');
    await page.getByText('No request matches.').waitFor();
    await page.selectOption('#rf-status', '');
    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#requests-csv')]);
    const text = readFileSync((await csv.path())!, 'utf8');
    assert.match(text, /^createdAt,id,requester,deployment,services,access,status,approvedBy,reason\n/);
    assert.ok(text.includes(requestId), text);
    await shot(page, 'page-requests.png');
    await accessible(page);

    await page.click('a[data-page-link="page-audit"]');
    await page.locator('#page-audit:not([hidden])').waitFor();
    await page.fill('#af-action', 'request.');
    await page.locator('#audit-search tr[data-seq]').first().waitFor();
    const actions = await page.locator('#audit-search tr[data-seq] td:nth-child(4)').allTextContents();
    assert.ok(actions.length >= 2 && actions.every((a) => a.startsWith('request.')), actions.join(' '));
    await page.fill('#af-actor', 'user:bob');
    const bobs = await page.locator('#audit-search tr[data-seq] td:nth-child(3)').allTextContents();
    assert.ok(bobs.length >= 1 && bobs.every((a) => a === 'user:bob'), bobs.join(' '));
    await shot(page, 'page-audit.png');
    await accessible(page);
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#audit-export')]);
    const file = join(mkdtempSync(join(tmpdir(), 'sallyport-console-export-')), 'audit.jsonl');
    await dl.saveAs(file);
    const { run: audit } = await import('../../src/cli/audit.ts');
    let out = '';
    let err = '';
    const key = h.coordinator.keys.auditKey.verifyKey.base64();
    const code = await audit(['verify', file, '--trust-key', key], {
      out: (s) => (out += s),
      err: (s) => (err += s),
    });
    assert.equal(code, 0, `${out}${err}`);
    assert.match(out, /OK/);

    await page.click('a[data-page-link="page-topology"]');
    await page.locator('#topology-svg svg g[data-node="acme-prod-connector"]').waitFor();
    await shot(page, 'page-topology.png');
    await accessible(page);
    await page.click('a[data-page-link="overview"]');
    await page.locator('#overview:not([hidden])').waitFor();
    assert.deepEqual((page as Page & { cspErrors: string[] }).cspErrors, []);
  });

  test('the approver revokes the grant; the audit shows the revocation and the chain verifies OK', async (t) => {
    if (!needs(t, browserMissing)) return;
    assert.ok(grantId && bobPage, 'the previous test approved a grant');
    const page = bobPage;
    const row = page.locator(`tr[data-grant="${grantId}"]`);
    await row.getByLabel('Reason for revoking the grant of alice').fill('incident closed');
    await row.getByRole('button', { name: 'Revoke the grant of alice to acme-prod' }).click();
    await row.waitFor({ state: 'detached' });
    await page.getByText('No grant is in force.').waitFor();
    assert.equal((await h.coordinator.store.getAccessGrant(grantId))?.status, 'revoked');

    const revoked = page.locator('#audit-list tr[data-action="grant.revoke"]');
    await revoked.waitFor();
    assert.match((await revoked.textContent()) ?? '', new RegExp(`grant:${grantId}`));
    assert.match((await revoked.textContent()) ?? '', /incident closed/);
    const verdict = page.locator('#audit-state');
    await page.locator('#audit-state[data-ok="true"]').waitFor();
    assert.match((await verdict.textContent()) ?? '', /Chain verified OK: records 1\.\.\d+/);

    // Deployments and peers as the coordinator knows them.
    const dep = page.locator('article[data-deployment="acme-prod"]');
    await dep.getByRole('listitem').filter({ hasText: 'acme-prod-connector' }).getByText('online').waitFor();
    await dep.getByRole('cell', { name: 'web', exact: true }).waitFor();
    await page.locator('tr[data-node="acme-prod-connector"]').getByText('online').waitFor();
    await shot(page, 'approver-revoked-audit.png');

    await accessible(page);

    // The verdict is computed, not printed: alter a stored record and verify again.
    const db = new Database(join(h.coordinatorDir, 'coordinator.db'));
    try {
      db.prepare("UPDATE audit_log SET subject = 'tampered' WHERE seq = 2").run();
    } finally {
      db.close();
    }
    await page.getByRole('button', { name: 'Verify again' }).click();
    await page.locator('#audit-state[data-ok="false"]').waitFor();
    assert.match((await verdict.textContent()) ?? '', /Verification FAILED \(EDITED\): seq 2:/);
    await shot(page, 'audit-tampered.png');
    assert.deepEqual((page as Page & { cspErrors: string[] }).cspErrors, []);

    // Sign out: back to the form with the focus on the user name, and the cookie gone.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.evaluate('document.activeElement.id'), 'signin-user');
    assert.ok(!(await page.context().cookies()).some((c) => c.name === '__Host-sallyport-session'));
  });
});
