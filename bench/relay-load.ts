// Lightweight relay clients for bench/relay.bench.ts: raw TLS sockets that do the upgrade and the
// admission by hand (thousands per process), and a windowed byte pump between two sockets that
// works the same through the relay and through socat.
import { connect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { PrivateKey, PublicKey, type SigningKey } from '../src/crypto/index.ts';
import {
  clientProof,
  encodeFrame,
  FrameDecoder,
  issueRelayToken,
  PROTOCOL_VERSION,
  type Frame,
} from '../src/proto/relay/index.ts';

export interface Target {
  port: number;
  ca: string;
}

const UPGRADE =
  'GET /relay HTTP/1.1\r\nHost: relay\r\nConnection: Upgrade\r\nUpgrade: sallyport-relay\r\n\r\n';

/** One secure context per CA: building one per connection (parsing the CA) costs milliseconds. */
const contexts = new Map<string, SecureContext>();

function tlsConnect(t: Target): Promise<TLSSocket> {
  let secureContext = contexts.get(t.ca);
  if (!secureContext) contexts.set(t.ca, (secureContext = createSecureContext({ ca: t.ca })));
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: t.port, secureContext });
    s.once('secureConnect', () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** One admitted raw client: its socket (paused, no listeners left) and node key. */
export async function admitOne(
  t: Target,
  coordinator: SigningKey,
  region: string,
  key = PrivateKey.generate(),
): Promise<{ socket: TLSSocket; key: PrivateKey }> {
  const s = await tlsConnect(t);
  s.setNoDelay(true);
  const now = Date.now();
  const token = issueRelayToken(
    { nodeKey: key.publicKey, region, issuedAtMs: now, expiresAtMs: now + 3_600_000 },
    coordinator,
  );
  s.write(UPGRADE);
  await new Promise<void>((resolve, rejectNow) => {
    const timer = setTimeout(() => reject(new Error('admission took over 60 s')), 60_000);
    const reject = (e: Error) => {
      clearTimeout(timer);
      s.destroy();
      rejectNow(e);
    };
    let head: Buffer | undefined = Buffer.alloc(0);
    const dec = new FrameDecoder();
    const onFrame = (f: Frame) => {
      if (f.type === 'server-key') {
        const proof = clientProof(key, PublicKey.fromBytes(f.serverKey), f.challenge, token)!;
        s.write(
          encodeFrame({
            type: 'client-info',
            version: PROTOCOL_VERSION,
            clientKey: key.publicKey.bytes,
            proof,
            token,
          }),
        );
      } else if (f.type === 'server-info') {
        clearTimeout(timer);
        s.off('data', onData);
        s.off('close', onClose);
        s.pause();
        resolve();
      } else reject(new Error(`admission: unexpected ${f.type} ${JSON.stringify(f)}`));
    };
    const onData = (d: Buffer) => {
      try {
        if (head) {
          head = Buffer.concat([head, d]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          if (!head.subarray(0, 12).toString().startsWith('HTTP/1.1 101')) throw new Error('no upgrade');
          d = head.subarray(end + 4);
          head = undefined;
        }
        dec.push(new Uint8Array(d), onFrame);
      } catch (e) {
        reject(e as Error);
      }
    };
    const onClose = () => reject(new Error('closed during admission'));
    s.on('data', onData);
    s.on('close', onClose);
  });
  return { socket: s, key };
}

/** A bare TLS connection (the memory peer's clients). */
export async function bareOne(t: Target): Promise<{ socket: TLSSocket }> {
  const s = await tlsConnect(t);
  s.pause();
  return { socket: s };
}

/** Runs `make` n times with at most `concurrency` in flight; progress every 2000. */
export async function many<T>(
  n: number,
  concurrency: number,
  make: () => Promise<T>,
  progress?: (done: number) => void,
): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      out.push(await make());
      if (out.length % 2000 === 0) progress?.(out.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return out;
}

/**
 * Moves bytes from `tx` to `rx` writing `unit` over and over, with at most `window` bytes sent
 * and not yet received (so no queue on the way ever holds more: nothing is dropped). `rx` counts
 * raw bytes; the relay's RECV_PACKET frame has the SEND_PACKET frame's length.
 */
export class Pump {
  sent = 0;
  received = 0;
  #target = 0;
  #done: (() => void) | undefined;
  constructor(
    readonly tx: Socket,
    readonly rx: Socket,
    readonly unit: Uint8Array,
    readonly window: number,
  ) {
    rx.on('data', (d: Buffer) => {
      this.received += d.length;
      if (this.received >= this.#target && this.#done) {
        const r = this.#done;
        this.#done = undefined;
        r();
      } else this.#pump();
    });
    rx.resume();
    tx.on('drain', () => this.#pump());
  }

  /** Sends `units` more units and resolves when they have all arrived. */
  move(units: number): Promise<void> {
    this.#target += units * this.unit.length;
    return new Promise((r) => {
      this.#done = r;
      this.#pump();
    });
  }

  #pump(): void {
    while (this.sent < this.#target && this.sent - this.received < this.window) {
      this.sent += this.unit.length;
      if (!this.tx.write(this.unit)) return;
    }
  }
}

/** A SEND_PACKET frame carrying `size` bytes to `dst`. */
export function sendFrame(dst: PublicKey, size: number): Uint8Array {
  return encodeFrame({ type: 'send-packet', dst: dst.bytes, packet: new Uint8Array(size).fill(0xa5) });
}
