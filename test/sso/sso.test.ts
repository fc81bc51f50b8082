// Sign-in through a real OpenID Connect provider (oidc-provider, configured by src/testing/idp.ts)
// end to end: the console's code flow with PKCE in Debian's Chromium, the CLI's device flow
// (`sallyport login URL` printing a URL that the browser opens), groups from the provider's claim,
// a group change and a disabled account at the provider taking effect at the next recheck, a local
// account the provider cannot take over, and approvals that need a recent sign-in.
// Screenshots go to test-output/sso/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Harness, waitFor } from '../../src/testing/harness.ts';
import { startIdp, type TestIdp } from '../../src/testing/idp.ts';
import { freePort, sleep } from '../../src/testing/ports.ts';
import { needs } from '../../src/testing/require.ts';
import { ApiClient, routes } from '../../src/control/index.ts';
import type { CommandIo } from '../../src/cli/io.ts';
import { renewProfileIfDue } from '../../src/cli/profile.ts';

const CHROMIUM = process.env.SALLYPORT_CHROMIUM ?? '/usr/bin/chromium';
const OUT = fileURLToPath(new URL('../../test-output/sso/', import.meta.url));
const RECHECK_MS = 1000;
/** The password Harness.user gives a local user. */
const PW = (u: string) => `pw-${u}-${'x'.repeat(12)}`;
const APPROVAL_MAX_AGE_MS = 10_000;

let h: Harness;
let idp: TestIdp;
let pub = '';
let browser: Browser | undefined;
let browserMissing: string | undefined;
const contexts: BrowserContext[] = [];
const home = mkdtempSync(join(tmpdir(), 'sallyport-sso-home-'));
let caFile = '';

/** A CLI command run in this process with its own environment (the profile under `home`). */
async function cli(
  name: string,
  args: string[],
  onOut?: (s: string) => void,
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CommandIo = {
    env: { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), ...env },
    stdout: (s) => {
      out += s;
      onOut?.(out);
    },
    stderr: (s) => (err += s),
  };
  const m = (await import(`../../src/cli/${name}.ts`)) as {
    run(a: string[], io: CommandIo): Promise<number>;
  };
  const code = await m.run(args, io);
  return { code, out, err };
}

async function newPage(): Promise<Page> {
  const ctx = await browser!.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1200, height: 900 } });
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

/** The provider's development login and consent pages: any password, the login is the account. */
async function providerLogin(page: Page, user: string): Promise<void> {
  await page.waitForSelector('input[name=login]');
  await page.fill('input[name=login]', user);
  await page.fill('input[name=password]', 'any');
  await page.click('button[type=submit]');
  await page.waitForLoadState();
  if (await page.locator('text=Authorize').count()) await page.click('button[type=submit]');
}

async function consoleSignIn(page: Page, user: string): Promise<void> {
  await page.goto(`${pub}/console/`);
  await page.waitForSelector('#sso:not([hidden])');
  await page.click('#sso-link');
  await providerLogin(page, user);
  await page.waitForSelector('#who:not([hidden])');
}

const shot = (page: Page, file: string) => page.screenshot({ path: join(OUT, file), fullPage: true });

