// A certificate from an ACME CA (RFC 8555: Let's Encrypt, a private step-ca, Pebble in tests),
// validated by http-01, kept under `stateDir` and renewed before it runs out:
//   stateDir/account.key   the ACME account's key (0600), account.json its URL at the directory
//   stateDir/cert.pem      the chain last issued, key.pem its key (0600)
// A restart reuses a stored certificate that still covers every domain and is not due; otherwise it
// orders one before the listener starts (no listener comes up without a certificate). Renewal is
// due when a third of the lifetime is left (60 of 90 days at Let's Encrypt, 10 of 15 s in tests);
// a failed renewal is retried with doubling backoff (RETRY_MIN_MS to RETRY_MAX_MS) while the old
// certificate is served, and shows in status() and the logs.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import * as acme from 'acme-client';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../clock/index.ts';
import { CertError } from './errors.ts';
import { Http01Responder } from './http01.ts';
import type { TlsAlpn01Responder } from './tls-alpn01.ts';
import { inspectPair, type CertInfo, type CertPair } from './pair.ts';
import { HeldCertSource } from './source.ts';

export interface AcmeOptions {
  /** The ACME directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory. */
  directoryUrl: string;
  /** DNS names the certificate covers (the first is its CN); at least one. */
  domains: string[];
  /** Contact for the account (expiry notices); optional. */
  email?: string;
  /** The operator agreed to the CA's terms of service (--acme-agree-tos); required by every public CA. */
  agreeTos: boolean;
  /** Where the account key and the certificate are kept; created 0700. */
  stateDir: string;
  /**
   * How the CA validates: 'http-01' (default; the CA connects to port 80 of each domain, answered
   * on http01Listen) or 'tls-alpn-01' (RFC 8737; the CA connects to port 443, answered by the TLS
   * listener there through `tlsAlpn01`).
   */
  challenge?: 'http-01' | 'tls-alpn-01';
  /** Where the http-01 responder listens (http-01 only). */
  http01Listen?: { host: string; port: number };
  /** The tls-alpn-01 responder the TLS listener on port 443 consults (tls-alpn-01 only). */
  tlsAlpn01?: TlsAlpn01Responder;
  /** Extra PEM CAs to trust for the ACME server's own HTTPS (a private CA); default the system's. */
  acmeCa?: string;
  clock: Clock;
  logger?: Logger;
  /** Called on each renewal attempt's outcome (for a metric). */
  onRenewal?: (result: 'ok' | 'failed') => void;
}

const RETRY_MIN_MS = 10_000;
const RETRY_MAX_MS = 3_600_000;
/** Node timers overflow past 2^31-1 ms; long waits are taken in steps. */
const MAX_STEP_MS = 12 * 3_600_000;
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function validate(o: AcmeOptions): void {
  let url: URL;
  try {
    url = new URL(o.directoryUrl);
  } catch {
    throw new CertError('CERT_OPTIONS', `--acme-directory '${o.directoryUrl}' is not a URL`);
  }
  if (url.protocol !== 'https:')
    throw new CertError('CERT_OPTIONS', `--acme-directory must be an https:// URL, got '${o.directoryUrl}'`);
  if (o.domains.length === 0)
    throw new CertError(
      'CERT_OPTIONS',
      'ACME needs at least one --acme-domain NAME (the DNS name clients use)',
    );
  for (const d of o.domains)
    if (!DNS_NAME.test(d) || isIP(d) !== 0 || /^\d+$/.test(d.split('.').at(-1)!))
      throw new CertError(
        'CERT_OPTIONS',
        `--acme-domain '${d}' is not a DNS name (http-01 cannot validate IP addresses or wildcards)`,
      );
  const ch = o.challenge ?? 'http-01';
  if (ch === 'http-01' && !o.http01Listen)
    throw new CertError('CERT_OPTIONS', 'http-01 needs an address for its responder (--acme-http-listen)');
  if (ch === 'tls-alpn-01' && !o.tlsAlpn01)
    throw new CertError(
      'CERT_OPTIONS',
      'tls-alpn-01 is answered by a TLS listener on port 443: this command has none',
    );
  if (!o.agreeTos)
    throw new CertError(
      'CERT_OPTIONS',
      "ACME CAs require agreeing to their terms of service: read them at the directory's meta.termsOfService and pass --acme-agree-tos",
    );
}

