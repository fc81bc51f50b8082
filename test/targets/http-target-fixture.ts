// What the connector's router does in front of an HTTP target, for tests that run without the
// overlay: a TLS listener on loopback requiring a client certificate from a test access CA, which
// reads the grant identity from it (CN = user, SAN URI sallyport:grant:<id>) and hands the
// plaintext socket to target.proxy.serve() with an abortable context (grant end) and the grant's
// access level (per grant id, default read-only).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls, { type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { realClock } from '../../src/clock/index.ts';
import {
  createCa,
  createKeyAndCsr,
  issueClientCert,
  issueServerCert,
  readClientIdentity,
  type Ca,
} from '../../src/pki/index.ts';
import type { GrantUsageSummary, Target, TargetDeps } from '../../src/targets/index.ts';
import type { AccessLevel } from '../../src/access/index.ts';

export interface AuditRecord {
  action: string;
  subject: string;
  details: Record<string, unknown>;
}

export interface Pki {
  root: Ca;
  access: Ca;
  service: Ca;
}

export async function testPki(): Promise<Pki> {
  const root = await createCa({ kind: 'root', name: 'test root' });
  return {
    root,
    access: await createCa({ kind: 'access', parent: root }),
    service: await createCa({ kind: 'service', parent: root }),
  };
}

/** A client certificate for `user` and grant `grantId`, written as `sallyport cert` writes it. */
export async function clientCert(
  pki: Pki,
  dir: string,
  user: string,
  grantId: string,
): Promise<{ certPem: string; keyPem: string; certFile: string; keyFile: string; caFile: string }> {
  const { keyPem, csrPem } = await createKeyAndCsr({ commonName: user });
  const c = await issueClientCert(pki.access, csrPem, {
    identity: { user },
    grantUri: `sallyport:grant:${grantId}`,
    notAfter: Date.now() + 3600_000,
  });
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const caFile = join(dir, 'ca.pem');
  writeFileSync(certFile, c.chainPem);
  writeFileSync(keyFile, keyPem, { mode: 0o600 });
  writeFileSync(caFile, pki.root.certPem);
  return { certPem: c.chainPem, keyPem, certFile, keyFile, caFile };
}

export interface Deps {
  deps: TargetDeps;
  audit: AuditRecord[];
  reports: GrantUsageSummary[];
}

export function testDeps(stateDir: string): Deps {
  const audit: AuditRecord[] = [];
  const reports: GrantUsageSummary[] = [];
  return {
    audit,
    reports,
    deps: {
      clock: realClock,
      logger: pino({ level: 'silent' }),
      stateDir,
      audit: { append: (action, subject, details) => void audit.push({ action, subject, details }) },
      report: (s) => void reports.push(s),
    },
  };
}

export interface Front {
  port: number;
  /** The tailnet name in the listener's certificate. */
  name: string;
  /** Aborts every admitted connection's context (the grant ends). */
  endGrant(): void;
  connections: number;
  close(): Promise<void>;
}

/** The router's part: mTLS with the access CA, then target.proxy.serve(plaintext, ctx). */
export async function startFront(
  pki: Pki,
  target: Target,
  o: {
    service: string;
    deployment: string;
    address: string;
    name: string;
    /** The access level of each grant id, as the netmap would carry it; default read-only. */
    access?: Readonly<Record<string, AccessLevel>>;
  },
): Promise<Front> {
  const { keyPem, csrPem } = await createKeyAndCsr({ commonName: o.name });
  const server = await issueServerCert(pki.service, {
    csrPem,
    dnsNames: [o.name],
    notAfter: Date.now() + 3600_000,
  });
  const controllers = new Set<AbortController>();
  const front = tls.createServer(
    { key: keyPem, cert: server.chainPem, ca: pki.root.certPem, requestCert: true, rejectUnauthorized: true },
    (s: TLSSocket) => {
      const peer = s.getPeerCertificate();
      const pem = `-----BEGIN CERTIFICATE-----\n${peer.raw.toString('base64')}\n-----END CERTIFICATE-----\n`;
      const id = readClientIdentity(pem);
      const ac = new AbortController();
      controllers.add(ac);
      f.connections++;
      s.on('close', () => controllers.delete(ac));
      target.proxy!.serve(s, {
        grantId: id.grantId!,
        user: id.user,
        service: o.service,
        deployment: o.deployment,
        notAfter: null,
        access: o.access?.[id.grantId!] ?? 'read-only',
        address: o.address,
        clock: realClock,
        logger: pino({ level: 'silent' }),
        signal: ac.signal,
      });
    },
  );
  front.on('tlsClientError', () => {});
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  const f: Front = {
    port: (front.address() as AddressInfo).port,
    name: o.name,
    connections: 0,
    endGrant() {
      for (const c of controllers) c.abort();
    },
    async close() {
      this.endGrant();
      await new Promise<void>((r) => front.close(() => r()));
    },
  };
  return f;
}

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs the real kubectl with a kubeconfig, its own cache and HOME (no user configuration leaks in). */
export function runKubectl(
  kubeconfig: string,
  dir: string,
  args: string[],
  timeoutMs = 25_000,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(
      'kubectl',
      ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), '--request-timeout', '10s', ...args],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir }, timeout: timeoutMs },
    );
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('close', (code) => resolve({ code, out, err }));
  });
}
