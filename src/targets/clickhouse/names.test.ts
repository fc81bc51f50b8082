import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clickhouseUserName, MAX_USER_NAME, userOfFile, usersFileName } from './names.ts';
import { XML_NAME } from './xml.ts';

test('user names: engineer and grant, sanitised, bounded, distinct', () => {
  assert.match(
    clickhouseUserName({ user: 'alice@example.com', grantId: 'g-42' }),
    /^sp_alice_example_com_g_42_[0-9a-f]{8}$/,
  );
  // Two grants whose sanitised parts collide still get different users.
  assert.notEqual(
    clickhouseUserName({ user: 'a.b', grantId: 'g' }),
    clickhouseUserName({ user: 'a-b', grantId: 'g' }),
  );
  fc.assert(
    fc.property(fc.string(), fc.string({ minLength: 1 }), (user, grantId) => {
      const n = clickhouseUserName({ user, grantId });
      assert.ok(n.length <= MAX_USER_NAME, n);
      assert.match(n, /^sp_[a-z0-9_]+$/);
      assert.ok(XML_NAME.test(n));
      assert.equal(userOfFile(usersFileName(n)), n);
    }),
  );
});

test('only our own files are recognised', () => {
  for (const f of [
    'users.xml',
    'customer.xml',
    'sallyport-x.xml',
    '.sallyport-sp_a.xml.1.tmp',
    'sallyport-sp_a.xml.bak',
  ]) {
    assert.equal(userOfFile(f), undefined, f);
  }
});
