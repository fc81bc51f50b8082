import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FakeClock } from '../clock/index.ts';
import { CaStore, createKeyAndCsr, issueClientCert, loadPkiKey, PkiError, verifyChain } from './index.ts';

function code(c: string) {
  return (e: unknown) => e instanceof PkiError && e.code === c;
}

async function tmp(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'sallyport-pki-'));
  t.after(() => rm(d, { recursive: true, force: true }));
  return d;
}

const clock = new FakeClock({ wallMs: Date.UTC(2032, 0, 1) });

test('CA store: hierarchy round-trips, keys are sealed, files are 0600', async (t) => {
  const dir = await tmp(t);
  const key = new Uint8Array(randomBytes(32));
  const store = await CaStore.open(join(dir, 'ca'), { key });
  const made = await store.ensureHierarchy({ clock });
  assert.equal((await stat(join(dir, 'ca'))).mode & 0o777, 0o700);
  for (const n of ['root', 'access', 'service']) {
    const p = join(dir, 'ca', `${n}.ca.json`);
    assert.equal((await stat(p)).mode & 0o777, 0o600);
    const text = await readFile(p, 'utf8');
    assert.doesNotMatch(text, /PRIVATE KEY/);
  }
  const again = await (await CaStore.open(join(dir, 'ca'), { key })).ensureHierarchy({ clock });
  assert.equal(again.root.certPem, made.root.certPem);
  assert.equal(again.access.certPem, made.access.certPem);
  // The loaded access CA signs certificates that chain to the stored root.
  const { csrPem } = await createKeyAndCsr({ commonName: 'x' });
  const c = await issueClientCert(again.access, csrPem, {
    identity: { user: 'u' },
    grantUri: 'sallyport:grant:1',
    notAfter: clock.wallMs() + 60_000,
    clock,
  });
  const r = await verifyChain(c.certPem, [made.root.certPem, made.access.certPem], clock.wallMs());
  assert.equal(r.ok, true);
  // Loaded keys can be saved again.
  await store.save('access-copy', again.access);
  assert.equal((await store.load('access-copy')).certPem, made.access.certPem);
});

test('CA store: a wrong key is STORE_WRONG_KEY; damage is STORE_CORRUPT; absence STORE_NOT_FOUND', async (t) => {
  const dir = await tmp(t);
  const store = await CaStore.open(dir, { key: new Uint8Array(randomBytes(32)) });
  await store.ensureHierarchy({ clock });
  const other = await CaStore.open(dir, { key: new Uint8Array(randomBytes(32)) });
  await assert.rejects(other.load('root'), code('STORE_WRONG_KEY'));
  await assert.rejects(store.load('nothing'), code('STORE_NOT_FOUND'));
  await assert.rejects(store.load('../etc'), code('OPTION_INVALID'));
  const p = join(dir, 'access.ca.json');
  const entry = JSON.parse(await readFile(p, 'utf8')) as Record<string, string>;
  const sealed = Buffer.from(entry.sealed!, 'base64');
  sealed[3]! ^= 0x40;
  await writeFile(p, JSON.stringify({ ...entry, sealed: sealed.toString('base64') }));
  await assert.rejects(store.load('access'), code('STORE_CORRUPT'));
  // Swapping a sealed key onto another entry fails too (AAD binds name and certificate).
  const svc = JSON.parse(await readFile(join(dir, 'service.ca.json'), 'utf8')) as Record<string, string>;
  await writeFile(p, JSON.stringify({ ...svc }));
  await assert.rejects(store.load('access'), code('STORE_CORRUPT'));
  await writeFile(p, 'not json');
  await assert.rejects(store.load('access'), code('STORE_CORRUPT'));
});

test('PKI key: from env (base64), from a key file created 0600, typed errors otherwise', async (t) => {
  const dir = await tmp(t);
  const k = randomBytes(32);
  assert.deepEqual(await loadPkiKey({ env: { SALLYPORT_PKI_KEY: k.toString('base64') } }), new Uint8Array(k));
  await assert.rejects(loadPkiKey({ env: { SALLYPORT_PKI_KEY: 'c2hvcnQ=' } }), code('STORE_KEY_INVALID'));
  await assert.rejects(loadPkiKey({ env: {} }), code('STORE_KEY_MISSING'));
  const file = join(dir, 'pki.key');
  await assert.rejects(
    loadPkiKey({ env: {}, keyFile: file, createKeyFile: false }),
    code('STORE_KEY_MISSING'),
  );
  const made = await loadPkiKey({ env: {}, keyFile: file });
  assert.equal(made.length, 32);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.deepEqual(await loadPkiKey({ env: {}, keyFile: file }), made);
  await chmod(file, 0o644);
  await assert.rejects(loadPkiKey({ env: {}, keyFile: file }), code('STORE_KEY_INVALID'));
  await chmod(file, 0o600);
  await writeFile(file, 'garbage\n');
  await assert.rejects(loadPkiKey({ env: {}, keyFile: file }), code('STORE_KEY_INVALID'));
  // The env variable wins over the key file.
  assert.deepEqual(
    await loadPkiKey({ env: { SALLYPORT_PKI_KEY: k.toString('base64') }, keyFile: file }),
    new Uint8Array(k),
  );
  // A store opened with the file key and reopened with the same file works; with the env key it does not.
  const file2 = join(dir, 'pki2.key');
  const s1 = await CaStore.open(join(dir, 's'), { env: {}, keyFile: file2 });
  await s1.ensureHierarchy({ clock });
  await (await CaStore.open(join(dir, 's'), { env: {}, keyFile: file2 })).load('root');
  const s3 = await CaStore.open(join(dir, 's'), {
    env: { SALLYPORT_PKI_KEY: k.toString('base64') },
    keyFile: file2,
  });
  await assert.rejects(s3.load('root'), code('STORE_WRONG_KEY'));
});
