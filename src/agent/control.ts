// The agent's side of the agent channel (DESIGN.md §5): keeps one ControlClient connected to the
// coordinator, reconnecting with backoff on the Clock, and holds the last netmap (the node keeps
// working on it while the coordinator is away).
//
//   IDLE --start--> CONNECTING --welcome--> CONNECTED --close--> BACKOFF --timer--> CONNECTING
//                       └──── error/refused ───────────────────────┘
//   any --stop--> STOPPED
// Backoff: attempt n waits uniform [d/2, d], d = min(30 s, 500 ms × 2^(n-1)); reset on welcome.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { Timer, type Clock } from '../clock/index.ts';
import type { PrivateKey, PublicKey } from '../crypto/index.ts';
import { ChannelRefusedError, ControlClient } from '../control/client.ts';
import type { AgentMessage, Hello, Netmap, Welcome } from '../proto/control/index.ts';
import { backoffDelay } from '../paths/index.ts';

export type ControlState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'stopped';

export interface ControlLoopOptions {
  clock: Clock;
  url: string;
  coordinatorKey: PublicKey;
  nodeKey: PrivateKey;
  hello(): Hello;
  ca?: string;
  logger: Logger;
  backoff?: { initialMs?: number; maxMs?: number };
  /** Ping interval while connected, ms; default 20000. */
  pingMs?: number;
}

/**
 * Events: 'netmap' (Netmap) after every full map or delta; 'state' (ControlState);
 * 'welcome' (Welcome); 'refused' (ChannelRefusedError); 'message' (ServerMessage).
 */
export class ControlLoop extends EventEmitter {
  readonly #o: ControlLoopOptions;
  #client: ControlClient | undefined;
  #state: ControlState = 'idle';
  #attempt = 0;
  #abort: AbortController | undefined;
  readonly #retry: Timer;
  readonly #ping: Timer;
  netmap: Netmap | undefined;
  welcome: Welcome | undefined;
  connects = 0;
  lastError: string | undefined;

  constructor(o: ControlLoopOptions) {
    super();
    this.#o = o;
    this.#retry = new Timer(o.clock, () => this.#connect());
    this.#ping = new Timer(o.clock, () => {
      if (this.#client?.open) this.#client.send({ type: 'ping' });
      this.#ping.mod(this.#o.pingMs ?? 20_000);
    });
  }

  get state(): ControlState {
    return this.#state;
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
    this.#attempt++;
    const abort = (this.#abort = new AbortController());
    ControlClient.connect({
      url: this.#o.url,
      coordinatorKey: this.#o.coordinatorKey,
      nodeKey: this.#o.nodeKey,
      hello: this.#o.hello(),
      ...(this.#o.ca ? { ca: this.#o.ca } : {}),
      signal: abort.signal,
    }).then(
      (c) => this.#connected(c),
      (e: Error) => this.#failed(e),
    );
  }

  #connected(c: ControlClient): void {
    if (this.#state === 'stopped') return c.close();
    this.#client = c;
    this.#attempt = 0;
    this.connects++;
    this.welcome = c.welcome;
    this.#o.logger.info({ name: c.welcome.name, kind: c.welcome.kind }, 'agent channel connected');
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
      this.#o.logger.warn({ code, reason }, 'agent channel closed');
      this.#backoff();
    });
    this.#ping.mod(this.#o.pingMs ?? 20_000);
  }

  #failed(e: Error): void {
    if (this.#state === 'stopped') return;
    this.lastError = e.message;
    if (e instanceof ChannelRefusedError) {
      this.#o.logger.error({ refusal: e.refusal }, `coordinator refused this node: ${e.message}`);
      this.emit('refused', e);
    } else this.#o.logger.warn({ err: e.message, attempt: this.#attempt }, 'agent channel connect failed');
    this.#backoff();
  }

  #backoff(): void {
    if (this.#state === 'stopped') return;
    this.#set('backoff');
    const b = this.#o.backoff ?? {};
    this.#retry.mod(
      backoffDelay(Math.max(1, this.#attempt), b.initialMs ?? 500, b.maxMs ?? 30_000, Math.random),
    );
  }
}
