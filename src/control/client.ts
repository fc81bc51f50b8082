// A minimal agent-channel client: WebSocket over HTTPS, Noise IK as initiator with the pinned
// coordinator key, then the netmap and its deltas. Used by the tests here and meant for the agent
// (which adds reconnection, backoff and the rest of the node around it).
import { EventEmitter } from 'node:events';
import { WebSocket } from 'ws';
import type { PrivateKey, PublicKey } from '../crypto/index.ts';
import {
  AGENT_CHANNEL_PATH,
  ControlProtoError,
  applyDelta,
  decodeServerMessage,
  encodeAgentMessage,
  MAX_MESSAGE_BYTES,
  type AgentMessage,
  type ChannelCipher,
  type Hello,
  type Netmap,
  type RefusalCode,
  type ServerMessage,
  type Welcome,
} from '../proto/control/index.ts';
import { finishInitiator, initiate } from './channel-noise.ts';
import { ControlError } from './errors.ts';

export interface ControlClientOptions {
  /** Coordinator base URL, https://host:port */
  url: string;
  /** The coordinator's X25519 static key (pinned). */
  coordinatorKey: PublicKey;
  /** This node's key. */
  nodeKey: PrivateKey;
  hello: Hello;
  /** PEM CA to trust for the HTTPS listener (e.g. its self-signed certificate). */
  ca?: string;
  /** Cancels the connection attempt. */
  signal?: AbortSignal;
  /**
   * Gives up when the coordinator has not answered the hello this long after the WebSocket opened
   * (a coordinator stuck on admission), so the agent tries again or moves on; ms, default 15000.
   */
  welcomeTimeoutMs?: number;
}

/** The coordinator refused this node; `code` says why. */
export class ChannelRefusedError extends ControlError {
  constructor(
    readonly refusal: RefusalCode,
    message: string,
  ) {
    super('REFUSED', `${refusal}: ${message}`);
  }
}

/**
 * Events: 'netmap' (netmap: Netmap, msg: ServerMessage) after the full map or each delta is
 * applied; 'message' (ServerMessage) for every message; 'close' (code: number, reason: string).
 */
export class ControlClient extends EventEmitter {
  readonly welcome: Welcome;
  netmap: Netmap | undefined;
  version = 0;
  /** Messages that broke the protocol (the client then closes). */
  errors = 0;
  readonly #ws: WebSocket;
  readonly #cipher: ChannelCipher;

  private constructor(ws: WebSocket, cipher: ChannelCipher, welcome: Welcome) {
    super();
    this.#ws = ws;
    this.#cipher = cipher;
    this.welcome = welcome;
    ws.on('message', (data: Buffer) =>
      this.#onMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
    );
    ws.on('close', (code: number, reason: Buffer) => this.emit('close', code, reason.toString()));
  }

  static connect(opts: ControlClientOptions): Promise<ControlClient> {
    const url = new URL(AGENT_CHANNEL_PATH, opts.url.replace(/^http/, 'ws'));
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        ca: opts.ca,
        maxPayload: MAX_MESSAGE_BYTES + 64,
        perMessageDeflate: false,
        handshakeTimeout: 10_000,
      });
      ws.binaryType = 'nodebuffer';
      let settled = false;
      let welcomeTimer: NodeJS.Timeout | undefined;
      const fail = (e: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(welcomeTimer);
        ws.terminate();
        reject(e);
      };
      const onAbort = () => fail(new ControlError('ABORTED', 'connection aborted'));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const { message, state } = initiate(opts.nodeKey, opts.coordinatorKey, opts.hello);
      ws.once('open', () => {
        ws.send(message);
        const ms = opts.welcomeTimeoutMs ?? 15_000;
        welcomeTimer = setTimeout(
          () =>
            fail(
              new ControlError('CONNECT', `agent channel: no answer to the hello within ${ms} ms`, {
                retryable: true,
              }),
            ),
          ms,
        );
      });
      ws.once('error', (e) =>
        fail(new ControlError('CONNECT', `agent channel: ${e.message}`, { cause: e, retryable: true })),
      );
      ws.once('close', (code, reason) =>
        fail(
          new ControlError('CONNECT', `agent channel closed (${code} ${reason.toString()})`, {
            retryable: true,
          }),
        ),
      );
      ws.once('message', (data: Buffer) => {
        opts.signal?.removeEventListener('abort', onAbort);
        clearTimeout(welcomeTimer);
        if (settled) return;
        try {
          const { reply, cipher } = finishInitiator(
            state,
            new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
          );
          if (reply.type === 'refused') return fail(new ChannelRefusedError(reply.code, reply.message));
          settled = true;
          ws.removeAllListeners('close');
          ws.removeAllListeners('error');
          ws.on('error', () => {});
          resolve(new ControlClient(ws, cipher, reply));
        } catch (e) {
          fail(e instanceof Error ? e : new Error(String(e)));
        }
      });
    });
  }

  send(m: AgentMessage): void {
    this.#ws.send(this.#cipher.seal(encodeAgentMessage(m)));
  }

  /** Sends raw bytes on the socket (tests: malformed input). */
  sendRaw(b: Uint8Array): void {
    this.#ws.send(b);
  }

  /** Seals arbitrary plaintext with the channel keys (tests: well-framed but malformed JSON). */
  sealRaw(plaintext: Uint8Array): Uint8Array {
    return this.#cipher.seal(plaintext);
  }

  close(): void {
    this.#ws.close(1000, 'bye');
  }

  get open(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  #onMessage(b: Uint8Array): void {
    const r = this.#cipher.open(b);
    let msg: ServerMessage;
    try {
      if (!r.ok) throw new ControlProtoError(r.code, 'bad transport message');
      msg = decodeServerMessage(r.plaintext);
    } catch {
      this.errors++;
      this.#ws.close(4002, 'bad message');
      return;
    }
    if (msg.type === 'netmap') {
      this.netmap = msg.netmap;
      this.version = msg.version;
    } else if (msg.type === 'delta') {
      if (!this.netmap || msg.version !== this.version + 1) {
        this.errors++;
        this.#ws.close(4002, 'delta out of order');
        return;
      }
      this.netmap = applyDelta(this.netmap, msg.delta);
      this.version = msg.version;
    }
    this.emit('message', msg);
    if (msg.type === 'netmap' || msg.type === 'delta') this.emit('netmap', this.netmap, msg);
  }
}
