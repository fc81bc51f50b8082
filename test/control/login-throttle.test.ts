// Password guessing against the coordinator is slowed: after 5 failed sign-ins for one user within
// a minute, /api/v1/login and the console's sign-in answer 429 with Retry-After — even to the right
// password — until the minute has passed; other users are not affected.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, startFixture, type Fixture } from './fixture.ts';
import { MAX_FAILURES, WINDOW_MS } from '../../src/control/login-throttle.ts';
import { routes } from '../../src/control/index.ts';

let f: Fixture;
before(async () => {
  f = await startFixture();
  await f.admin.route(routes.usersCreate, { body: { name: 'bob', password: 'bob-password-123' } });
});
after(async () => f?.stop());

async function login(path: string, user: string, password: string) {
  const r = await f.coord.app.inject({
    method: 'POST',
    url: path,
    payload: { user, password },
    headers: { 'content-type': 'application/json', origin: `https://${'localhost'}`, host: 'localhost' },
  });
  return { status: r.statusCode, retryAfter: r.headers['retry-after'], body: r.body };
}

test('five failures for a user: 429 with Retry-After, also for the right password, until the window passes', async () => {
  for (let i = 0; i < MAX_FAILURES; i++)
    assert.equal((await login('/api/v1/login', 'bob', 'wrong-password-xx')).status, 401);
  const r = await login('/api/v1/login', 'bob', 'bob-password-123');
  assert.equal(r.status, 429, r.body);
  assert.ok(Number(r.retryAfter) > 0 && Number(r.retryAfter) <= WINDOW_MS / 1000);
  assert.match(r.body, /RATE_LIMITED/);
  // The console's sign-in checks the same counts.
  assert.equal((await login('/console/session', 'bob', 'bob-password-123')).status, 429);
  // Another user signs in as usual.
  assert.equal((await login('/api/v1/login', ADMIN.name, ADMIN.password)).status, 200);
  f.clock.advance(WINDOW_MS);
  assert.equal((await login('/api/v1/login', 'bob', 'bob-password-123')).status, 200);
});

test('an encoded path the router decodes to a sign-in route is throttled the same (%6cogin, %73ession)', async () => {
  await f.admin.route(routes.usersCreate, { body: { name: 'carol', password: 'carol-password-123' } });
  await f.admin.route(routes.usersCreate, { body: { name: 'dave', password: 'dave-password-123' } });
  // The router dispatches these to the sign-in handlers: a wrong password is a 401 there.
  assert.equal((await login('/api/v1/%6cogin', 'carol', 'wrong-password-xx')).status, 401);
  assert.equal((await login('/console/%73ession', 'dave', 'wrong-password-xx')).status, 401);
  for (let i = 1; i < MAX_FAILURES; i++) {
    assert.equal((await login('/api/v1/%6cogin', 'carol', 'wrong-password-xx')).status, 401);
    assert.equal((await login('/console/%73ession', 'dave', 'wrong-password-xx')).status, 401);
  }
  for (const path of ['/api/v1/%6cogin', '/console/%73ession', '/api/v1/login', '/console/session']) {
    assert.equal((await login(path, 'carol', 'carol-password-123')).status, 429, path);
    assert.equal((await login(path, 'dave', 'dave-password-123')).status, 429, path);
  }
  f.clock.advance(WINDOW_MS);
});

test('a cross-origin sign-in through an encoded console path is refused like the plain one', async () => {
  for (const path of ['/console/session', '/console/%73ession', '/%63onsole/session']) {
    const r = await f.coord.app.inject({
      method: 'POST',
      url: path,
      payload: { user: ADMIN.name, password: ADMIN.password },
      headers: { 'content-type': 'application/json', origin: 'https://evil.example', host: 'localhost' },
    });
    assert.ok(r.statusCode === 403 || r.statusCode === 404, `${path}: ${r.statusCode} ${r.body}`);
    assert.doesNotMatch(r.headers['set-cookie']?.toString() ?? '', /=/, path);
  }
});
