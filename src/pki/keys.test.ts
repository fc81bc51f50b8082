import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import {
  caFromParts,
  createRoot,
  createSelfSigned,
  createIntermediate,
  importSigningKey,
  privateKeyToPem,
  PkiError,
} from './index.ts';
import { randomSerial } from './keys.ts';
import { checkDnsName, checkEmail, checkGrantUri, checkIp } from './names.ts';

function code(c: string) {
  return (e: unknown) => e instanceof PkiError && e.code === c;
}

test('importSigningKey: EC P-256/P-384 in, anything else a typed error', async () => {
  for (const namedCurve of ['P-256', 'P-384']) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const k = await importSigningKey(pem, true);
    assert.match(await privateKeyToPem(k), /^-----BEGIN PRIVATE KEY-----/);
  }
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    format: 'pem',
    type: 'pkcs8',
  });
  await assert.rejects(importSigningKey(rsa.toString()), code('KEY_UNSUPPORTED'));
  const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({
    format: 'pem',
    type: 'pkcs8',
  });
  await assert.rejects(importSigningKey(k1.toString()), code('KEY_UNSUPPORTED'));
  await assert.rejects(
    importSigningKey('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'),
    code('PEM_MALFORMED'),
  );
  await assert.rejects(importSigningKey(new Uint8Array([1, 2, 3])), code('PEM_MALFORMED'));
});

test('caFromParts refuses a key that is not the certificate key, and a leaf as a CA', async () => {
  const root = await createRoot();
  const access = await createIntermediate(root, 'access');
  await assert.rejects(caFromParts({ ...access, privateKey: root.privateKey }), code('KEY_MISMATCH'));
  const leaf = await createSelfSigned({ commonName: 'leaf' });
  await assert.rejects(
    caFromParts({
      kind: 'access',
      certPem: leaf.certPem,
      rootPem: root.certPem,
      privateKey: await importSigningKey(leaf.keyPem),
    }),
    code('CA_WRONG_KIND'),
  );
  const ok = await caFromParts({ ...access });
  assert.equal(ok.certPem, access.certPem);
});

test('randomSerial: 128-bit positive, minimally encoded, distinct', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const s = randomSerial();
    assert.match(s, /^(00[89a-f][0-9a-f]{31}|(0[1-9a-f]|[1-7][0-9a-f])[0-9a-f]{30})$/);
    seen.add(s);
  }
  assert.equal(seen.size, 2000);
});

test('name checks', () => {
  assert.equal(checkDnsName('K8S.Acme-Prod.example.com'), 'k8s.acme-prod.example.com');
  for (const bad of [
    '',
    '-a.com',
    'a-.com',
    'a..com',
    'a.com.',
    '*.a.com',
    'a_b.com',
    `${'a'.repeat(64)}.com`,
    'é.com',
  ]) {
    assert.throws(() => checkDnsName(bad), code('NAME_INVALID'), bad);
  }
  assert.equal(checkIp('::1'), '::1');
  assert.throws(() => checkIp('256.1.1.1'), code('NAME_INVALID'));
  assert.equal(checkEmail('a.b+c@x.example'), 'a.b+c@x.example');
  assert.throws(() => checkEmail('a@b'), code('NAME_INVALID'));
  assert.equal(checkGrantUri('sallyport:grant:01HX-a.b_c'), 'sallyport:grant:01HX-a.b_c');
  for (const bad of [
    'sallyport:grant:',
    'sallyport:grant:a/b',
    'urn:grant:x',
    `sallyport:grant:${'a'.repeat(129)}`,
  ]) {
    assert.throws(() => checkGrantUri(bad), code('NAME_INVALID'), bad);
  }
});
