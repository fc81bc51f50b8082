// The STUN client (RFC 8489 Binding over UDP) for endpoint discovery: what address and port our UDP
// socket has on the far side of every NAT, as the home relay's STUN port and any configured STUN
// servers see it. It sends through the agent's one UDP socket (udp-mux.ts hands responses back to
// `receive`), so the mapping it learns is the one the peers' PINGs will use.
//
//   per server:  idle ──round──► in flight ──success──► idle (result kept)
//                                   │ ▲  └──error response / no answer──► idle (result dropped)
//                                   └─┘ retransmit after RTO, 2·RTO, 4·RTO, … (§6.2.1)
//
// Retransmission (RFC 8489 §6.2.1): the request is sent up to Rc times (default 7), the waits
// doubling from RTO (default 500 ms); after the last one the client waits Rm × RTO (default 16)
// before it gives up: sends at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s, failure at 39.5 s.
// Rounds: every intervalMs (default 25 s) and at once on refresh() (a network change).
import type { Clock } from '../clock/index.ts';
import {
  bindingRequest,
  mappedAddressOf,
  newTransactionId,
  tryDecode,
  type StunAddress,
} from '../proto/stun/index.ts';
import { toHex } from '../util/index.ts';
import { formatEndpoint, normalizeEndpoint, parseEndpoint } from './endpoint.ts';
import { PathsError } from './errors.ts';
import { Wakeup } from './timers.ts';

export interface StunClientOptions {
  clock: Clock;
  /** Sends one datagram from the agent's UDP socket. Must not throw. */
  send(datagram: Uint8Array, to: string): void;
  /** STUN servers as "ip:port" (the home relay's STUN port first). Names must be resolved before. */
  servers?: readonly string[];
  /**
   * A new round of Binding requests this often. Default 25000 ms (Tailscale re-STUNs every ~20–26 s):
   * below the 30 s UDP mapping timeout common in NATs, so our mapping stays alive and any change of
   * it is seen within one interval.
   */
  intervalMs?: number;
  /** Initial retransmission timeout, ms. Default 500 (RFC 8489 §6.2.1's recommended floor). */
  rtoMs?: number;
  /** Requests per transaction (Rc). Default 7 (§6.2.1). */
  maxRequests?: number;
  /** Wait after the last request, in RTOs (Rm). Default 16 (§6.2.1). */
  lastWaitRtos?: number;
  /** SOFTWARE attribute; default none. */
  software?: string;
  /** 12-byte transaction ids; default from the CSPRNG (§6: must be random). */
  txid?: () => Uint8Array;
  /** The set of mapped endpoints changed (sorted, deduplicated). */
  onChange?(mapped: string[]): void;
}

export interface StunResult {
  server: string;
  /** Our reflexive address as that server saw it, "ip:port". */
  mapped: string;
  rttMs: number;
  atMs: number;
}

export interface StunClientStats {
  requestsSent: number;
  retransmissions: number;
  successes: number;
  errorResponses: number;
  timeouts: number;
  /** Responses dropped: unknown transaction, wrong source, malformed, no address. */
  dropped: { unknown: number; wrongSource: number; malformed: number; noAddress: number };
}

interface Transaction {
  readonly server: string;
  readonly txid: Uint8Array;
  readonly request: Uint8Array;
  sent: number;
  lastSentAt: number;
  nextAt: number;
  waiters: { resolve(r: StunResult): void; reject(e: Error): void }[];
}

export class StunClient {
  readonly #o: Required<Omit<StunClientOptions, 'software' | 'onChange' | 'servers'>> &
    Pick<StunClientOptions, 'software' | 'onChange'>;
  #servers: string[];
  readonly #tx = new Map<string, Transaction>();
  readonly #results = new Map<string, StunResult>();
  readonly #wake: Wakeup;
  #roundAt: number | undefined;
  #mapped: string[] = [];
  #stopped = false;
  readonly stats: StunClientStats = {
    requestsSent: 0,
    retransmissions: 0,
    successes: 0,
    errorResponses: 0,
    timeouts: 0,
    dropped: { unknown: 0, wrongSource: 0, malformed: 0, noAddress: 0 },
  };

