import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from './base.ts';

test('record ids are 16 base64url characters and never look like a command-line option', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const id = newId();
    assert.match(id, /^[A-Za-z0-9][A-Za-z0-9_-]{15}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 20_000);
});
