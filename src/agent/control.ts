// The agent's side of the agent channel (DESIGN.md §5): keeps one ControlClient connected to one
// of the coordinators, reconnecting with backoff on the Clock, and holds the last netmap (the node
// keeps working on it while no coordinator answers).
//
//   IDLE --start--> CONNECTING --welcome--> CONNECTED --close--> BACKOFF --timer--> CONNECTING
//                       └──── error/refused ───────────────────────┘
//   any --stop--> STOPPED
//
// Several coordinator URLs (coordinators sharing one PostgreSQL): the first one tried is picked from
// the node key, so a fleet spreads over the list; after that the agent stays where it is connected
// and moves to the next URL in the list on every failed attempt or lost channel. Backoff grows per
// round through the list: after f consecutive failures on n URLs the wait is uniform [d/2, d],
// d = min(30 s, 500 ms × 2^(r-1)), r = ⌊f/n⌋ + 1 — every URL is tried at the base pace before the
// wait grows. A coordinator that shuts down cleanly closes the channel with 1012 (service restart):
// the agent moves to the next URL after a random wait in [0, drainSpreadMs), not a backoff.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { Timer, type Clock } from '../clock/index.ts';
import type { PrivateKey, PublicKey } from '../crypto/index.ts';
import { ChannelRefusedError, ControlClient } from '../control/client.ts';
import {
  DRAIN_CLOSE_CODE,
  type AgentMessage,
  type Hello,
  type Netmap,
  type Welcome,
} from '../proto/control/index.ts';
import { backoffDelay } from '../paths/index.ts';

export type ControlState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'stopped';

export interface ControlLoopOptions {
  clock: Clock;
  /** The coordinators' URLs, tried as described above (at least one). */
  urls: readonly string[];
  coordinatorKey: PublicKey;
  nodeKey: PrivateKey;
  hello(): Hello;
  ca?: string;
  logger: Logger;
  backoff?: { initialMs?: number; maxMs?: number };
  /** Ping interval while connected, ms; default 20000. */
  pingMs?: number;
  /** Give up on a coordinator that does not answer the hello this long, ms; default 15000. */
  welcomeTimeoutMs?: number;
  /** After a coordinator drains (close 1012), reconnect within this spread, ms; default 1000. */
  drainSpreadMs?: number;
  /** Random source in [0, 1) for the backoff and drain spread; default Math.random. */
  random?: () => number;
}

/** Where in `n` URLs a node starts: from its key's first bytes, so a fleet spreads evenly. */
export function startIndex(nodePublicKey: Uint8Array, n: number): number {
  if (n <= 1) return 0;
  return (((nodePublicKey[0] ?? 0) << 8) | (nodePublicKey[1] ?? 0)) % n;
}

/**
 * Events: 'netmap' (Netmap) after every full map or delta; 'state' (ControlState);
 * 'welcome' (Welcome); 'refused' (ChannelRefusedError); 'message' (ServerMessage).
 */
export class ControlLoop extends EventEmitter {
  readonly #o: ControlLoopOptions;
  #client: ControlClient | undefined;
  #state: ControlState = 'idle';
  /** Consecutive failed attempts (connect failures and lost channels), reset on welcome. */
  #failures = 0;
  /** Index into urls of the coordinator being tried or connected. */
  #index: number;
  #abort: AbortController | undefined;
  readonly #retry: Timer;
  readonly #ping: Timer;
  netmap: Netmap | undefined;
  welcome: Welcome | undefined;
  connects = 0;
  lastError: string | undefined;

