// A STUN reflector for vnet tests: a host that answers RFC 8489 Binding requests with the source
// address it saw (the NAT's mapping for the sender), and a client side to ask it.
import {
  answerBinding,
  bindingRequest,
  mappedAddressOf,
  tryDecode,
  TRANSACTION_ID_LEN,
} from '../../proto/stun/index.ts';
import type { Endpoint } from './addr.ts';
import type { Host, VSocket } from './host.ts';

export const STUN_PORT = 3478;

export interface Reflector {
  readonly socket: VSocket;
  /** Where to send Binding requests. */
  readonly endpoint: Endpoint;
  /** Requests answered, and datagrams ignored (not a STUN request). */
  readonly stats: { answered: number; ignored: number };
  close(): void;
}

/** Serves STUN Binding on `host`:`port` (default 3478). */
export function stunReflector(host: Host, port = STUN_PORT): Reflector {
  const socket = host.bind(port);
  const stats = { answered: 0, ignored: 0 };
  socket.onReceive((data, from) => {
    const reply = answerBinding(data, { family: 'IPv4', address: from.address, port: from.port });
    if (reply === undefined) {
      stats.ignored++;
      return;
    }
    stats.answered++;
    socket.send(reply, from);
  });
  return { socket, endpoint: socket.local, stats, close: () => socket.close() };
}

/** An outstanding Binding request: `mapped` is set once the answer arrives. */
export interface StunQuery {
  readonly mapped: Endpoint | undefined;
  /** Datagrams the socket got that were not the answer. */
  readonly other: number;
}

let txCounter = 0;

/**
 * Sends a Binding request from `sock` to `server`. Takes over `sock`'s receiver (set it again
 * afterwards). Transaction ids come from a counter, so runs stay deterministic.
 */
export function stunQuery(sock: VSocket, server: Endpoint): StunQuery {
  const txid = new Uint8Array(TRANSACTION_ID_LEN);
  new DataView(txid.buffer).setUint32(8, ++txCounter);
  txid[0] = 0x76; // 'v'
  const q = { mapped: undefined as Endpoint | undefined, other: 0 };
  sock.onReceive((data) => {
    const r = tryDecode(data);
    const a = r.ok && equal(r.message.transactionId, txid) ? mappedAddressOf(r.message) : undefined;
    if (a === undefined) q.other++;
    else q.mapped ??= { address: a.address, port: a.port };
  });
  sock.send(bindingRequest(txid), server);
  return q;
}

/**
 * The address `server` sees `sock`'s requests come from, or undefined when no answer comes within
 * `limitMs` of virtual time (or the network goes quiet first). Drives the vnet with runUntil.
 */
export async function stunMappedAddress(
  net: { runUntil(done: () => boolean, limitMs: number): Promise<void> },
  sock: VSocket,
  server: Endpoint,
  limitMs = 1000,
): Promise<Endpoint | undefined> {
  const q = stunQuery(sock, server);
  try {
    await net.runUntil(() => q.mapped !== undefined, limitMs);
  } catch (e) {
    if ((e as { code?: string }).code !== 'VNET_TIMEOUT') throw e;
  }
  return q.mapped;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