  constructor(o: StunClientOptions) {
    this.#o = {
      intervalMs: 25_000,
      rtoMs: 500,
      maxRequests: 7,
      lastWaitRtos: 16,
      txid: newTransactionId,
      ...o,
    };
    for (const k of ['intervalMs', 'rtoMs', 'maxRequests', 'lastWaitRtos'] as const)
      if (!(this.#o[k] > 0)) throw new PathsError('PATHS_OPTION_INVALID', `${k} must be > 0`);
    this.#servers = this.#check(o.servers ?? []);
    this.#wake = new Wakeup(o.clock, () => this.#tick());
  }

  /** Starts the first round now, then one every intervalMs. */
  start(): void {
    if (this.#stopped) return;
    this.#roundAt = this.#o.clock.now();
    this.#tick();
  }

  /** A network change: every server is asked again at once (transactions in flight restart their RTO). */
  refresh(): void {
    if (this.#stopped || this.#roundAt === undefined) return;
    const now = this.#o.clock.now();
    for (const t of this.#tx.values()) {
      t.sent = 0; // the retransmission schedule starts over on the new network
      this.#send(t, now);
    }
    this.#roundAt = this.#o.clock.now();
    this.#tick();
  }

  setServers(servers: readonly string[]): void {
    const next = this.#check(servers);
    for (const s of this.#results.keys()) if (!next.includes(s)) this.#results.delete(s);
    const added = next.some((s) => !this.#servers.includes(s));
    this.#servers = next;
    this.#emitIfChanged();
    if (added) this.refresh();
  }

  /** Latest result per server. */
  results(): StunResult[] {
    return [...this.#results.values()];
  }

  /** Our distinct reflexive endpoints. */
  mapped(): string[] {
    return [...this.#mapped];
  }

  /** One Binding transaction with `server` (used by rounds, tests and interop). */
  bind(server: string, opts: { signal?: AbortSignal } = {}): Promise<StunResult> {
    const s = this.#check([server])[0];
    if (this.#stopped) return Promise.reject(new PathsError('PATHS_STOPPED', 'the STUN client was stopped'));
    return new Promise((resolve, reject) => {
      const signal = opts.signal;
      if (signal?.aborted)
        return reject(new PathsError('PATHS_STOPPED', 'aborted', { cause: signal.reason }));
      const t = this.#tx.get(s) ?? this.#begin(s);
      const w = {
        resolve: (r: StunResult) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject: (e: Error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const onAbort = (): void => {
        t.waiters = t.waiters.filter((x) => x !== w);
        reject(new PathsError('PATHS_STOPPED', 'aborted', { cause: signal?.reason }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      t.waiters.push(w);
      this.#arm();
    });
  }

  /**
   * A STUN datagram from the socket. True when it answered one of our transactions (anything else
   * is dropped and counted; it never throws).
   */
  receive(datagram: Uint8Array, from: string): boolean {
    const r = tryDecode(datagram);
    if (!r.ok) {
      this.stats.dropped.malformed++;
      return false;
    }
    const m = r.message;
    if (m.cls !== 'success' && m.cls !== 'error') {
      this.stats.dropped.unknown++;
      return false;
    }
    const t = this.#byTxid(m.transactionId);
    if (!t) {
      this.stats.dropped.unknown++;
      return false;
    }
    if (normalizeEndpoint(from) !== t.server) {
      this.stats.dropped.wrongSource++;
      return false;
    }
    if (m.cls === 'error') {
      this.stats.errorResponses++;
      const e = m.errorCode;
      this.#results.delete(t.server);
      this.#finish(
        t,
        new PathsError('PATHS_STUN_ERROR', `STUN error ${e?.code ?? '?'} ${e?.reason ?? ''}`.trim()),
      );
      this.#emitIfChanged();
      return true;
    }
    const addr = mappedAddressOf(m);
    if (!addr) {
      this.stats.dropped.noAddress++;
      return false;
    }
    const now = this.#o.clock.now();
    const result: StunResult = {
      server: t.server,
      mapped: endpointOf(addr),
      rttMs: now - t.lastSentAt,
      atMs: now,
    };
    this.stats.successes++;
    if (this.#servers.includes(t.server)) this.#results.set(t.server, result);
    this.#finish(t, undefined, result);
    this.#emitIfChanged();
    return true;
  }

  /** Stops: no timer is left; pending bind() calls reject with PATHS_STOPPED. */
  stop(): void {
    this.#stopped = true;
    this.#wake.stop();
    for (const t of [...this.#tx.values()])
      this.#finish(t, new PathsError('PATHS_STOPPED', 'the STUN client was stopped'));
  }

  // ---------------------------------------------------------------- internals

  #check(servers: readonly string[]): string[] {
    return servers.map((s) => {
      if (!parseEndpoint(s))
        throw new PathsError('PATHS_OPTION_INVALID', `STUN server must be "ip:port": ${s}`);
      return normalizeEndpoint(s);
    });
  }

  #byTxid(id: Uint8Array): Transaction | undefined {
    const k = toHex(id);
    for (const t of this.#tx.values()) if (toHex(t.txid) === k) return t;
    return undefined;
  }

  #begin(server: string): Transaction {
    const txid = this.#o.txid();
    const request = bindingRequest(
      txid,
      this.#o.software === undefined ? {} : { software: this.#o.software },
    );
    const now = this.#o.clock.now();
    const t: Transaction = { server, txid, request, sent: 0, lastSentAt: now, nextAt: now, waiters: [] };
    this.#tx.set(server, t);
    this.#send(t, now);
    return t;
  }

  #send(t: Transaction, now: number): void {
    if (t.sent > 0) this.stats.retransmissions++;
    t.sent++;
    t.lastSentAt = now;
    this.stats.requestsSent++;
    const rto = this.#o.rtoMs;
    // waits: RTO, 2·RTO, 4·RTO, …; after the Rc-th request, Rm·RTO.
    t.nextAt = now + (t.sent >= this.#o.maxRequests ? this.#o.lastWaitRtos * rto : rto * 2 ** (t.sent - 1));
    this.#o.send(t.request, t.server);
  }

  #finish(t: Transaction, err: Error | undefined, result?: StunResult): void {
    if (this.#tx.get(t.server) === t) this.#tx.delete(t.server);
    for (const w of t.waiters) {
      if (err) w.reject(err);
      else w.resolve(result!);
    }
    t.waiters = [];
    this.#arm();
  }

  #tick(): void {
    if (this.#stopped) return;
    const now = this.#o.clock.now();
    for (const t of [...this.#tx.values()]) {
      if (now < t.nextAt) continue;
      if (t.sent >= this.#o.maxRequests) {
        this.stats.timeouts++;
        this.#results.delete(t.server);
        this.#finish(
          t,
          new PathsError('PATHS_STUN_TIMEOUT', `no STUN answer from ${t.server}`, { retryable: true }),
        );
        this.#emitIfChanged();
      } else this.#send(t, now);
    }
    if (this.#roundAt !== undefined && now >= this.#roundAt) {
      this.#roundAt = now + this.#o.intervalMs;
      for (const s of this.#servers) if (!this.#tx.has(s)) this.#begin(s);
    }
    this.#arm();
  }

  #arm(): void {
    if (this.#stopped) return;
    let at = this.#roundAt ?? Infinity;
    for (const t of this.#tx.values()) at = Math.min(at, t.nextAt);
    this.#wake.arm(at === Infinity ? undefined : at);
  }

  #emitIfChanged(): void {
    const next = [...new Set([...this.#results.values()].map((r) => r.mapped))].sort();
    if (next.length === this.#mapped.length && next.every((e, i) => e === this.#mapped[i])) return;
    this.#mapped = next;
    this.#o.onChange?.(this.mapped());
  }
}

function endpointOf(a: StunAddress): string {
  return formatEndpoint({ address: a.address, port: a.port });
}