  constructor(o: ControlLoopOptions) {
    super();
    if (o.urls.length === 0) throw new TypeError('ControlLoop: at least one coordinator URL');
    this.#o = o;
    this.#index = startIndex(o.nodeKey.publicKey.bytes, o.urls.length);
    this.#retry = new Timer(o.clock, () => this.#connect());
    this.#ping = new Timer(o.clock, () => {
      if (this.#client?.open) this.#client.send({ type: 'ping' });
      this.#ping.mod(this.#o.pingMs ?? 20_000);
    });
  }

  get state(): ControlState {
    return this.#state;
  }

  /** The coordinator URL being tried or connected. */
  get url(): string {
    return this.#o.urls[this.#index]!;
  }

  start(): void {
    if (this.#state !== 'idle') return;
    this.#connect();
  }

  /** Sends a message if connected; false otherwise. */
  send(m: AgentMessage): boolean {
    if (!this.#client?.open) return false;
    this.#client.send(m);
    return true;
  }

  stop(): void {
    this.#set('stopped');
    this.#retry.del();
    this.#ping.del();
    this.#abort?.abort();
    this.#client?.close();
    this.#client = undefined;
  }

  #set(s: ControlState): void {
    if (this.#state === s) return;
    this.#state = s;
    this.emit('state', s);
  }

  #connect(): void {
    if (this.#state === 'stopped') return;
    this.#set('connecting');
    const abort = (this.#abort = new AbortController());
    ControlClient.connect({
      url: this.url,
      coordinatorKey: this.#o.coordinatorKey,
      nodeKey: this.#o.nodeKey,
      hello: this.#o.hello(),
      ...(this.#o.ca ? { ca: this.#o.ca } : {}),
      ...(this.#o.welcomeTimeoutMs ? { welcomeTimeoutMs: this.#o.welcomeTimeoutMs } : {}),
      signal: abort.signal,
    }).then(
      (c) => this.#connected(c),
      (e: Error) => this.#failed(e),
    );
  }

  #connected(c: ControlClient): void {
    if (this.#state === 'stopped') return c.close();
    this.#client = c;
    this.#failures = 0;
    this.connects++;
    this.welcome = c.welcome;
    this.#o.logger.info(
      { name: c.welcome.name, kind: c.welcome.kind, coordinator: this.url },
      'agent channel connected',
    );
    this.#set('connected');
    this.emit('welcome', c.welcome);
    c.on('netmap', (nm: Netmap) => {
      this.netmap = nm;
      this.emit('netmap', nm);
    });
    c.on('message', (m) => this.emit('message', m));
    c.on('close', (code: number, reason: string) => {
      if (this.#client !== c) return;
      this.#client = undefined;
      this.#ping.del();
      this.lastError = `closed ${code} ${reason}`;
      this.#o.logger.warn({ code, reason, coordinator: this.url }, 'agent channel closed');
      this.#next();
      if (code === DRAIN_CLOSE_CODE) {
        // The coordinator is shutting down and asked us to move: no backoff, only a spread.
        this.#set('backoff');
        this.#retry.mod(Math.floor(this.#random() * (this.#o.drainSpreadMs ?? 1000)));
        return;
      }
      this.#failures++;
      this.#backoff();
    });
    this.#ping.mod(this.#o.pingMs ?? 20_000);
  }

  #failed(e: Error): void {
    if (this.#state === 'stopped') return;
    this.lastError = `${this.url}: ${e.message}`;
    if (e instanceof ChannelRefusedError) {
      this.#o.logger.error({ refusal: e.refusal }, `coordinator refused this node: ${e.message}`);
      this.emit('refused', e);
    } else
      this.#o.logger.warn(
        { err: e.message, coordinator: this.url, failures: this.#failures + 1 },
        'agent channel connect failed',
      );
    this.#failures++;
    this.#next();
    this.#backoff();
  }

  #random(): number {
    return (this.#o.random ?? Math.random)();
  }

  /** On to the next coordinator URL in the list. */
  #next(): void {
    this.#index = (this.#index + 1) % this.#o.urls.length;
  }

  /** Waits before the next attempt; the wait grows per round through the list. */
  #backoff(): void {
    if (this.#state === 'stopped') return;
    this.#set('backoff');
    const b = this.#o.backoff ?? {};
    const round = Math.floor(Math.max(0, this.#failures - 1) / this.#o.urls.length) + 1;
    this.#retry.mod(backoffDelay(round, b.initialMs ?? 500, b.maxMs ?? 30_000, () => this.#random()));
  }
}
