import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadOrCreateNodeKey, KEY_FILE } from './state.ts';
import { parseServe, parseHostPort, readConfigFile } from './config.ts';
import { parseGreeting, parseRequest } from './socks.ts';
import { coveringGrant, resolveTailnetName } from './grants.ts';
import { decodeLink, encodeLink, isLowerKey, T_DATA } from '../proto/link/index.ts';
import type { Netmap } from '../proto/control/index.ts';

test('the node key is created 0600 at first start and the same key is loaded after', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sp-agent-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const a = loadOrCreateNodeKey(dir);
  assert.equal(a.created, true);
  assert.equal(statSync(join(dir, KEY_FILE)).mode & 0o777, 0o600);
  const b = loadOrCreateNodeKey(dir);
  assert.equal(b.created, false);
  assert.ok(b.key.publicKey.equals(a.key.publicKey));
  chmodSync(join(dir, KEY_FILE), 0o644);
  assert.throws(() => loadOrCreateNodeKey(dir), /readable by others/);
  chmodSync(join(dir, KEY_FILE), 0o600);
  writeFileSync(join(dir, KEY_FILE), 'not a key\n', { mode: 0o600 });
  assert.throws(() => loadOrCreateNodeKey(dir), /does not hold a node key/);
});

test('--serve and config files', (t) => {
  assert.deepEqual(parseServe('web=10.0.0.5:8080,kind=http,tls=terminate'), {
    name: 'web',
    address: '10.0.0.5:8080',
    kind: 'http',
    tls: 'terminate',
  });
  assert.deepEqual(parseServe('db=[fd00::1]:9000,tls=passthrough'), {
    name: 'db',
    address: '[fd00::1]:9000',
    kind: 'tcp',
    tls: 'passthrough',
  });
  for (const bad of [
    'web',
    '=1.2.3.4:5',
    'Web=1.2.3.4:5',
    'w=1.2.3.4',
    'w=1.2.3.4:0',
    'w=h:70000',
    'w=h:1,kind=x',
    'w=h:1,tls=x',
    'w=h:1,foo=1',
  ])
    assert.throws(() => parseServe(bad), /AGENT_CONFIG|serve|address|kind|tls/, bad);
  assert.deepEqual(parseHostPort('127.0.0.1:0', 'x', true), { host: '127.0.0.1', port: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'sp-agent-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'c.json');
  writeFileSync(
    f,
    JSON.stringify({
      services: [{ name: 'k8s', address: '10.0.0.1:6443', kind: 'kubernetes', tls: 'terminate' }],
    }),
  );
  assert.equal(readConfigFile(f)[0].kind, 'kubernetes');
  writeFileSync(f, '{"services": [{"name": 1}]}');
  assert.throws(() => readConfigFile(f), /must be a string/);
  writeFileSync(f, '{');
  assert.throws(() => readConfigFile(f), /AGENT_CONFIG|JSON|Expected/);
});

test('SOCKS5 parsing: greeting, domain request, partial input, and never a throw on junk', () => {
  assert.equal(parseGreeting(Buffer.from([5])), undefined);
  assert.deepEqual(parseGreeting(Buffer.from([5, 1, 0])), { methods: [0], used: 3 });
  const name = Buffer.from('web.acme-prod.us-east-1.aws.byoc.test');
  const req = Buffer.concat([Buffer.from([5, 1, 0, 3, name.length]), name, Buffer.from([0, 80])]);
  assert.deepEqual(parseRequest(req), { cmd: 1, atyp: 3, host: name.toString(), port: 80, used: req.length });
  assert.equal(parseRequest(req.subarray(0, req.length - 1)), undefined);
  assert.deepEqual(parseRequest(Buffer.from([5, 1, 0, 9, 0, 0, 0])), { error: 'bad address type' });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      parseGreeting(Buffer.from(b));
      parseRequest(Buffer.from(b));
    }),
  );
});

test('grant coverage: peer, service and time window', () => {
  const nm = {
    grants: [{ id: 'g', peerKey: 'K', user: 'alice', services: ['web'], notBefore: 1000, notAfter: 2000 }],
    services: [{ name: 'web', tailnetName: 'web.d.r.c.example.com' }],
  } as unknown as Netmap;
  assert.ok(coveringGrant(nm, 'K', 'web', 1500));
  assert.equal(coveringGrant(nm, 'K', 'web', 999), undefined);
  assert.equal(coveringGrant(nm, 'K', 'web', 2000), undefined);
  assert.equal(coveringGrant(nm, 'K', 'db', 1500), undefined);
  assert.equal(coveringGrant(nm, 'L', 'web', 1500), undefined);
  assert.ok(resolveTailnetName(nm, 'WEB.d.r.c.example.com.'));
  assert.equal(resolveTailnetName(nm, 'web.d.r.c.example.org'), undefined);
});

test('link header round trip; junk never throws', () => {
  const body = new Uint8Array([1, 2, 3]);
  const d = decodeLink(encodeLink(T_DATA, true, 0x0102030405060708n, body))!;
  assert.equal(d.type, T_DATA);
  assert.equal(d.open, true);
  assert.equal(d.epoch, 0x0102030405060708n);
  assert.deepEqual([...d.body], [1, 2, 3]);
  assert.equal(decodeLink(new Uint8Array(8)), undefined);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => void decodeLink(b)));
  assert.equal(isLowerKey(new Uint8Array([1, 2]), new Uint8Array([1, 3])), true);
  assert.equal(isLowerKey(new Uint8Array([1, 3]), new Uint8Array([1, 2])), false);
});
