// The relay client (DESIGN.md §4 "Relay"): one TLS connection to a relay, upgraded to relay
// frames, admitted with a fresh relay token and a proof of possession of the node key; it sends
// packets to node keys and hands received ones to `onPacket`. It reconnects on its own.
//
//   IDLE --start()--> CONNECTING --SERVER_INFO--> CONNECTED
//                      ^     |  (refused, error,        | (socket closed, dead, HEALTH+close)
//                      |     v   connect timeout)        v
//                      +--- BACKOFF <--------------------+
//   any --stop() / signal--> STOPPED (final)
//
// Backoff: attempt n waits a uniformly random time in [d/2, d], d = min(maxMs, initialMs × 2^(n-1))
// ("equal jitter"); n returns to 1 once a connection is admitted. Every connect asks getToken()
// for a token, so a refreshed netmap token is used at once.
// Liveness: the relay sends KEEPALIVE when it has nothing else to send, every keepAliveMs (it says
// how often in SERVER_INFO); the client sends PING when it has sent nothing for that long (the
// relay drops silent clients), and gives the connection up after 2.5 × keepAliveMs of silence.
// Sending: send() queues a SEND_PACKET frame (bounded; false when full, counted); frames go out in
// batches of up to 64 KiB per write, and not at all while the socket asks to wait ('drain').
// Latency: once admitted, and every probeMs after, the client sends a PING with fresh data and
// times the PONG that echoes it. `rttMs` is the least of the last 5 samples — a PING queued behind a
// bulk transfer measures the queue, not the distance — in the stats and to onRtt (the agent picks
// its home relay by it: paths/home.ts). A connection lost forgets it.
import { request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { pino, type Logger } from 'pino';
import { Timer, type Clock } from '../clock/index.ts';
import { PublicKey, randomBytes, type PrivateKey } from '../crypto/index.ts';
import {
  clientProof,
  encodeFrame,
  FrameDecoder,
  MAX_PACKET_LEN,
  CLIENT_VERSION_PEER_BUSY,
  PROTOCOL_VERSION,
  type Frame,
} from '../proto/relay/index.ts';
import { equalBytes, SallyportError } from '../util/index.ts';

export type RelayClientState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'stopped';

export interface RelayClientOptions {
  clock: Clock;
  /** The relay, `https://HOST:PORT` (path defaults to /relay). */
  url: string;
  /** PEM certificate(s) to trust for the relay's TLS; default: the system's roots. */
  ca?: string;
  /** TLS server name to verify, when it differs from the URL's host. */
  servername?: string;
  /** When set, the relay's X25519 key must be this one (from the netmap). */
  serverKey?: PublicKey;
  privateKey: PrivateKey;
  /** A current relay token for this node and the relay's region; called before every connect. */
  getToken(): Promise<Uint8Array>;
  /** A packet from `src`. `packet` may share memory with a socket chunk: copy it to keep it long. */
  onPacket(src: PublicKey, packet: Uint8Array): void;
  /** The relay says `peer` is not connected to it (reason: PEER_GONE_*). */
  onPeerGone?(peer: PublicKey, reason: number): void;
  onStateChange?(state: RelayClientState): void;
  /** A new round-trip time to the relay (the least of the last 5 samples), ms. */
  onRtt?(rttMs: number): void;
  /** How often the round-trip time is measured while connected, ms; default 10000. */
  probeMs?: number;
  /**
   * The queue was backlogged (see `backlogged`) and has drained to a quarter of its bounds, or a
   * peer the relay said was busy (PEER_BUSY) is no longer: a sender that held back may go on.
   */
  onDrain?(): void;
  /** The relay said its queue towards `peer` is half full (PEER_BUSY): a congestion signal. */
  onPeerBusy?(peer: PublicKey): void;
  queue?: {
    /** Packets waiting to be written at most; default 512. */
    maxPackets?: number;
    /** Bytes waiting at most; default 1 MiB. */
    maxBytes?: number;
  };
  backoff?: {
    /** Default 250 ms. */
    initialMs?: number;
    /** Default 30000 ms. */
    maxMs?: number;
  };
  /** Give up a connect attempt (TLS, upgrade, admission) after this long; default 10000 ms. */
  connectTimeoutMs?: number;
  /** Uniform [0, 1) source for the jitter; default Math.random. */
  random?: () => number;
  logger?: Logger;
}

/**
 * A relay client failure. Codes: `RELAY_CLIENT_REFUSED` (the relay sent HEALTH before admitting
 * us), `RELAY_CLIENT_PROTOCOL`, `RELAY_CLIENT_HTTP` (no 101), `RELAY_CLIENT_TIMEOUT`,
 * `RELAY_CLIENT_SERVER_KEY` (not the pinned key, or a low-order one), `RELAY_CLIENT_TOKEN`
 * (getToken failed), `RELAY_CLIENT_STOPPED`, `RELAY_CLIENT_INVALID_OPTIONS`, `RELAY_CLIENT_CLOSED`.
 */
export class RelayClientError extends SallyportError {}

export interface RelayClientStats {
  state: RelayClientState;
  connectAttempts: number;
  admissions: number;
  refusals: number;
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  peerGone: number;
  /** PEER_BUSY notices (the relay's queue towards a peer was half full). */
  peerBusy: number;
  drops: { queue_full: number; too_large: number; stopped: number };
  queued: number;
  queuedBytes: number;
  /** Round-trip time while connected (least of the last 5 samples), ms; undefined before a PONG. */
  rttMs?: number;
  lastError?: string;
}

/** The wait before reconnect attempt `n` (1-based): uniform in [d/2, d], d = min(max, initial·2^(n-1)). */
export function backoffDelay(n: number, initialMs: number, maxMs: number, random: () => number): number {
  const d = Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(n - 1, 0), 30));
  return d / 2 + random() * (d / 2);
}

