// A certificate from files (--tls-cert/--tls-key), followed as they change: certbot, cert-manager
// or an operator replaces the files, and the listener picks the new pair up within `pollMs` (or at
// once on `reload()`, which the CLI calls on SIGHUP). A pair that does not load — half-written
// files, a key that does not match — is refused and the old one stays served.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../clock/index.ts';
import { CertError } from './errors.ts';
import { inspectPair, type CertInfo, type CertPair } from './pair.ts';
import { HeldCertSource } from './source.ts';

export interface FileCertSourceOptions {
  certFile: string;
  keyFile: string;
  clock: Clock;
  /** How often the files are read again; default 60 000 ms. */
  pollMs?: number;
  logger?: Logger;
  /** Called on every refused reload (for a metric). */
  onReloadFailure?: (e: CertError) => void;
}

function readPair(certFile: string, keyFile: string): CertPair {
  const read = (f: string) => {
    try {
      return readFileSync(f, 'utf8');
    } catch (cause) {
      throw new CertError(
        'CERT_FILE',
        `cannot read ${f}: ${(cause as NodeJS.ErrnoException).code ?? cause}`,
        {
          cause,
        },
      );
    }
  };
  return { cert: read(certFile), key: read(keyFile) };
}

export class FileCertSource extends HeldCertSource {
  readonly #o: FileCertSourceOptions;
  #timer: TimerHandle | undefined;
  #stopped = false;

  /** Reads and checks the pair now; throws CertError (CERT_FILE, CERT_INVALID) when it cannot. */
  constructor(o: FileCertSourceOptions) {
    super();
    this.#o = o;
    const pair = readPair(o.certFile, o.keyFile);
    let info: CertInfo;
    try {
      info = inspectPair(pair);
    } catch (e) {
      throw new CertError('CERT_INVALID', `${o.certFile} / ${o.keyFile}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    this.serve(pair, info, 'files', o.clock.wallMs(), () => {});
    this.#arm();
  }

  /** Reads the files again; true when a new certificate is now served. */
  reload(): boolean {
    if (this.#stopped) return false;
    let pair: CertPair;
    let info: CertInfo;
    try {
      pair = readPair(this.#o.certFile, this.#o.keyFile);
      const now = this.current();
      if (pair.cert === now.cert && pair.key === now.key) return false;
      info = inspectPair(pair);
    } catch (e) {
      const err = e instanceof CertError ? e : new CertError('CERT_INVALID', String(e));
      // Logged once per distinct failure, counted every time.
      if (this.failed(err, this.#o.clock.wallMs()))
        this.#o.logger?.error(
          { code: err.code, err: err.message },
          'listener certificate not reloaded; the old one stays',
        );
      this.#o.onReloadFailure?.(err);
      return false;
    }
    this.#o.logger?.info(
      { fingerprint: info.fingerprint, notAfter: new Date(info.notAfterMs).toISOString() },
      'listener certificate reloaded',
    );
    this.serve(pair, info, 'files', this.#o.clock.wallMs(), (e) =>
      this.#o.logger?.error({ err: e }, 'certificate subscriber failed'),
    );
    return true;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    if (this.#stopped) return;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.reload();
      this.#arm();
    }, this.#o.pollMs ?? 60_000);
  }
}
