// Where a listener's certificate comes from, and how a listener follows it: a CertSource holds the
// current pair and announces each new one; `follow` hands it to a TLS server with
// setSecureContext, which changes what new handshakes get and leaves open connections alone.
import type { Server as TlsServer } from 'node:tls';
import type { CertInfo, CertPair } from './pair.ts';

export interface CertStatus {
  /** 'files' (--tls-cert/--tls-key), 'acme', or 'self-signed'. */
  kind: 'files' | 'acme' | 'self-signed';
  /** The certificate served now. */
  current: CertInfo;
  /** Wall-clock ms of the last change of certificate (start counts). */
  changedAtMs: number;
  /** For ACME: when the next renewal is due (wall-clock ms). */
  renewAtMs?: number;
  /** The last failure to load or renew, cleared by the next success. */
  lastError?: { code: string; message: string; atMs: number };
}

export interface CertSource {
  current(): CertPair;
  status(): CertStatus;
  /** Calls `fn` with every new pair (not the current one); returns the unsubscribe. */
  onChange(fn: (pair: CertPair, info: CertInfo) => void): () => void;
  /** Looks for a new certificate now (files: read them again; the CLI calls it on SIGHUP). */
  reload?(): void;
  /** Stops timers and listeners; idempotent. */
  stop(): Promise<void>;
}

/** Keeps `server`'s certificate equal to `source`'s; returns the unsubscribe. */
export function follow(server: Pick<TlsServer, 'setSecureContext'>, source: CertSource): () => void {
  return source.onChange((pair) => server.setSecureContext({ cert: pair.cert, key: pair.key }));
}

/** A fixed pair (the self-signed certificate of a first start): never changes. */
export class StaticCertSource implements CertSource {
  readonly #pair: CertPair;
  readonly #status: CertStatus;
  constructor(pair: CertPair, info: CertInfo, kind: CertStatus['kind'], nowMs: number) {
    this.#pair = pair;
    this.#status = { kind, current: info, changedAtMs: nowMs };
  }
  current(): CertPair {
    return this.#pair;
  }
  status(): CertStatus {
    return { ...this.#status };
  }
  onChange(): () => void {
    return () => {};
  }
  async stop(): Promise<void> {}
}

/** Subscribers of a source, called in order; one throwing does not stop the others. */
export class Listeners {
  readonly #fns = new Set<(pair: CertPair, info: CertInfo) => void>();
  add(fn: (pair: CertPair, info: CertInfo) => void): () => void {
    this.#fns.add(fn);
    return () => this.#fns.delete(fn);
  }
  emit(pair: CertPair, info: CertInfo, onError: (e: unknown) => void): void {
    for (const fn of this.#fns) {
      try {
        fn(pair, info);
      } catch (e) {
        onError(e);
      }
    }
  }
}