/**
 * acme-client talks through one shared axios instance: extra CAs are added to its HTTPS agent, and
 * its own retries of a failed request (5 by default, waiting 5, 10, … 25 s: 75 s before a start
 * could fail) are cut to two short ones, since the renewal schedule retries with its own backoff.
 */
const trusted = new Set<string>();
const settings = (acme.axios.defaults as unknown as { acmeSettings?: Record<string, number> }).acmeSettings;
if (settings) Object.assign(settings, { retryMaxAttempts: 2, retryDefaultDelay: 1 });
function trustAcmeCa(pem: string): void {
  if (trusted.has(pem)) return;
  trusted.add(pem);
  acme.axios.defaults.httpsAgent = new Agent({ ca: [...rootCertificates, ...trusted], keepAlive: false });
}

function writeSecret(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** When a certificate is due: when a third of its lifetime is left. */
export function renewalDueMs(info: Pick<CertInfo, 'notBeforeMs' | 'notAfterMs'>): number {
  return info.notAfterMs - (info.notAfterMs - info.notBeforeMs) / 3;
}

export class AcmeCertSource extends HeldCertSource {
  readonly #o: AcmeOptions;
  readonly #responder = new Http01Responder();
  #client!: acme.Client;
  #timer: TimerHandle | undefined;
  #inflight: Promise<CertInfo> | undefined;
  #failures = 0;
  #stopped = false;

  private constructor(o: AcmeOptions) {
    super();
    this.#o = o;
  }

  /**
   * Binds the http-01 responder, loads or creates the account, and returns once a certificate is
   * at hand (stored and not due, or freshly issued). CERT_OPTIONS, ACME_STATE or ACME_FAILED
   * otherwise, with the responder closed.
   */
  static async start(o: AcmeOptions): Promise<AcmeCertSource> {
    validate(o);
    const s = new AcmeCertSource(o);
    try {
      await s.#init();
    } catch (e) {
      await s.stop();
      throw e;
    }
    return s;
  }

  /** The port the http-01 responder is bound to. */
  http01Port = 0;

  /** Orders a certificate now (one order at a time); resolves with the new certificate's info. */
  renewNow(): Promise<CertInfo> {
    this.#inflight ??= this.#issue().finally(() => (this.#inflight = undefined));
    return this.#inflight;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inflight?.catch(() => {});
    await this.#responder.close();
  }

  async #init(): Promise<void> {
    const o = this.#o;
    if (o.acmeCa) trustAcmeCa(o.acmeCa);
    try {
      mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
    } catch (cause) {
      throw new CertError('ACME_STATE', `cannot create the ACME state directory ${o.stateDir}`, { cause });
    }
    const keyFile = join(o.stateDir, 'account.key');
    const accountFile = join(o.stateDir, 'account.json');
    let accountKey: string;
    let accountUrl: string | undefined;
    try {
      if (!existsSync(keyFile)) writeSecret(keyFile, (await acme.crypto.createPrivateEcdsaKey()).toString());
      accountKey = readFileSync(keyFile, 'utf8');
      if (existsSync(accountFile)) {
        const a = JSON.parse(readFileSync(accountFile, 'utf8')) as { directoryUrl?: string; url?: string };
        // An account belongs to one directory: a changed --acme-directory registers anew.
        if (a.directoryUrl === o.directoryUrl && typeof a.url === 'string') accountUrl = a.url;
      }
    } catch (cause) {
      throw new CertError(
        'ACME_STATE',
        `the ACME state in ${o.stateDir} is unreadable: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
    this.#client = new acme.Client({
      directoryUrl: o.directoryUrl,
      accountKey,
      ...(accountUrl ? { accountUrl } : {}),
      // Polls of a pending order, and retries of a failed request: ~8 s in all before giving up
      // (the renewal schedule retries later with its own backoff).
      backoffAttempts: 5,
      backoffMin: 300,
      backoffMax: 3_000,
    });
    if ((o.challenge ?? 'http-01') === 'http-01')
      this.http01Port = await this.#responder.listen(o.http01Listen!);

    const stored = this.#loadStored();
    const now = o.clock.wallMs();
    if (stored && stored.info.notAfterMs > now) {
      this.serve(stored.pair, stored.info, 'acme', now, () => {});
      o.logger?.info(
        { fingerprint: stored.info.fingerprint, notAfter: new Date(stored.info.notAfterMs).toISOString() },
        'ACME certificate loaded from the state directory',
      );
    } else {
      await this.renewNow();
    }
    this.#schedule();
  }

  #loadStored(): { pair: CertPair; info: CertInfo } | undefined {
    const certFile = join(this.#o.stateDir, 'cert.pem');
    const keyFile = join(this.#o.stateDir, 'key.pem');
    if (!existsSync(certFile) || !existsSync(keyFile)) return undefined;
    try {
      const pair = { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
      const info = inspectPair(pair);
      const covers = this.#o.domains.every((d) => info.names.includes(d));
      if (!covers) {
        this.#o.logger?.info(
          { names: info.names },
          'stored ACME certificate does not cover every --acme-domain: ordering anew',
        );
        return undefined;
      }
      return { pair, info };
    } catch (e) {
      this.#o.logger?.warn({ err: (e as Error).message }, 'stored ACME certificate unusable: ordering anew');
      return undefined;
    }
  }

  async #issue(): Promise<CertInfo> {
    const o = this.#o;
    const log = o.logger;
    log?.info({ domains: o.domains }, 'ordering a certificate from the ACME CA');
    try {
      const [key, csr] = await acme.crypto.createCsr({ commonName: o.domains[0], altNames: o.domains });
      const chain = await this.#client.auto({
        csr,
        ...(o.email ? { email: o.email } : {}),
        termsOfServiceAgreed: true,
        challengePriority: [o.challenge ?? 'http-01'],
        // acme-client's self-check resolves each domain with the system resolver, which need not
        // see what the CA sees (split DNS, a private CA): the CA's own validation decides.
        skipChallengeVerification: true,
        challengeCreateFn: async (authz, challenge, keyAuthorization) => {
          const want = o.challenge ?? 'http-01';
          if ((challenge.type as string) !== want)
            throw new CertError(
              'ACME_FAILED',
              `the CA offered ${challenge.type}; this listener answers ${want}`,
            );
          if (want === 'tls-alpn-01') await o.tlsAlpn01!.set(authz, keyAuthorization);
          else this.#responder.set(challenge.token, keyAuthorization);
        },
        challengeRemoveFn: async (authz, challenge) => {
          if ((challenge.type as string) === 'tls-alpn-01') o.tlsAlpn01?.delete(authz.identifier.value);
          else this.#responder.delete(challenge.token);
        },
      });
      const pair = { cert: chain, key: key.toString() };
      const info = inspectPair(pair);
      writeSecret(join(o.stateDir, 'key.pem'), pair.key);
      writeFileSync(join(o.stateDir, 'cert.pem'), pair.cert, { mode: 0o644 });
      writeFileSync(
        join(o.stateDir, 'account.json'),
        JSON.stringify({ directoryUrl: o.directoryUrl, url: this.#client.getAccountUrl() }) + '\n',
        { mode: 0o600 },
      );
      const first = !this.serving;
      this.#failures = 0;
      o.onRenewal?.('ok');
      log?.info(
        {
          fingerprint: info.fingerprint,
          serial: info.serial,
          notAfter: new Date(info.notAfterMs).toISOString(),
        },
        first ? 'ACME certificate issued' : 'ACME certificate renewed',
      );
      this.serve(pair, info, 'acme', o.clock.wallMs(), (e) =>
        log?.error({ err: e }, 'certificate subscriber failed'),
      );
      return info;
    } catch (e) {
      o.onRenewal?.('failed');
      const err =
        e instanceof CertError
          ? e
          : new CertError(
              'ACME_FAILED',
              `ACME order for ${o.domains.join(', ')} failed: ${(e as Error).message}`,
              {
                cause: e,
                retryable: true,
              },
            );
      this.#failures++;
      this.failed(err, o.clock.wallMs());
      log?.error({ code: err.code, err: err.message, failures: this.#failures }, 'ACME order failed');
      throw err;
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    const o = this.#o;
    const due = renewalDueMs(this.status().current);
    const retry = this.#failures > 0 ? Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (this.#failures - 1)) : 0;
    const at = Math.max(due, this.#failures > 0 ? o.clock.wallMs() + retry : 0);
    this.renewAtMs = at;
    const wait = Math.max(0, at - o.clock.wallMs());
    this.#timer = o.clock.setTimeout(
      () => {
        this.#timer = undefined;
        if (this.#stopped) return;
        if (o.clock.wallMs() < at) return this.#schedule(); // a step of a long wait
        this.renewNow().then(
          () => this.#schedule(),
          () => this.#schedule(),
        );
      },
      Math.min(wait, MAX_STEP_MS),
    );
  }
}
