// docs/customer-portal.md stays true: its administrator's commands run as written against a
// coordinator (the password typed at the prompt is given by the test), and its policy example is
// accepted by the policy validator.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFixture, ADMIN, type Fixture } from '../control/fixture.ts';
import { run as admin } from '../../src/cli/admin.ts';
import { routes } from '../../src/control/index.ts';

const doc = readFileSync(new URL('../../docs/customer-portal.md', import.meta.url), 'utf8');
let f: Fixture;
let env: Record<string, string>;

before(async () => {
  f = await startFixture();
  const ca = join(f.dir, 'listener.pem');
  writeFileSync(ca, f.coord.tls.cert);
  const token = (
    await f.anon.route(routes.login, {
      body: {
        user: ADMIN.name,
        password: ADMIN.password,
      },
    })
  ).token;
  env = { SALLYPORT_SERVER: f.coord.url, SALLYPORT_CA: ca, SALLYPORT_TOKEN: token };
  await f.admin.route(routes.deploymentsCreate, {
    body: { name: 'acme-prod', region: 'us-east-1', cloud: 'aws' },
  });
});
after(() => f.stop());

test('the setup commands run as written', async () => {
  const sh = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1].trim().split('\n'));
  assert.equal(sh.length, 5);
  let printed = '';
  for (const line of sh) {
    assert.match(line, /^sallyport admin /);
    let err = '';
    const code = await admin(line.split(/\s+/).slice(2), {
      env,
      stdout: (s) => (printed += s),
      stderr: (s) => (err += s),
      stdinLine: () => 'jane first password',
    });
    assert.equal(code, 0, `${line}\n${err}`);
  }
  const c = await f.admin.route(routes.customersList);
  assert.deepEqual(
    c.map((x) => [x.name, x.deployments, x.switches, x.webhook]),
    [['acme', ['acme-prod'], ['co-approval', 'no-access'], 'https://hooks.acme.example/sallyport']],
  );
  assert.match(
    printed,
    /send kim this link \(it works once, until [^)]+\); they choose their own password:\n {2}https:\/\/\S+\/console\/#invite=spi_/,
  );
  const jane = await f.anon.login('jane', 'jane first password');
  const who = await jane.route(routes.whoami);
  assert.equal(who.customer, 'acme');
  assert.deepEqual(who.groups, ['acme-admins']);
});

test('the policy example is a valid policy entry', async () => {
  const entry = JSON.parse(/```json\n([\s\S]*?)```/.exec(doc)![1]) as unknown;
  await f.admin.route(routes.groupsCreate, { body: { name: 'oncall' } }).catch(() => {});
  await f.admin.route(routes.groupsCreate, { body: { name: 'sre-leads' } }).catch(() => {});
  const r = await f.admin.routeRaw(routes.policyPut, { body: { version: 1, policies: [entry] } });
  assert.equal(r.status, 200, r.text);
});
