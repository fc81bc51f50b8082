// Two SessionHosts wired back to back in memory, and the session benchmarks that use them:
// transport encrypt+decrypt throughput beside raw node:crypto, and full handshakes per second.
import type { Bench } from './framework.ts';
import { rawAead, rawHandshakeDh } from './peers.ts';
import { FakeClock } from '../src/clock/index.ts';
import { PrivateKey, randomBytes } from '../src/crypto/index.ts';
import {
  SessionHost,
  directEndpoint,
  type Endpoint,
  type PeerSession,
  type SessionEvent,
} from '../src/session/index.ts';

const EP = { a: directEndpoint('10.0.0.1', 1), b: directEndpoint('10.0.0.2', 1) };

/** Rekey timeout (WireGuard REKEY_TIMEOUT, 5 s): the least gap between two initiations we start. */
const REKEY_GAP_MS = 5_001;

/**
 * Hosts `a` and `b`, each with the other as its only peer. Datagrams are queued and delivered by
 * `pump()`, never from inside a send callback, so neither host is re-entered mid-operation.
 */
export class Pair {
  readonly clock = new FakeClock();
  readonly a: SessionHost;
  readonly b: SessionHost;
  readonly ab: PeerSession; // a's view of b
  readonly ba: PeerSession; // b's view of a
  readonly events = { a: new Map<string, number>(), b: new Map<string, number>() };
  delivered = 0; // payload bytes received, both ways
  #queue: { to: SessionHost; datagram: Uint8Array; from: Endpoint }[] = [];

  constructor(opts: { presharedKey?: Uint8Array } = {}) {
    const ka = PrivateKey.generate();
    const kb = PrivateKey.generate();
    const host = (key: PrivateKey, self: 'a' | 'b'): SessionHost =>
      new SessionHost({
        clock: this.clock,
        privateKey: key,
        send: (datagram, to) =>
          // Copied, as a socket would: the host may reuse its buffer once send() returns.
          this.#queue.push({ to: to === EP.b ? this.b : this.a, datagram: datagram.slice(), from: EP[self] }),
        onPayload: (_peer, payload) => {
          this.delivered += payload.length;
        },
        onEvent: (ev: SessionEvent) => {
          const m = this.events[self];
          const kind = ev.type === 'handshake-complete' ? `${ev.type}/${ev.role}` : ev.type;
          m.set(kind, (m.get(kind) ?? 0) + 1);
        },
      });
    this.a = host(ka, 'a');
    this.b = host(kb, 'b');
    this.ab = this.a.addPeer(kb.publicKey, { endpoint: EP.b, presharedKey: opts.presharedKey });
    this.ba = this.b.addPeer(ka.publicKey, { endpoint: EP.a, presharedKey: opts.presharedKey });
  }

  /** Delivers queued datagrams (and whatever they cause) until none is left. */
  pump(): void {
    const q = this.#queue;
    for (let i = 0; i < q.length; i++) q[i].to.receive(q[i].datagram, q[i].from);
    q.length = 0;
  }

  /** A full handshake started by `a`: initiation, response and the confirming first message. */
  handshake(): void {
    this.clock.advance(REKEY_GAP_MS);
    this.ab.initiateHandshake();
    this.pump();
  }

  stop(): void {
    this.a.stop();
    this.b.stop();
  }
}

export async function sessionBenches(b: Bench): Promise<void> {
  for (const size of [1400, 16384]) {
    const name = `session transport send+receive ${size} B (peer: raw node:crypto)`;
    if (!b.wants(name)) continue;
    const pair = new Pair();
    const payload = randomBytes(size);
    pair.ab.send(payload);
    pair.pump();
    if (pair.delivered < size) throw new Error(`no session: the first ${size} B payload was not delivered`);
    const ours = () => {
      pair.ab.send(payload);
      pair.pump();
    };
    const before = pair.delivered;
    let calls = 0;
    await b.compare(
      name,
      'MB/s',
      () => {
        ours();
        calls++;
      },
      rawAead(size),
      { per: size / 1e6 },
    );
    // Padding to 16 may add up to 15 bytes per payload; anything less means payloads were lost.
    if (pair.delivered - before < calls * size)
      throw new Error(`${name}: payloads were dropped during the run`);
    pair.stop();
  }

  const name = 'session handshakes, initiation+response+confirmation (peer: its 10 X25519 ops alone)';
  if (b.wants(name)) {
    const pair = new Pair();
    const confirmed = () => pair.events.b.get('handshake-complete/responder') ?? 0;
    pair.handshake();
    if (confirmed() !== 1) throw new Error(`${name}: the first handshake did not complete`);
    let calls = 0;
    const ours = () => {
      pair.handshake();
      calls++;
    };
    await b.compare(name, 'handshakes/s', ours, rawHandshakeDh());
    // Every call must have completed: a's response consumed and b's keypair confirmed.
    const done = confirmed() - 1;
    const initiator = (pair.events.a.get('handshake-complete/initiator') ?? 0) - 1;
    if (done !== calls || initiator !== calls) {
      throw new Error(
        `${name}: ${calls} handshakes started, ${initiator} completed at a, ${done} confirmed at b`,
      );
    }
    pair.stop();
  }
}
