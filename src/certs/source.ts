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

/**
 * What every source keeps: the pair served now, its status and its subscribers. A subclass sets
 * the pair with `serve` (announcing it to the subscribers when it replaces one) and records
 * failures with `failed`.
 */
export abstract class HeldCertSource implements CertSource {
  readonly #listeners = new Listeners();
  #pair: CertPair | undefined;
  #status: CertStatus | undefined;

  /** True once a pair is served. */
  protected get serving(): boolean {
    return this.#pair !== undefined;
  }

  current(): CertPair {
    return this.#pair!;
  }
  status(): CertStatus {
    return { ...this.#status! };
  }
  onChange(fn: (pair: CertPair, info: CertInfo) => void): () => void {
    return this.#listeners.add(fn);
  }

  /** Serves `pair` from now; subscribers hear of it when it replaces one (`onError` if one throws). */
  protected serve(
    pair: CertPair,
    info: CertInfo,
    kind: CertStatus['kind'],
    nowMs: number,
    onError: (e: unknown) => void,
  ): void {
    const replaces = this.#pair !== undefined;
    this.#pair = pair;
    this.#status = { kind, current: info, changedAtMs: nowMs };
    if (replaces) this.#listeners.emit(pair, info, onError);
  }

  /** Records a failure to load or renew in the status; true when it differs from the last one. */
  protected failed(err: { code: string; message: string }, nowMs: number): boolean {
    if (!this.#status) return true;
    const changed = this.#status.lastError?.message !== err.message;
    this.#status.lastError = { code: err.code, message: err.message, atMs: nowMs };
    return changed;
  }

  /** When the next renewal is due (ACME), shown in the status. */
  protected set renewAtMs(at: number) {
    this.#status!.renewAtMs = at;
  }

  abstract stop(): Promise<void>;
}

/** A fixed pair (the self-signed certificate of a first start): never changes. */
export class StaticCertSource extends HeldCertSource {
  constructor(pair: CertPair, info: CertInfo, kind: CertStatus['kind'], nowMs: number) {
    super();
    this.serve(pair, info, kind, nowMs, () => {});
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
