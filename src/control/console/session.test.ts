import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  clearedCookie,
  csrfToken,
  csrfValid,
  isSafeMethod,
  SESSION_COOKIE,
  sessionCookie,
  sessionFromCookie,
  SignedOut,
} from './session.ts';

const key = new Uint8Array(32).fill(7);
const other = new Uint8Array(32).fill(8);

test('the session cookie is read back from a Cookie header among others, and only a token-shaped value', () => {
  const tok = 'spt_abcdefghijklmnop';
  assert.equal(sessionFromCookie(`a=1; ${SESSION_COOKIE}=${tok}; b=2`), tok);
  assert.equal(sessionFromCookie(`${SESSION_COOKIE}=${tok}`), tok);
  assert.equal(sessionFromCookie(undefined), undefined);
  assert.equal(sessionFromCookie('a=1; b=2'), undefined);
  assert.equal(sessionFromCookie(`${SESSION_COOKIE}=`), undefined);
  assert.equal(sessionFromCookie(`${SESSION_COOKIE}=a b;c`), undefined);
  assert.equal(sessionFromCookie(`${SESSION_COOKIE}=${'x'.repeat(201)}`), undefined);
  // A look-alike name (no __Host- prefix) is not the session.
  assert.equal(sessionFromCookie(`sallyport-session=${tok}`), undefined);
  fc.assert(
    fc.property(
      fc.stringMatching(/^[A-Za-z0-9_-]{8,200}$/),
      (t) => sessionFromCookie(`x=y; ${sessionCookie(t, 60_000).split(';')[0]}`) === t,
    ),
  );
});

test('the Set-Cookie values carry the __Host- attributes; the cleared one expires now', () => {
  const c = sessionCookie('spt_abcdefghijkl', 3_600_500);
  assert.match(c, /^__Host-sallyport-session=spt_abcdefghijkl; /);
  for (const a of ['Path=/', 'Max-Age=3600', 'Secure', 'HttpOnly', 'SameSite=Strict'])
    assert.ok(c.includes(`; ${a}`), a);
  assert.doesNotMatch(c, /Domain/i);
  assert.match(
    clearedCookie(),
    /^__Host-sallyport-session=; Path=\/; Max-Age=0; Secure; HttpOnly; SameSite=Strict$/,
  );
});

test('a CSRF token is bound to its session and its key', () => {
  const a = csrfToken(key, 'spt_session_one');
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.ok(csrfValid(key, 'spt_session_one', a));
  assert.ok(!csrfValid(key, 'spt_session_two', a), 'another session');
  assert.ok(!csrfValid(other, 'spt_session_one', a), 'another coordinator start');
  assert.ok(!csrfValid(key, 'spt_session_one', undefined));
  assert.ok(!csrfValid(key, 'spt_session_one', [a]));
  assert.ok(!csrfValid(key, 'spt_session_one', a.slice(1)));
  fc.assert(
    fc.property(
      fc.string({ minLength: 8 }),
      fc.string(),
      (tok, sent) => csrfValid(key, tok, sent) === (sent === csrfToken(key, tok)),
    ),
  );
});

test('safe methods are GET, HEAD and OPTIONS only', () => {
  for (const m of ['GET', 'HEAD', 'OPTIONS']) assert.ok(isSafeMethod(m));
  for (const m of ['POST', 'PUT', 'PATCH', 'DELETE', 'get']) assert.ok(!isSafeMethod(m));
});

test('signed-out tokens are refused until their time, bounded in number', () => {
  const s = new SignedOut(3);
  s.add('spt_a_aaaaaaaa', 1000, 0);
  assert.ok(s.has('spt_a_aaaaaaaa', 999));
  assert.ok(!s.has('spt_a_aaaaaaaa', 1000));
  assert.ok(!s.has('spt_b_bbbbbbbb', 0));
  for (const t of ['spt_b_bbbbbbbb', 'spt_c_cccccccc', 'spt_d_dddddddd']) s.add(t, 5000, 10);
  assert.equal(s.size, 3);
  s.add('spt_e_eeeeeeee', 5000, 10);
  assert.equal(s.size, 3, 'never more than max');
  assert.ok(!s.has('spt_b_bbbbbbbb', 10), 'the oldest went first');
  assert.ok(s.has('spt_e_eeeeeeee', 10));
  s.prune(6000);
  assert.equal(s.size, 0);
});
