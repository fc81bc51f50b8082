// The CA store: CA certificates in the clear, CA private keys sealed at rest.
//
// One JSON file per CA, `<name>.ca.json`, written 0600 in a 0700 directory (atomic rename):
//   { v: 1, kind, certPem, rootPem, parentsPem, keyId, nonce, sealed }
// sealed = AES-256-GCM(PKCS#8 DER of the private key) ‖ 16-byte tag, 12-byte random nonce,
// AAD = "sallyport-ca-v1" 0 name 0 kind 0 SHA-256(certPem), so a sealed key cannot be moved to
// another entry or certificate. The encryption key is HKDF-SHA256(store key, info
// "sallyport pki store v1"); keyId = the first 8 bytes of SHA-256("sallyport pki key id" 0 store
// key), which tells a wrong key (STORE_WRONG_KEY) from a damaged entry (STORE_CORRUPT).
//
// The store key (32 bytes) comes from, in order: the `key` option, env SALLYPORT_PKI_KEY (base64),
// or a key file (base64 text; created 0600 with a fresh random key when missing and allowed).
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../clock/index.ts';
import { caFromParts, createIntermediate, createRoot } from './ca.ts';
import type { Ca, CaKind } from './ca.ts';
import { PkiError } from './errors.ts';
import { importSigningKey, privateKeyToDer } from './keys.ts';

export const PKI_KEY_ENV = 'SALLYPORT_PKI_KEY';

export interface PkiKeyOptions {
  /** The 32-byte store key itself (tests, or a caller with its own secret source). */
  key?: Uint8Array;
  /** Environment to read SALLYPORT_PKI_KEY from; default process.env. */
  env?: Record<string, string | undefined>;
  /** Path of a key file (base64 of 32 bytes). */
  keyFile?: string;
  /** Create the key file (0600, random key) when it does not exist; default true. */
  createKeyFile?: boolean;
}

function decodeKey(text: string, where: string): Uint8Array {
  const t = text.trim();
  const b = /^[A-Za-z0-9+/]{43}=$/.test(t) ? Buffer.from(t, 'base64') : undefined;
  if (!b || b.length !== 32) throw new PkiError('STORE_KEY_INVALID', `${where} must be base64 of 32 bytes`);
  return new Uint8Array(b);
}

