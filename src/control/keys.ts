// The coordinator's own keys, created under --data on first start and stored 0600 (I9):
//   DIR/coordinator.key       X25519 static key of the agent channel (base64)
//   DIR/signing.key           Ed25519 seed for relay tokens (base64)
//   DIR/audit.key             Ed25519 seed for audit checkpoints only (base64; audit-signer.ts)
//   DIR/tls/cert.pem, key.pem self-signed listener certificate, unless --tls-cert/--tls-key
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrivateKey, SigningKey } from '../crypto/index.ts';
import { createSelfSigned, certFingerprint } from '../pki/index.ts';
import type { Clock } from '../clock/index.ts';
import { ControlError } from './errors.ts';

function writeSecret(path: string, data: string): void {
  writeFileSync(path, data, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
}

function loadOrCreate<T>(path: string, parse: (s: string) => T, create: () => { value: T; text: string }): T {
  if (existsSync(path)) {
    try {
      return parse(readFileSync(path, 'utf8').trim());
    } catch (cause) {
      throw new ControlError('CONFIG', `cannot read key file ${path}`, { cause });
    }
  }
  const { value, text } = create();
  writeSecret(path, `${text}\n`);
  return value;
}

export interface CoordinatorKeys {
  staticKey: PrivateKey;
  signingKey: SigningKey;
  /** Signs audit checkpoints and nothing else, so a relay-token key leak cannot forge them. */
  auditKey: SigningKey;
}

const ed25519Key = (path: string): SigningKey =>
  loadOrCreate(
    path,
    (s) => SigningKey.fromSeed(Buffer.from(s, 'base64')),
    () => {
      const k = SigningKey.generate();
      return { value: k, text: Buffer.from(k.unsafeSeed()).toString('base64') };
    },
  );

export function loadOrCreateKeys(dataDir: string): CoordinatorKeys {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const staticKey = loadOrCreate(join(dataDir, 'coordinator.key'), PrivateKey.fromBase64, () => {
    const k = PrivateKey.generate();
    return { value: k, text: Buffer.from(k.unsafeBytes()).toString('base64') };
  });
  const signingKey = ed25519Key(join(dataDir, 'signing.key'));
  const auditKey = ed25519Key(join(dataDir, 'audit.key'));
  return { staticKey, signingKey, auditKey };
}

export interface ListenerTls {
  cert: string;
  key: string;
  /** SHA-256 fingerprint of the certificate, hex with colons (for agents to pin). */
  fingerprint: string;
}

/** The listener certificate: from files, or self-signed under DIR/tls on first start. */
export async function loadOrCreateTls(
  dataDir: string,
  opts: { certFile?: string; keyFile?: string; hostnames: string[]; clock?: Clock },
): Promise<ListenerTls> {
  let cert: string;
  let key: string;
  if (opts.certFile || opts.keyFile) {
    if (!opts.certFile || !opts.keyFile)
      throw new ControlError('CONFIG', '--tls-cert and --tls-key go together');
    cert = readFileSync(opts.certFile, 'utf8');
    key = readFileSync(opts.keyFile, 'utf8');
  } else {
    const dir = join(dataDir, 'tls');
    const certPath = join(dir, 'cert.pem');
    const keyPath = join(dir, 'key.pem');
    if (existsSync(certPath) && existsSync(keyPath)) {
      cert = readFileSync(certPath, 'utf8');
      key = readFileSync(keyPath, 'utf8');
    } else {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const ips = opts.hostnames.filter((h) => /^[\d.]+$|:/.test(h));
      const dns = opts.hostnames.filter((h) => !ips.includes(h));
      const made = await createSelfSigned({
        commonName: 'sallyport coordinator',
        dnsNames: [...new Set(['localhost', ...dns])],
        ipAddresses: [...new Set(['127.0.0.1', ...ips])],
        days: 3650,
        ...(opts.clock ? { clock: opts.clock } : {}),
      });
      writeSecret(keyPath, made.keyPem);
      writeFileSync(certPath, made.certPem, { mode: 0o644 });
      cert = made.certPem;
      key = made.keyPem;
    }
  }
  return { cert, key, fingerprint: certFingerprint(cert) };
}
