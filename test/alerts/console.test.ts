// The console's Incidents section in Debian's Chromium (playwright-core): an alert posted to the
// webhook shows as a row in the open incidents table (text as sent, not markup) and disappears
// once resolved (the page polls every 5 s). Skips loudly without Chromium.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { needs } from '../../src/testing/require.ts';
import { ADMIN, startFixture, type Fixture } from '../control/fixture.ts';
import { amBody } from './helpers.ts';

const CHROMIUM = process.env.SALLYPORT_CHROMIUM ?? '/usr/bin/chromium';
const missing = existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
let f: Fixture;
let browser: Browser | undefined;
let token = '';

before(async () => {
  if (missing) return;
  f = await startFixture();
  await f.admin.call('POST', '/api/v1/deployments', { name: 'acme-prod', region: 'us-east-1', cloud: 'aws' });
  token = (await f.admin.call<{ token: string }>('POST', '/api/v1/alert-tokens', { name: 'am' })).token;
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
});
after(async () => {
  await browser?.close();
  await f?.stop();
});

test('console: open incidents are listed, and leave the list when resolved', async (t) => {
  if (!needs(t, missing)) return;
  const labels = { alertname: 'ClickHouseDown', severity: 'critical', deployment: 'acme-prod' };
  const summary = 'ClickHouse <b>down</b>';
  const send = (status: 'firing' | 'resolved') =>
    f.anon.raw(
      'POST',
      '/api/v1/alerts/alertmanager',
      amBody([{ status, fingerprint: 'ab12', labels, summary }]),
      {
        authorization: `Bearer ${token}`,
      },
    );
  assert.equal((await send('firing')).status, 200);

  const ctx = await browser!.newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${f.coord.url}/console/`);
  await page.getByLabel('User name').fill(ADMIN.name);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.keyboard.press('Enter');
  const row = page.locator('#incidents-list tr[data-incident]');
  await row.first().waitFor();
  const cells = await row.first().locator('td').allTextContents();
  assert.deepEqual(cells.slice(0, 4), ['acme-prod', 'ClickHouseDown', 'critical', summary]);
  assert.equal(await page.locator('#incidents-list b').count(), 0, 'the summary is text, not markup');
  assert.ok(await page.getByRole('link', { name: 'Incidents' }).isVisible());

  assert.equal((await send('resolved')).status, 200);
  await page.getByText('No incident is open.').waitFor({ timeout: 15_000 });
  assert.deepEqual(errors, []);
  await ctx.close();
});
