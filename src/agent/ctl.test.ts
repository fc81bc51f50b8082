import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CtlServer, ctlRequest, parseCtlRequest } from './ctl.ts';

test('control requests: ping and netcheck get defaults and bounds; anything else is refused', () => {
  assert.deepEqual(parseCtlRequest('{"cmd":"ping","peer":"acme"}'), {
    cmd: 'ping',
    peer: 'acme',
    count: 5,
    intervalMs: 1000,
    timeoutMs: 2000,
  });
  assert.deepEqual(parseCtlRequest('{"cmd":"netcheck"}'), { cmd: 'netcheck', timeoutMs: 3000 });
  assert.throws(
    () => parseCtlRequest('{"cmd":"ping","peer":"a","count":0}'),
    /count must be an integer 1\.\.1000/,
  );
  assert.throws(() => parseCtlRequest('{"cmd":"ping","peer":"a","timeoutMs":"5"}'), /timeoutMs/);
  assert.throws(() => parseCtlRequest('{"cmd":"ping"}'), { code: 'AGENT_CONTROL' });
  assert.throws(() => parseCtlRequest('{"cmd":"netcheck","timeoutMs":1e9}'), /timeoutMs/);
});

test('progress lines reach the client before the reply', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-ctl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'ctl.sock');
  const server = new CtlServer(path, {
    handle: async (_req, _onClose, progress) => {
      progress({ seq: 1 });
      progress({ seq: 2 });
      return { ok: true, done: true };
    },
  });
  await server.listen();
  t.after(() => server.close());
  const seen: unknown[] = [];
  const { reply, socket } = await ctlRequest(path, { cmd: 'netcheck', timeoutMs: 100 }, (p) => seen.push(p));
  socket.destroy();
  assert.deepEqual(seen, [{ seq: 1 }, { seq: 2 }]);
  assert.deepEqual(reply, { ok: true, done: true });
});