/** Finds the store key (see the file comment for the order); PkiError when missing or bad. */
export async function loadPkiKey(opts: PkiKeyOptions = {}): Promise<Uint8Array> {
  if (opts.key) {
    if (opts.key.length !== 32) throw new PkiError('STORE_KEY_INVALID', 'the PKI key must be 32 bytes');
    return opts.key;
  }
  const envValue = (opts.env ?? process.env)[PKI_KEY_ENV];
  if (envValue !== undefined && envValue !== '') return decodeKey(envValue, PKI_KEY_ENV);
  if (!opts.keyFile) {
    throw new PkiError(
      'STORE_KEY_MISSING',
      `no PKI key: set ${PKI_KEY_ENV} (base64 of 32 bytes) or give a key file`,
    );
  }
  try {
    const st = await stat(opts.keyFile);
    if ((st.mode & 0o077) !== 0) {
      throw new PkiError('STORE_KEY_INVALID', `key file ${opts.keyFile} is readable by others: chmod 600 it`);
    }
    return decodeKey(await readFile(opts.keyFile, 'utf8'), `key file ${opts.keyFile}`);
  } catch (e) {
    if (e instanceof PkiError || (e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw wrapIo(e, opts.keyFile);
  }
  if (opts.createKeyFile === false)
    throw new PkiError('STORE_KEY_MISSING', `key file ${opts.keyFile} does not exist`);
  const key = randomBytes(32);
  const fh = await open(opts.keyFile, 'wx', 0o600).catch((e: unknown) => {
    throw wrapIo(e, opts.keyFile!);
  });
  try {
    await fh.writeFile(`${key.toString('base64')}\n`);
  } finally {
    await fh.close();
  }
  return new Uint8Array(key);
}

function wrapIo(e: unknown, path: string): PkiError {
  if (e instanceof PkiError) return e;
  return new PkiError('STORE_KEY_INVALID', `cannot use key file ${path}: ${(e as Error).message}`, {
    cause: e,
  });
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const KINDS: ReadonlySet<string> = new Set(['root', 'access', 'service']);

interface Entry {
  v: 1;
  kind: CaKind;
  certPem: string;
  rootPem: string;
  parentsPem: string[];
  keyId: string;
  nonce: string;
  sealed: string;
}

/** CA certificates and encrypted CA keys in one directory. */
export class CaStore {
  readonly dir: string;
  readonly #encKey: Buffer;
  readonly #keyId: string;

  private constructor(dir: string, key: Uint8Array) {
    this.dir = dir;
    this.#encKey = Buffer.from(hkdfSync('sha256', key, new Uint8Array(0), 'sallyport pki store v1', 32));
    this.#keyId = createHash('sha256')
      .update('sallyport pki key id\0')
      .update(key)
      .digest('hex')
      .slice(0, 16);
  }

  /** Opens (creating, 0700) the store directory with the store key found per `keyOpts`. */
  static async open(dir: string, keyOpts: PkiKeyOptions = {}): Promise<CaStore> {
    const key = await loadPkiKey(keyOpts);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new CaStore(dir, key);
  }

  #path(name: string): string {
    if (typeof name !== 'string' || !NAME.test(name))
      throw new PkiError('OPTION_INVALID', `bad CA name ${name}`);
    return join(this.dir, `${name}.ca.json`);
  }

  static #aad(name: string, kind: string, certPem: string): Buffer {
    const h = createHash('sha256').update(certPem).digest('hex');
    return Buffer.from(`sallyport-ca-v1\0${name}\0${kind}\0${h}`);
  }

  /** Writes a CA (atomically, 0600); replaces an entry of the same name. */
  async save(name: string, ca: Ca): Promise<void> {
    const path = this.#path(name);
    const der = await privateKeyToDer(ca.privateKey);
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.#encKey, nonce);
    c.setAAD(CaStore.#aad(name, ca.kind, ca.certPem));
    const sealed = Buffer.concat([c.update(der), c.final(), c.getAuthTag()]);
    der.fill(0);
    const entry: Entry = {
      v: 1,
      kind: ca.kind,
      certPem: ca.certPem,
      rootPem: ca.rootPem,
      parentsPem: ca.parentsPem,
      keyId: this.#keyId,
      nonce: nonce.toString('base64'),
      sealed: sealed.toString('base64'),
    };
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(JSON.stringify(entry, null, 1));
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await chmod(tmp, 0o600);
      await rename(tmp, path);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
  }

  /** True when an entry of that name exists. */
  async has(name: string): Promise<boolean> {
    return stat(this.#path(name)).then(
      () => true,
      () => false,
    );
  }

  /** Reads and decrypts a CA; STORE_NOT_FOUND, STORE_WRONG_KEY or STORE_CORRUPT on failure. */
  async load(name: string): Promise<Ca> {
    const path = this.#path(name);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new PkiError('STORE_NOT_FOUND', `no CA named ${name} in the store`);
      }
      throw new PkiError('STORE_CORRUPT', `cannot read CA ${name}: ${(e as Error).message}`, { cause: e });
    }
    const entry = parseEntry(text, name);
    if (entry.keyId !== this.#keyId) {
      throw new PkiError(
        'STORE_WRONG_KEY',
        `CA ${name} was stored with another PKI key (check ${PKI_KEY_ENV} or the key file)`,
      );
    }
    let der: Buffer;
    try {
      const sealed = Buffer.from(entry.sealed, 'base64');
      const d = createDecipheriv('aes-256-gcm', this.#encKey, Buffer.from(entry.nonce, 'base64'));
      d.setAAD(CaStore.#aad(name, entry.kind, entry.certPem));
      d.setAuthTag(sealed.subarray(sealed.length - 16));
      der = Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
    } catch (e) {
      throw new PkiError('STORE_CORRUPT', `CA ${name}: the sealed key does not decrypt`, { cause: e });
    }
    try {
      const privateKey = await importSigningKey(new Uint8Array(der), true);
      return await caFromParts({ ...entry, privateKey });
    } catch (e) {
      throw new PkiError('STORE_CORRUPT', `CA ${name}: ${(e as Error).message}`, { cause: e });
    } finally {
      der.fill(0);
    }
  }

  /**
   * The coordinator's hierarchy: loads `root`, `access` and `service`, creating (and saving) any
   * that is missing. A new root gets new intermediates.
   */
  async ensureHierarchy(opts: { clock?: Clock; rootDays?: number; intermediateDays?: number } = {}): Promise<{
    root: Ca;
    access: Ca;
    service: Ca;
  }> {
    let root: Ca;
    let fresh = false;
    if (await this.has('root')) root = await this.load('root');
    else {
      root = await createRoot({ clock: opts.clock, days: opts.rootDays });
      await this.save('root', root);
      fresh = true;
    }
    const get = async (kind: 'access' | 'service'): Promise<Ca> => {
      if (!fresh && (await this.has(kind))) return this.load(kind);
      const ca = await createIntermediate(root, kind, { clock: opts.clock, days: opts.intermediateDays });
      await this.save(kind, ca);
      return ca;
    };
    return { root, access: await get('access'), service: await get('service') };
  }
}

function parseEntry(text: string, name: string): Entry {
  let e: Partial<Entry>;
  try {
    e = JSON.parse(text) as Partial<Entry>;
  } catch (err) {
    throw new PkiError('STORE_CORRUPT', `CA ${name}: not JSON`, { cause: err });
  }
  const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
  if (
    !e ||
    e.v !== 1 ||
    !KINDS.has(e.kind as string) ||
    !str(e.certPem) ||
    !str(e.rootPem) ||
    !Array.isArray(e.parentsPem) ||
    !e.parentsPem.every(str) ||
    !str(e.keyId) ||
    !str(e.nonce) ||
    !str(e.sealed) ||
    Buffer.from(e.sealed, 'base64').length < 17
  ) {
    throw new PkiError('STORE_CORRUPT', `CA ${name}: not a CA store entry`);
  }
  return e as Entry;
}
