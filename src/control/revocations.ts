// Pushes the coordinator-signed revocation list (proto/relay/revocations.ts) to every relay of the
// relay map: the node keys that lost access (revoked, expired, user disabled) while a relay token
// of theirs may still be valid. A relay closes those nodes' connections and refuses them.
//
//   start() ─► push now, then every intervalMs ─► POST <relay url>/revocations (each relay)
//   kick()  ─► push now (a node or user changed); pushes never overlap, a kick during one
//              runs one more after it
//
// The list is authenticated by its signature (the key relays already trust for tokens), so the
// push needs no other credential; TLS keeps it private on the way. A relay that is down gets the
// next push; a restarted relay has the list again within intervalMs.
import { request } from 'node:https';
import { Timer, type Clock } from '../clock/index.ts';
import { PublicKey, type SigningKey } from '../crypto/index.ts';
import { issueRevocations, MAX_REVOKED_KEYS } from '../proto/relay/index.ts';
import type { Store } from '../store/index.ts';
import type { Logger } from './logger.ts';
import type { ControlMetrics } from './metrics.ts';
import { RELAY_TOKEN_LIFETIME_MS, type RelayConfig } from './relays.ts';

/** Default time between two pushes. */
export const REVOCATION_PUSH_MS = 5_000;
/** A key stays listed this long after it lost access: a token lifetime plus the relays' skew, with margin. */
export const REVOCATION_WINDOW_MS = RELAY_TOKEN_LIFETIME_MS + 5 * 60_000;
const PUSH_TIMEOUT_MS = 5_000;

export interface RevocationPublisherOptions {
  store: Store;
  relays: readonly RelayConfig[];
  signingKey: SigningKey;
  clock: Clock;
  logger: Logger;
  metrics: ControlMetrics;
  /** Extra CA (PEM) to trust for the relays' TLS listeners; default the system's. */
  ca?: string;
  /** Default REVOCATION_PUSH_MS. */
  intervalMs?: number;
}

export class RevocationPublisher {
  readonly #o: RevocationPublisherOptions;
  readonly #timer: Timer;
  readonly #abort = new AbortController();
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  /** Relays whose last push failed (logged once per failure streak). */
  readonly #failing = new Set<string>();

  constructor(o: RevocationPublisherOptions) {
    this.#o = o;
    this.#timer = new Timer(o.clock, () => this.kick());
  }

  start(): void {
    if (this.#o.relays.length) this.kick();
  }

  /** Pushes the list now (after the push under way, if any). */
  kick(): void {
    if (this.#stopped || this.#o.relays.length === 0) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#timer.del();
    this.#running = this.#push()
      .catch((err: unknown) => this.#o.logger.error({ err }, 'revocation push failed'))
      .finally(() => {
        this.#running = undefined;
        if (this.#stopped) return;
        if (this.#again) {
          this.#again = false;
          this.kick();
        } else this.#timer.mod(this.#o.intervalMs ?? REVOCATION_PUSH_MS);
      });
  }

  /** Resolves when the push under way (if any) has finished. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer.del();
    this.#abort.abort();
    await this.#running;
  }

  async #push(): Promise<void> {
    const o = this.#o;
    let keys = await o.store.lostAccessNodeKeys(REVOCATION_WINDOW_MS);
    if (keys.length > MAX_REVOKED_KEYS) {
      // Never reached in practice (keys stay listed for ~1 h); the newest losses matter most.
      o.logger.error({ keys: keys.length }, 'revocation list over its limit: truncated');
      keys = keys.slice(0, MAX_REVOKED_KEYS);
    }
    const body = issueRevocations(
      { keys: keys.map((k) => PublicKey.fromBase64(k)), issuedAtMs: Math.floor(o.clock.wallMs()) },
      o.signingKey,
    );
    await Promise.all(o.relays.map((r) => this.#send(r, body)));
  }

  async #send(r: RelayConfig, body: Uint8Array): Promise<void> {
    const o = this.#o;
    try {
      const status = await post(new URL('/revocations', r.url), body, {
        ...(o.ca ? { ca: o.ca } : {}),
        signal: this.#abort.signal,
      });
      if (status !== 200) throw new Error(`HTTP ${status}`);
      o.metrics.revocationPushes.inc({ result: 'ok' });
      if (this.#failing.delete(r.url))
        o.logger.info({ relay: r.region, url: r.url }, 'revocation push works again');
    } catch (e) {
      if (this.#stopped) return;
      o.metrics.revocationPushes.inc({ result: 'failed' });
      if (!this.#failing.has(r.url)) {
        this.#failing.add(r.url);
        o.logger.warn({ relay: r.region, url: r.url, err: (e as Error).message }, 'revocation push failed');
      }
    }
  }
}

function post(url: URL, body: Uint8Array, o: { ca?: string; signal: AbortSignal }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', 'content-length': body.length },
        ...(o.ca ? { ca: o.ca } : {}),
        timeout: PUSH_TIMEOUT_MS,
        signal: o.signal,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}
