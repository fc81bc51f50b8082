// The relay's STUN binding responder (RFC 8489 §6.3 via answerBinding): one UDP socket, every
// Binding request answered with the address it came from; anything else is dropped and counted.
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { answerBinding } from '../proto/stun/index.ts';
import type { RelayStats } from './metrics.ts';

export const STUN_SOFTWARE = 'sallyport relay';

export class StunResponder {
  #sock: Socket | undefined;
  readonly #stats: RelayStats;

  constructor(stats: RelayStats) {
    this.#stats = stats;
  }

  /** Binds host:port (0 = any free port); resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    const sock = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
    this.#sock = sock;
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, host, () => {
        sock.off('error', reject);
        // Errors after binding (ICMP unreachable on send) concern one datagram: drop them.
        sock.on('error', () => {});
        sock.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo.family, rinfo.address, rinfo.port));
        resolve(sock.address().port);
      });
    });
  }

  #onMessage(msg: Buffer, family: string, address: string, port: number): void {
    this.#stats.stunRequests++;
    const fam = family === 'IPv6' || (family as unknown) === 6 ? 'IPv6' : 'IPv4';
    let reply: Uint8Array | undefined;
    try {
      reply = answerBinding(msg, { family: fam, address, port }, { software: STUN_SOFTWARE });
    } catch {
      reply = undefined; // an address the encoder cannot write: drop, as for any bad datagram
    }
    if (!reply) return;
    this.#stats.stunAnswered++;
    this.#sock?.send(reply, port, address);
  }

  close(): Promise<void> {
    const s = this.#sock;
    this.#sock = undefined;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => s.close(() => resolve()));
  }
}