const BATCH_BYTES = 64 * 1024;
/** Round-trip samples kept; the least of them is the relay's latency. */
const RTT_SAMPLES = 5;
/** Largest HEALTH text kept for stats. */
const LAST_ERROR_LEN = 200;
/** Busy peers remembered at most (a relay cannot make a client hold an unbounded set). */
const MAX_BUSY = 4096;

/** One connection attempt and, once admitted, the live connection. */
interface Link {
  socket: Socket | undefined;
  req: ReturnType<typeof request> | undefined;
  decoder: FrameDecoder;
  token: Uint8Array | undefined;
  admitted: boolean;
  keepAliveMs: number;
  lastRecv: number;
  lastSend: number;
  blocked: boolean;
  closed: boolean;
  /** The outstanding latency probe: its PING data and when it was sent. */
  probe?: { data: Uint8Array; at: number };
}

export class RelayClient {
  readonly #o: RelayClientOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #url: URL;
  readonly #maxPackets: number;
  readonly #maxBytes: number;
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #connectTimeoutMs: number;
  #state: RelayClientState = 'idle';
  #link: Link | undefined;
  #attempt = 0;
  /** Reconnect wait, connect timeout, and the keepalive tick: one timer, one role at a time. */
  readonly #timer: Timer;
  #timerRole: 'reconnect' | 'timeout' | 'tick' | undefined;
  /** Latency probes while connected. */
  readonly #probeTimer: Timer;
  readonly #probeMs: number;
  #rttSamples: number[] = [];
  #queue: Uint8Array[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  /** `backlogged` answered true since the last onDrain. */
  #backlogSeen = false;
  /** Peers whose queue at the relay is half full (PEER_BUSY), by base64 key. */
  readonly #busy = new Set<string>();
  /** CLIENT_INFO's version: PEER_BUSY unless a relay refused it (then the base protocol). */
  #clientVersion = CLIENT_VERSION_PEER_BUSY;
  #flushScheduled = false;
  #lastSrc: PublicKey | undefined;
  #signal: AbortSignal | undefined;
  #waiters: { resolve(): void; reject(e: Error): void }[] = [];
  #closedPromise: Promise<void> | undefined;
  readonly #stats: Omit<RelayClientStats, 'state' | 'queued' | 'queuedBytes'> = {
    connectAttempts: 0,
    admissions: 0,
    refusals: 0,
    packetsSent: 0,
    bytesSent: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    peerGone: 0,
    peerBusy: 0,
    drops: { queue_full: 0, too_large: 0, stopped: 0 },
  };
  #onAbort = (): void => void this.stop();

  constructor(opts: RelayClientOptions) {
    const bad = (m: string) => new RelayClientError('RELAY_CLIENT_INVALID_OPTIONS', m);
    if (
      !opts?.clock ||
      !opts.privateKey ||
      typeof opts.getToken !== 'function' ||
      typeof opts.onPacket !== 'function'
    )
      throw bad('clock, privateKey, getToken and onPacket are required');
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch (cause) {
      throw new RelayClientError('RELAY_CLIENT_INVALID_OPTIONS', `bad relay url ${opts.url}`, { cause });
    }
    if (url.protocol !== 'https:') throw bad(`relay url must be https:, got ${url.protocol}`);
    if (url.pathname === '/' || url.pathname === '') url.pathname = '/relay';
    const pos = (name: string, v: number | undefined, d: number) => {
      const x = v ?? d;
      if (!Number.isFinite(x) || x < 1) throw bad(`${name} must be ≥ 1`);
      return x;
    };
    this.#o = opts;
    this.#clock = opts.clock;
    this.#url = url;
    this.#maxPackets = pos('queue.maxPackets', opts.queue?.maxPackets, 512);
    this.#maxBytes = pos('queue.maxBytes', opts.queue?.maxBytes, 1 << 20);
    this.#initialMs = pos('backoff.initialMs', opts.backoff?.initialMs, 250);
    this.#maxMs = Math.max(this.#initialMs, pos('backoff.maxMs', opts.backoff?.maxMs, 30_000));
    this.#connectTimeoutMs = pos('connectTimeoutMs', opts.connectTimeoutMs, 10_000);
    this.#log = (opts.logger ?? pino({ level: 'silent' })).child({
      component: 'relay-client',
      relay: url.host,
      node: opts.privateKey.publicKey.fingerprint(),
    });
    this.#timer = new Timer(this.#clock, () => this.#onTimer());
    this.#probeMs = pos('probeMs', opts.probeMs, 10_000);
    this.#probeTimer = new Timer(this.#clock, () => this.#probe());
  }

  /** Sends a latency probe (a PING with fresh data) and arms the next one. */
  #probe(): void {
    const link = this.#link;
    if (!link?.admitted || link.closed) return;
    const data = randomBytes(8);
    link.probe = { data, at: this.#clock.now() };
    this.#write(link, encodeFrame({ type: 'ping', data }));
    this.#probeTimer.mod(this.#probeMs);
  }

  #onPong(link: Link, data: Uint8Array): void {
    const p = link.probe;
    if (!p || !equalBytes(p.data, data)) return;
    link.probe = undefined;
    this.#rttSamples.push(Math.max(0, this.#clock.now() - p.at));
    if (this.#rttSamples.length > RTT_SAMPLES) this.#rttSamples.shift();
    this.#o.onRtt?.(this.#rtt()!);
  }

  #rtt(): number | undefined {
    return this.#rttSamples.length ? Math.min(...this.#rttSamples) : undefined;
  }

  get state(): RelayClientState {
    return this.#state;
  }
  get publicKey(): PublicKey {
    return this.#o.privateKey.publicKey;
  }

  stats(): RelayClientStats {
    return {
      ...this.#stats,
      drops: { ...this.#stats.drops },
      state: this.#state,
      queued: this.#queue.length - this.#queueHead,
      queuedBytes: this.#queuedBytes,
      ...(this.#rttSamples.length ? { rttMs: Math.round(this.#rtt()! * 10) / 10 } : {}),
    };
  }

  /** Starts connecting (and reconnecting) in the background; `signal` stops the client. */
  start(opts: { signal?: AbortSignal } = {}): void {
    if (this.#state !== 'idle')
      throw new RelayClientError('RELAY_CLIENT_STOPPED', `start() when ${this.#state}`);
    if (opts.signal?.aborted) {
      this.#setState('stopped');
      return;
    }
    if (opts.signal) {
      this.#signal = opts.signal;
      opts.signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    this.#connect();
  }

  /** Resolves when the client is (or next becomes) admitted; rejects on stop() or `signal`. */
  whenConnected(opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#state === 'connected') return Promise.resolve();
    if (this.#state === 'stopped')
      return Promise.reject(new RelayClientError('RELAY_CLIENT_STOPPED', 'stopped'));
    return new Promise((resolve, reject) => {
      const signal = opts.signal;
      const w = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (e: Error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        reject(new RelayClientError('RELAY_CLIENT_STOPPED', 'aborted', { cause: signal?.reason }));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(w);
    });
  }

  /**
   * True while the queue holds half its bounds or more: a sender with its own congestion control
   * (the stream layer) should hold back new data until onDrain, instead of filling the queue to
   * the point where send() drops (a loss it would then have to recover from).
   */
  get backlogged(): boolean {
    const n = this.#queue.length - this.#queueHead;
    const full = 2 * this.#queuedBytes >= this.#maxBytes || 2 * n >= this.#maxPackets;
    if (full) this.#backlogSeen = true;
    return full;
  }

  /** True while the relay says its queue towards `dst` is half full (PEER_BUSY): hold back. */
  peerBusy(dst: PublicKey): boolean {
    return this.#busy.size > 0 && this.#busy.has(dst.base64());
  }

  /**
   * Queues `packet` for `dst`. False when it cannot be queued (queue full, packet over 64 KiB,
   * or stopped), counted in stats().drops. Packets queued while disconnected go out on reconnect.
   */
  send(dst: PublicKey, packet: Uint8Array): boolean {
    if (this.#state === 'stopped') {
      this.#stats.drops.stopped++;
      return false;
    }
    if (packet.length > MAX_PACKET_LEN) {
      this.#stats.drops.too_large++;
      return false;
    }
    const size = packet.length + 37;
    const n = this.#queue.length - this.#queueHead;
    if (n >= this.#maxPackets || (n > 0 && this.#queuedBytes + size > this.#maxBytes)) {
      this.#stats.drops.queue_full++;
      return false;
    }
    this.#queue.push(encodeFrame({ type: 'send-packet', dst: dst.bytes, packet }));
    this.#queuedBytes += size;
    this.#stats.packetsSent++;
    this.#stats.bytesSent += packet.length;
    if (!this.#flushScheduled && this.#link?.admitted) {
      this.#flushScheduled = true;
      queueMicrotask(() => {
        this.#flushScheduled = false;
        this.#flush();
      });
    }
    return true;
  }

  /** Stops for good: closes the connection, drops the queue; resolves once the socket is closed. */
  stop(): Promise<void> {
    if (this.#state !== 'stopped') {
      this.#signal?.removeEventListener('abort', this.#onAbort);
      this.#signal = undefined;
      this.#timer.del();
      this.#probeTimer.del();
      this.#rttSamples = [];
      this.#timerRole = undefined;
      this.#closedPromise = this.#drop(this.#link);
      this.#link = undefined;
      this.#queue = [];
      this.#queueHead = 0;
      this.#queuedBytes = 0;
      this.#setState('stopped');
      const err = new RelayClientError('RELAY_CLIENT_STOPPED', 'relay client stopped');
      for (const w of this.#waiters.splice(0)) w.reject(err);
    }
    return this.#closedPromise ?? Promise.resolve();
  }

  // --- connecting ------------------------------------------------------------------------------

  #setState(s: RelayClientState): void {
    if (this.#state === s) return;
    this.#state = s;
    this.#o.onStateChange?.(s);
    if (s === 'connected') for (const w of this.#waiters.splice(0)) w.resolve();
  }

  #arm(role: 'reconnect' | 'timeout' | 'tick', ms: number): void {
    this.#timerRole = role;
    this.#timer.mod(ms);
  }

  #onTimer(): void {
    const role = this.#timerRole;
    this.#timerRole = undefined;
    if (role === 'reconnect') this.#connect();
    else if (role === 'timeout')
      this.#fail(new RelayClientError('RELAY_CLIENT_TIMEOUT', 'connect timed out'));
    else if (role === 'tick') this.#tick();
  }

  #connect(): void {
    if (this.#state === 'stopped') return;
    this.#setState('connecting');
    this.#stats.connectAttempts++;
    const link: Link = {
      socket: undefined,
      req: undefined,
      decoder: new FrameDecoder(),
      token: undefined,
      admitted: false,
      keepAliveMs: 0,
      lastRecv: this.#clock.now(),
      lastSend: this.#clock.now(),
      blocked: false,
      closed: false,
    };
    this.#link = link;
    this.#arm('timeout', this.#connectTimeoutMs);
    this.#o.getToken().then(
      (token) => {
        if (this.#link !== link) return;
        link.token = token;
        this.#dial(link);
      },
      (e) => {
        if (this.#link !== link) return;
        this.#fail(
          new RelayClientError('RELAY_CLIENT_TOKEN', `no relay token: ${(e as Error)?.message}`, {
            cause: e,
          }),
        );
      },
    );
  }

  #dial(link: Link): void {
    const u = this.#url;
    const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    const req = request({
      host,
      port: u.port === '' ? 443 : Number(u.port),
      path: u.pathname + u.search,
      method: 'GET',
      headers: { connection: 'Upgrade', upgrade: 'sallyport-relay' },
      ca: this.#o.ca,
      servername: this.#o.servername,
      agent: false,
    });
    link.req = req;
    req.on('error', (e) => {
      if (this.#link === link) this.#fail(e);
    });
    req.on('response', (res: IncomingMessage) => {
      res.resume();
      if (this.#link === link)
        this.#fail(
          new RelayClientError('RELAY_CLIENT_HTTP', `relay answered HTTP ${res.statusCode}, not 101`),
        );
    });
    req.on('upgrade', (_res: IncomingMessage, socket: Socket, head: Buffer) => {
      if (this.#link !== link) return void socket.destroy();
      link.socket = socket;
      socket.setNoDelay(true);
      socket.on('data', (chunk: Buffer) => this.#onData(link, chunk));
      socket.on('drain', () => {
        link.blocked = false;
        this.#flush();
      });
      socket.on('error', (e) => {
        if (this.#link === link) this.#fail(e);
      });
      socket.on('close', () => {
        link.closed = true;
        if (this.#link === link)
          this.#fail(new RelayClientError('RELAY_CLIENT_CLOSED', 'relay closed the connection'));
      });
      if (head.length > 0) this.#onData(link, head);
    });
    req.end();
  }

  #onData(link: Link, chunk: Buffer): void {
    if (this.#link !== link) return;
    link.lastRecv = this.#clock.now();
    try {
      link.decoder.push(chunk, (f) => this.#onFrame(link, f));
    } catch (e) {
      if (this.#link !== link) return;
      const err =
        e instanceof RelayClientError
          ? e
          : new RelayClientError('RELAY_CLIENT_PROTOCOL', `bad frame from relay: ${(e as Error).message}`, {
              cause: e,
            });
      this.#fail(err);
    }
  }

  #onFrame(link: Link, f: Frame): void {
    if (this.#link !== link) return;
    if (!link.admitted) return this.#onAdmissionFrame(link, f);
    switch (f.type) {
      case 'recv-packet': {
        const last = this.#lastSrc;
        const src =
          last && equalBytes(last.bytes, f.src) ? last : (this.#lastSrc = PublicKey.fromBytes(f.src));
        this.#stats.packetsReceived++;
        this.#stats.bytesReceived += f.packet.length;
        try {
          this.#o.onPacket(src, f.packet);
        } catch (e) {
          // A handler bug must not cost the connection (and every other peer's packets).
          this.#log.error({ err: e }, 'onPacket threw');
        }
        return;
      }
      case 'ping':
        return this.#write(link, encodeFrame({ type: 'pong', data: f.data }));
      case 'peer-gone':
        this.#stats.peerGone++;
        this.#unbusy(Buffer.from(f.peer).toString('base64'));
        return this.#o.onPeerGone?.(PublicKey.fromBytes(f.peer), f.reason);
      case 'peer-busy': {
        const k = Buffer.from(f.peer).toString('base64');
        if (!f.busy) return this.#unbusy(k);
        this.#stats.peerBusy++;
        if (this.#busy.size < MAX_BUSY) this.#busy.add(k);
        return this.#o.onPeerBusy?.(PublicKey.fromBytes(f.peer));
      }
      case 'health':
        this.#stats.lastError = f.message.slice(0, LAST_ERROR_LEN) || undefined;
        if (f.message) this.#log.info({ health: f.message.slice(0, LAST_ERROR_LEN) }, 'relay health');
        return;
      case 'pong':
        return this.#onPong(link, f.data);
      case 'keepalive':
        return;
      default:
        throw new RelayClientError('RELAY_CLIENT_PROTOCOL', `unexpected ${f.type} frame from the relay`);
    }
  }

  #onAdmissionFrame(link: Link, f: Frame): void {
    if (f.type === 'server-key' && link.token) {
      if (f.version !== PROTOCOL_VERSION)
        throw new RelayClientError('RELAY_CLIENT_PROTOCOL', `relay speaks version ${f.version}`);
      const server = PublicKey.fromBytes(f.serverKey);
      if (this.#o.serverKey && !this.#o.serverKey.equals(server))
        throw new RelayClientError(
          'RELAY_CLIENT_SERVER_KEY',
          `relay key ${server.fingerprint()} is not the expected one`,
        );
      const proof = clientProof(this.#o.privateKey, server, f.challenge, link.token);
      if (!proof) throw new RelayClientError('RELAY_CLIENT_SERVER_KEY', 'relay key is a low-order point');
      const info = encodeFrame({
        type: 'client-info',
        version: this.#clientVersion,
        clientKey: this.#o.privateKey.publicKey.bytes,
        proof,
        token: link.token,
      });
      link.token = undefined;
      this.#write(link, info);
    } else if (f.type === 'server-info') {
      link.admitted = true;
      // a new connection: what the last one said about busy peers no longer holds
      if (this.#busy.size > 0) {
        this.#busy.clear();
        this.#drained();
      }
      link.keepAliveMs = Math.max(100, f.keepAliveMs);
      this.#attempt = 0;
      this.#stats.admissions++;
      this.#log.debug({ keepAliveMs: f.keepAliveMs }, 'admitted by relay');
      this.#arm('tick', link.keepAliveMs / 2);
      this.#setState('connected');
      this.#flush();
      this.#probe();
    } else if (f.type === 'health') {
      this.#stats.refusals++;
      // A relay that speaks only the base protocol: the next attempt does not offer PEER_BUSY.
      if (this.#clientVersion !== PROTOCOL_VERSION && /protocol version/.test(f.message))
        this.#clientVersion = PROTOCOL_VERSION;
      throw new RelayClientError(
        'RELAY_CLIENT_REFUSED',
        `relay refused: ${f.message.slice(0, LAST_ERROR_LEN)}`,
      );
    } else throw new RelayClientError('RELAY_CLIENT_PROTOCOL', `unexpected ${f.type} frame before admission`);
  }

  /** Liveness, every keepAliveMs / 2 while connected. */
  #tick(): void {
    const link = this.#link;
    if (!link?.admitted) return;
    const now = this.#clock.now();
    if (now - link.lastRecv > 2.5 * link.keepAliveMs)
      return this.#fail(new RelayClientError('RELAY_CLIENT_TIMEOUT', 'relay went silent'));
    if (now - link.lastSend >= link.keepAliveMs)
      this.#write(link, encodeFrame({ type: 'ping', data: randomBytes(8) }));
    this.#arm('tick', link.keepAliveMs / 2);
  }

  /** The current attempt or connection failed: drop it and schedule the next attempt. */
  #fail(e: unknown): void {
    if (this.#state === 'stopped') return;
    const link = this.#link;
    this.#link = undefined;
    this.#probeTimer.del();
    this.#rttSamples = [];
    void this.#drop(link);
    const msg = e instanceof Error ? e.message : String(e);
    this.#stats.lastError = msg.slice(0, LAST_ERROR_LEN);
    this.#attempt++;
    const wait = backoffDelay(this.#attempt, this.#initialMs, this.#maxMs, this.#o.random ?? Math.random);
    this.#log.info(
      { err: msg, code: (e as { code?: string })?.code, retryInMs: Math.round(wait) },
      'relay connection lost',
    );
    this.#setState('backoff');
    this.#arm('reconnect', wait);
  }

  /** Closes a link's socket or request; resolves when the socket has closed. */
  #drop(link: Link | undefined): Promise<void> {
    if (!link) return Promise.resolve();
    link.req?.destroy();
    const s = link.socket;
    if (!s || link.closed) return Promise.resolve();
    return new Promise((resolve) => {
      s.once('close', () => resolve());
      s.destroy();
    });
  }

  // --- writing ---------------------------------------------------------------------------------

  #write(link: Link, frame: Uint8Array): void {
    if (!link.socket || link.closed) return;
    link.lastSend = this.#clock.now();
    if (!link.socket.write(frame)) link.blocked = true;
  }

  #flush(): void {
    const link = this.#link;
    if (!link?.admitted || link.blocked || !link.socket || link.closed) return;
    while (this.#queueHead < this.#queue.length) {
      const parts: Uint8Array[] = [];
      let n = 0;
      while (this.#queueHead < this.#queue.length) {
        const f = this.#queue[this.#queueHead];
        if (parts.length > 0 && n + f.length > BATCH_BYTES) break;
        parts.push(f);
        n += f.length;
        this.#queueHead++;
      }
      this.#queuedBytes -= n;
      const buf = parts.length === 1 ? parts[0] : Buffer.concat(parts, n);
      if (this.#queueHead === this.#queue.length) {
        this.#queue = [];
        this.#queueHead = 0;
      } else if (this.#queueHead >= 1024) {
        this.#queue = this.#queue.slice(this.#queueHead);
        this.#queueHead = 0;
      }
      this.#write(link, buf);
      if (link.blocked) break;
    }
    this.#maybeDrained();
  }

  #maybeDrained(): void {
    if (!this.#backlogSeen) return;
    const n = this.#queue.length - this.#queueHead;
    if (4 * this.#queuedBytes > this.#maxBytes || 4 * n > this.#maxPackets) return;
    this.#backlogSeen = false;
    this.#drained();
  }

  #unbusy(key: string): void {
    if (this.#busy.delete(key)) this.#drained();
  }

  #drained(): void {
    try {
      this.#o.onDrain?.();
    } catch (e) {
      this.#log.error({ err: e }, 'onDrain threw');
    }
  }
}