before(async () => {
  mkdirSync(OUT, { recursive: true });
  const port = await freePort();
  pub = `https://127.0.0.1:${port}`;
  idp = await startIdp({ redirectUris: [`${pub}/console/sso/callback`] });
  for (const [u, groups] of [
    ['alice', ['engineering', 'oncall']],
    ['bob', ['sre-leads']],
    ['carol', ['sre-leads']],
    ['admin', ['sre-leads']],
  ] as const)
    idp.accounts.set(u, { groups: [...groups] });
  h = await Harness.start({
    coordinatorPort: port,
    coordinator: {
      publicUrl: pub,
      approvalMaxAgeMs: APPROVAL_MAX_AGE_MS,
      oidc: {
        issuer: idp.issuer,
        clientId: idp.clientId,
        clientSecret: idp.clientSecret,
        ca: idp.ca,
        scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
        recheckMs: RECHECK_MS,
        displayName: 'Example SSO',
        mapping: {
          usernameClaim: 'preferred_username',
          groupsClaim: 'groups',
          groupMap: new Map([
            ['oncall', 'oncall'],
            ['sre-leads', 'sre-leads'],
          ]),
        },
      },
    },
  });
  caFile = join(home, 'coordinator-ca.pem');
  writeFileSync(caFile, h.coordinator.tls.cert);
  await h.deployment('acme-prod');
  for (const g of ['oncall', 'sre-leads']) await h.api.route(routes.groupsCreate, { body: { name: g } });
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
  await h.api.route(routes.servicesPut, {
    params: { deployment: 'acme-prod', name: 'web' },
    body: {
      kind: 'http',
      address: '127.0.0.1:9',
      tlsMode: 'passthrough',
    },
  });
  if (!existsSync(CHROMIUM)) browserMissing = `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  else {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await h?.stop();
  await idp?.stop();
});

describe('sign-in through the identity provider', () => {
  test('the coordinator says which sign-ins it offers', async () => {
    const m = await new ApiClient({ server: pub, ca: h.coordinator.tls.cert }).route(routes.authMethods);
    assert.deepEqual(m, {
      password: true,
      oidc: { name: 'Example SSO', issuer: idp.issuer, device: true },
      approvalMaxAgeSeconds: 10,
    });
  });

  test('console: code flow with PKCE; the provider groups become sallyport groups (mapped ones only)', async (t) => {
    if (!needs(t, browserMissing)) return;
    const page = await newPage();
    await page.goto(`${pub}/console/`);
    await page.waitForSelector('#sso:not([hidden])');
    assert.equal(await page.locator('#sso-link').textContent(), 'Sign in with Example SSO');
    await shot(page, 'sign-in.png');
    await page.click('#sso-link');
    assert.ok(page.url().startsWith(`${idp.issuer}/interaction/`), page.url());
    await providerLogin(page, 'alice');
    await page.waitForSelector('#who:not([hidden])');
    // `engineering` is not mapped: only oncall counts.
    assert.equal(await page.locator('#who-name').textContent(), 'alice · oncall');
    await shot(page, 'signed-in-alice.png');
    const users = await h.api.route(routes.usersList);
    assert.ok(users.some((u) => u.name === 'alice' && !u.isAdmin));
    const audit = await h.api.route(routes.auditList, { query: { limit: 1000 } });
    const mine = audit.filter((r) => r.subject === 'user:alice' || r.details.user === 'alice');
    assert.ok(mine.some((r) => r.action === 'user.create' && r.details.source === 'oidc'));
    assert.ok(mine.some((r) => r.action === 'user.login' && r.details.method === 'oidc'));
    assert.ok(mine.some((r) => r.action === 'group.add-member' && r.subject === 'group:oncall'));
  });

  test('a forged or replayed callback is refused: state bound to the browser that started it', async () => {
    const api = new ApiClient({ server: pub, ca: h.coordinator.tls.cert });
    const a = await api.raw('GET', '/console/sso/callback?code=abc&state=never-issued');
    assert.equal(a.status, 400);
    assert.match(a.text, /unknown, expired, or was started in another browser/);
    const start = await api.raw('GET', '/console/sso/start');
    assert.equal(start.status, 302);
  });

  test('CLI: `sallyport login URL` prints a URL and code; the browser signs in; the profile is 0600', async (t) => {
    if (!needs(t, browserMissing)) return;
    const page = await newPage();
    let opened = false;
    const run = cli('login', [pub, '--ca', caFile, '--timeout', '60'], (out) => {
      const m = /^\s+(https:\/\/\S+\/device\?user_code=\S+)$/m.exec(out);
      if (m && !opened) {
        opened = true;
        void (async () => {
          await page.goto(m[1]);
          const code = /code (\S+-\S+)/.exec(out)![1];
          assert.ok(
            (await page.innerText('body')).includes(code),
            'the browser shows the code the CLI printed',
          );
          await page.click('button[type=submit]');
          await providerLogin(page, 'bob');
        })();
      }
    });
    const r = await run;
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /To sign in with Example SSO, open this URL in a browser/);
    assert.match(r.out, /signed in as bob \(groups: sre-leads\)/);
    await shot(page, 'device-done.png');
    const path = join(home, '.config', 'sallyport', 'profile.json');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, '.config', 'sallyport')).mode & 0o777, 0o700);
    const profile = JSON.parse(readFileSync(path, 'utf8')) as { server: string; ca: string; method: string };
    assert.equal(profile.server, pub);
    assert.equal(profile.ca, h.coordinator.tls.cert);
    assert.equal(profile.method, 'oidc');
    // No flags, no exports: the profile is enough.
    const w = await cli('whoami', []);
    assert.equal(w.code, 0, w.err);
    assert.match(w.out, /user:\s+bob\n/);
    assert.match(w.out, /groups:\s+sre-leads\n/);
    assert.match(w.out, /signed in:\s+identity provider at /);
    const list = await cli('requests', ['--json']);
    assert.equal(list.code, 0, list.err);
  });

  test('a group change at the provider shows at the next recheck, audited', async () => {
    const before = idp.refreshes;
    idp.accounts.set('bob', { groups: ['sre-leads', 'oncall'] });
    await sleep(RECHECK_MS + 200);
    const w = await cli('whoami', ['--json']);
    assert.equal(w.code, 0, w.err);
    assert.deepEqual((JSON.parse(w.out) as { groups: string[] }).groups, ['oncall', 'sre-leads']);
    assert.ok(idp.refreshes > before, 'the coordinator asked the provider (a refresh grant)');
    const audit = await h.api.route(routes.auditList, { query: { limit: 1000 } });
    assert.ok(
      audit.some(
        (r) =>
          r.action === 'group.add-member' &&
          r.subject === 'group:oncall' &&
          r.details.user === 'bob' &&
          r.details.source === 'oidc',
      ),
    );
  });

  test("the profile's token is renewed near its end while the provider vouches; the sign-in time stays", async () => {
    const path = join(home, '.config', 'sallyport', 'profile.json');
    const before = JSON.parse(readFileSync(path, 'utf8')) as { token: string; expiresAt: number };
    const whoBefore = JSON.parse((await cli('whoami', ['--json'])).out) as { signIn: { authTime: number } };
    const env = { HOME: home, XDG_CONFIG_HOME: join(home, '.config') };
    // Not due yet: nothing happens.
    assert.equal(await renewProfileIfDue(env, [], Date.now()), 'not-due');
    // Within the last hours of the session: renewed.
    assert.equal(await renewProfileIfDue(env, [], before.expiresAt - 3600_000), 'renewed');
    const after = JSON.parse(readFileSync(path, 'utf8')) as { token: string; expiresAt: number };
    assert.notEqual(after.token, before.token);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const old = await new ApiClient({
      server: pub,
      ca: h.coordinator.tls.cert,
      token: before.token,
    }).routeRaw(routes.whoami, {});
    assert.equal(old.status, 401, 'the old token ended');
    const whoAfter = JSON.parse((await cli('whoami', ['--json'])).out) as { signIn: { authTime: number } };
    assert.equal(whoAfter.signIn.authTime, whoBefore.signIn.authTime, 'a renewal is not a fresh sign-in');
    const audit = await h.api.route(routes.auditList, { query: { limit: 1000 } });
    assert.ok(audit.some((r) => r.action === 'user.session-refresh' && r.subject === 'user:bob'));
  });

  test('a local account is never taken over by a provider account of the same name', async (t) => {
    if (!needs(t, browserMissing)) return;
    const page = await newPage();
    await page.goto(`${pub}/console/`);
    await page.waitForSelector('#sso:not([hidden])');
    await page.click('#sso-link');
    await providerLogin(page, 'admin');
    await page.waitForSelector('text=exists already');
    assert.match(await page.innerText('body'), /a user named "admin" exists already/);
    const users = await h.api.route(routes.usersList);
    assert.equal(users.filter((u) => u.name === 'admin').length, 1);
  });

  test('approving needs a recent sign-in: refused (REAUTH) until the approver signs in again', async (t) => {
    if (!needs(t, browserMissing)) return;
    // dave, a local user in oncall, asks; carol (provider, sre-leads) decides.
    await h.user('dave');
    await h.api.route(routes.groupMembersAdd, { params: { name: 'oncall', user: 'dave' } });
    const dave = await h.api.login('dave', PW('dave'));
    const req = await dave.route(routes.requestsCreate, {
      body: {
        deployment: 'acme-prod',
        services: ['web'],
        reason: 'INC-1 checking the web service',
        duration: '30m',
      },
    });
    const page = await newPage();
    await consoleSignIn(page, 'carol');
    await page.waitForSelector(`text=dave asks for read-only access to acme-prod`);
    await sleep(APPROVAL_MAX_AGE_MS + 500);
    await page.locator('#approvals button:has-text("Approve")').first().click();
    await page.waitForSelector('#app-error a:has-text("Sign in again")');
    assert.match(await page.locator('#app-error').innerText(), /REAUTH/);
    await shot(page, 'approve-needs-fresh-sign-in.png');
    const pending = await h.api.route(routes.requestsGet, { params: { id: req.id } });
    assert.equal(pending.status, 'pending');
    await page.click('#app-error a:has-text("Sign in again")');
    // prompt=login: the provider asks again even though its own session is live.
    await providerLogin(page, 'carol');
    await page.waitForSelector('#who:not([hidden])');
    await page.waitForSelector(`text=dave asks for read-only access to acme-prod`);
    await page.locator('#approvals button:has-text("Approve")').first().click();
    await waitFor(
      async () => (await h.api.route(routes.requestsGet, { params: { id: req.id } })).status === 'approved',
      10_000,
      'the approval after a fresh sign-in',
    );
  });

  test('a person disabled at the provider loses console and CLI sessions at the next recheck', async (t) => {
    if (!needs(t, browserMissing)) return;
    const page = await newPage();
    await consoleSignIn(page, 'bob');
    idp.accounts.set('bob', { groups: ['sre-leads'], disabled: true });
    await sleep(RECHECK_MS + 200);
    const w = await cli('whoami', []);
    assert.equal(w.code, 4, w.out);
    assert.match(w.err, /identity provider ended the session/);
    const s = await page.evaluate(async () => (await fetch('/console/session')).status);
    assert.equal(s, 401);
    const audit = await h.api.route(routes.auditList, { query: { limit: 1000 } });
    assert.ok(audit.some((r) => r.action === 'user.sso-ended' && r.subject === 'user:bob'));
    // And cannot sign in again while disabled.
    const again = await newPage();
    await again.goto(`${pub}/console/sso/start`);
    await again.fill('input[name=login]', 'bob');
    await again.fill('input[name=password]', 'any');
    await again.click('button[type=submit]');
    await again.waitForLoadState();
    assert.doesNotMatch(again.url(), /\/console\/$/);
  });

  test('logout ends the token at the coordinator and removes the profile', async () => {
    idp.accounts.set('bob', { groups: ['sre-leads'] });
    const path = join(home, '.config', 'sallyport', 'profile.json');
    // A password profile for a local user, then out.
    await h.user('erin');
    const login = await cli('login', [pub, '--ca', caFile, '--user', 'erin'], undefined, {
      SALLYPORT_PASSWORD: PW('erin'),
    });
    assert.equal(login.code, 0, login.err);
    assert.match(login.out, /signed in as erin \(local password\)/);
    const token = (JSON.parse(readFileSync(path, 'utf8')) as { token: string }).token;
    const out = await cli('logout', []);
    assert.equal(out.code, 0, out.err);
    assert.ok(!existsSync(path));
    const r = await new ApiClient({ server: pub, ca: h.coordinator.tls.cert, token }).routeRaw(
      routes.whoami,
      {},
    );
    assert.equal(r.status, 401);
  });
});
