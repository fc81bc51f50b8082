// Shared pieces of the relay tests: a certificate, a coordinator key issuing tokens, relays and
// clients, and a raw client that speaks the frames by hand (to send what RelayClient never would).
import { connect, type TLSSocket } from 'node:tls';
import { once } from 'node:events';
import { realClock, type Clock } from '../../src/clock/index.ts';
import { PrivateKey, PublicKey, SigningKey } from '../../src/crypto/index.ts';
import { createSelfSigned } from '../../src/pki/index.ts';
import {
  clientProof,
  encodeFrame,
  FrameDecoder,
  issueRelayToken,
  PROTOCOL_VERSION,
  type Frame,
} from '../../src/proto/relay/index.ts';
import { RelayServer, type RelayServerOptions } from '../../src/relay/index.ts';
import { RelayClient, type RelayClientOptions } from '../../src/paths/index.ts';

export const REGION = 'test-1';
export const coordinator = SigningKey.generate();

let certs: Promise<{ certPem: string; keyPem: string }> | undefined;
/** One self-signed listener certificate for 127.0.0.1 / localhost, made once per process. */
export function cert(): Promise<{ certPem: string; keyPem: string }> {
  certs ??= createSelfSigned({
    commonName: 'relay.test',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  return certs;
}

export function token(
  node: PublicKey,
  opts: { clock?: Clock; lifeMs?: number; region?: string; key?: SigningKey; issuedAtMs?: number } = {},
): Uint8Array {
  const now = opts.issuedAtMs ?? (opts.clock ?? realClock).wallMs();
  return issueRelayToken(
    {
      nodeKey: node,
      region: opts.region ?? REGION,
      issuedAtMs: now,
      expiresAtMs: now + (opts.lifeMs ?? 3_600_000),
    },
    opts.key ?? coordinator,
  );
}

export interface TestRelay {
  server: RelayServer;
  port: number;
  stunPort?: number;
  url: string;
  ca: string;
  key: PrivateKey;
}

/** The metrics token every fixture relay is started with (GET /metrics needs it as Bearer). */
export const RELAY_METRICS_TOKEN = 'relay-fixture-metrics-token-0123';

export async function startRelay(over: Partial<RelayServerOptions> = {}): Promise<TestRelay> {
  const c = await cert();
  const key = over.privateKey ?? PrivateKey.generate();
  const server = new RelayServer({
    clock: realClock,
    privateKey: key,
    trusted: [coordinator.verifyKey],
    region: REGION,
    listen: { host: '127.0.0.1', port: 0 },
    tls: { cert: c.certPem, key: c.keyPem },
    metricsToken: RELAY_METRICS_TOKEN,
    ...over,
  });
  const a = await server.start();
  return {
    server,
    port: a.port,
    stunPort: a.stunPort,
    url: `https://127.0.0.1:${a.port}`,
    ca: c.certPem,
    key,
  };
}

export function relayClient(
  relay: { url: string; ca: string },
  over: Partial<RelayClientOptions> & { key?: PrivateKey } = {},
): RelayClient {
  const key = over.key ?? PrivateKey.generate();
  const clock = over.clock ?? realClock;
  return new RelayClient({
    clock,
    url: relay.url,
    ca: relay.ca,
    privateKey: key,
    getToken: async () => token(key.publicKey, { clock }),
    onPacket: () => {},
    backoff: { initialMs: 20, maxMs: 200 },
    ...over,
  });
}

/** A hand-driven relay connection: frames received so far, and raw writes. */
export class RawClient {
  readonly frames: Frame[] = [];
  readonly decoder = new FrameDecoder();
  closed = false;
  decodeError: Error | undefined;
  #waiters: (() => void)[] = [];
  private constructor(readonly socket: TLSSocket) {
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  /** Connects, upgrades, and waits for SERVER_KEY. */
  static async open(relay: { port: number; ca: string }): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port: relay.port, ca: relay.ca });
    await once(socket, 'secureConnect');
    socket.write(
      'GET /relay HTTP/1.1\r\nHost: relay\r\nConnection: Upgrade\r\nUpgrade: sallyport-relay\r\n\r\n',
    );
    const c = new RawClient(socket);
    let head = Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        if (!head.subarray(0, end).toString().startsWith('HTTP/1.1 101'))
          return reject(new Error(`no upgrade: ${head.subarray(0, end).toString()}`));
        socket.on('data', (x: Buffer) => c.#push(x));
        c.#push(head.subarray(end + 4));
        resolve();
      };
      socket.on('data', onData);
    });
    await c.next('server-key');
    return c;
  }

  #push(b: Buffer): void {
    try {
      this.decoder.push(new Uint8Array(b), (f) => this.frames.push(structuredCloneFrame(f)));
    } catch (e) {
      this.decodeError = e as Error;
    }
    this.#wake();
  }
  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Waits until a frame of `type` is among the frames (returns the first such), or the socket closes. */
  async next<T extends Frame['type']>(type: T, timeoutMs = 5000): Promise<Extract<Frame, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.find((x) => x.type === type);
      if (f) return f as Extract<Frame, { type: T }>;
      if (this.closed)
        throw new Error(`closed before a ${type} frame (got ${this.frames.map((x) => x.type)})`);
      if (Date.now() > deadline) throw new Error(`no ${type} frame within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('socket still open');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  get challenge(): Uint8Array {
    return (this.frames.find((f) => f.type === 'server-key') as Extract<Frame, { type: 'server-key' }>)
      .challenge;
  }
  get serverKey(): Uint8Array {
    return (this.frames.find((f) => f.type === 'server-key') as Extract<Frame, { type: 'server-key' }>)
      .serverKey;
  }

  /** Sends CLIENT_INFO; by default a correct proof for `key` and `tok`. */
  clientInfo(key: PrivateKey, tok: Uint8Array, opts: { proof?: Uint8Array; version?: number } = {}): void {
    const proof = opts.proof ?? clientProof(key, PublicKey.fromBytes(this.serverKey), this.challenge, tok)!;
    this.write(
      encodeFrame({
        type: 'client-info',
        version: opts.version ?? PROTOCOL_VERSION,
        clientKey: key.publicKey.bytes,
        proof,
        token: tok,
      }),
    );
  }

  write(b: Uint8Array): void {
    this.socket.write(b);
  }
  close(): void {
    this.socket.destroy();
  }
}

/** Frames decoded from a chunk share its memory; the tests keep copies. */
function structuredCloneFrame(f: Frame): Frame {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f)) out[k] = v instanceof Uint8Array ? new Uint8Array(v) : v;
  return out as Frame;
}

/** Admits a raw client with a valid token; resolves after SERVER_INFO. */
export async function admittedRaw(
  relay: { port: number; ca: string },
  key = PrivateKey.generate(),
): Promise<RawClient> {
  const c = await RawClient.open(relay);
  c.clientInfo(key, token(key.publicKey));
  await c.next('server-info');
  return c;
}

/** Polls `cond` every 10 ms until true, or throws after `ms`. */
export async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
