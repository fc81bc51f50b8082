// Relay frames (DESIGN.md §4 "Relay"), carried over TLS after the HTTP upgrade. Big-endian.
//
//   +--------+--------+--------+--------+--------+------------------------------+
//   |  type  |        payload length (u32, big-endian)   |  payload ...          |
//   +--------+--------+--------+--------+--------+------------------------------+
//
//   type  name         dir   payload
//   0x01  SERVER_KEY   s->c  magic "sallyprt" (8) | version u8 | server key (32) | challenge (32)
//   0x02  CLIENT_INFO  c->s  version u8 | client node key (32) | proof (32) | relay token (0..2048)
//   0x03  SERVER_INFO  s->c  keepalive interval ms u32 | max packet length u32
//   0x04  SEND_PACKET  c->s  destination node key (32) | packet (0..65536)
//   0x05  RECV_PACKET  s->c  source node key (32) | packet (0..65536)
//   0x06  KEEPALIVE    s->c  (empty)
//   0x07  PING         both  8 opaque bytes
//   0x08  PONG         both  the 8 bytes of the PING it answers
//   0x09  PEER_GONE    s->c  node key (32) | reason u8 (0 disconnected, 1 not here)
//   0x0A  HEALTH       s->c  UTF-8 text (0..1024); empty means healthy again
//   0x0B  PEER_BUSY    s->c  node key (32) | busy u8 (1: the relay's queue towards that node is
//                            half full — hold back new data to it; 0: it drained). Only to clients
//                            whose CLIENT_INFO version was 2 (CLIENT_VERSION_PEER_BUSY).
//
//   The session: the server sends SERVER_KEY first with a fresh random challenge; the client's
//   first frame is CLIENT_INFO; the server answers SERVER_INFO when it admits the client, or a
//   HEALTH frame saying why and closes. No other frame is valid before admission.
//
//   CLIENT_INFO's proof of possession of the node key (proof.ts):
//     shared = X25519(client private key, server public key)
//     proof  = HMAC-BLAKE2s-256(key = BLAKE2s-256("sallyport relay proof v1" || shared),
//                               challenge || client key || server key || token)
//   The server recomputes it with X25519(server private key, client public key). Only the holder
//   of the client key (or the server itself) can compute it; the challenge makes each proof good
//   for one connection; binding the server key stops a proof made for one relay from being
//   replayed to another; binding the token stops it being moved to another token.
//
//   Lengths are checked when the header arrives, before the payload is buffered. An unknown type,
//   a length outside the type's bounds, or a malformed payload ends the connection.
import {
  CHALLENGE_LEN,
  FRAME_CLIENT_INFO,
  FRAME_HEADER_LEN,
  FRAME_HEALTH,
  FRAME_KEEPALIVE,
  FRAME_PEER_BUSY,
  FRAME_PEER_GONE,
  FRAME_PING,
  FRAME_PONG,
  FRAME_RECV_PACKET,
  FRAME_SEND_PACKET,
  FRAME_SERVER_INFO,
  FRAME_SERVER_KEY,
  KEY_LEN,
  MAGIC,
  MAX_FRAME_PAYLOAD,
  MAX_HEALTH_LEN,
  MAX_PACKET_LEN,
  MAX_TOKEN_LEN,
  PING_LEN,
  PROOF_LEN,
} from './constants.ts';
import { RelayFrameError } from './errors.ts';

/** One frame. Keys are the 32 raw bytes. Decoded byte fields may share memory with the input. */
export type Frame =
  | { type: 'server-key'; version: number; serverKey: Uint8Array; challenge: Uint8Array }
  | { type: 'client-info'; version: number; clientKey: Uint8Array; proof: Uint8Array; token: Uint8Array }
  | { type: 'server-info'; keepAliveMs: number; maxPacketLen: number }
  | { type: 'send-packet'; dst: Uint8Array; packet: Uint8Array }
  | { type: 'recv-packet'; src: Uint8Array; packet: Uint8Array }
  | { type: 'keepalive' }
  | { type: 'ping'; data: Uint8Array }
  | { type: 'pong'; data: Uint8Array }
  | { type: 'peer-gone'; peer: Uint8Array; reason: number }
  | { type: 'peer-busy'; peer: Uint8Array; busy: boolean }
  | { type: 'health'; message: string };

export type FrameType = Frame['type'];

const SERVER_KEY_LEN = MAGIC.length + 1 + KEY_LEN + CHALLENGE_LEN;
const CLIENT_INFO_MIN = 1 + KEY_LEN + PROOF_LEN;

/** Payload length bounds per type byte: [min, max]. */
const BOUNDS: ReadonlyMap<number, readonly [number, number]> = new Map([
  [FRAME_SERVER_KEY, [SERVER_KEY_LEN, SERVER_KEY_LEN]],
  [FRAME_CLIENT_INFO, [CLIENT_INFO_MIN, CLIENT_INFO_MIN + MAX_TOKEN_LEN]],
  [FRAME_SERVER_INFO, [8, 8]],
  [FRAME_SEND_PACKET, [KEY_LEN, KEY_LEN + MAX_PACKET_LEN]],
  [FRAME_RECV_PACKET, [KEY_LEN, KEY_LEN + MAX_PACKET_LEN]],
  [FRAME_KEEPALIVE, [0, 0]],
  [FRAME_PING, [PING_LEN, PING_LEN]],
  [FRAME_PONG, [PING_LEN, PING_LEN]],
  [FRAME_PEER_GONE, [KEY_LEN + 1, KEY_LEN + 1]],
  [FRAME_HEALTH, [0, MAX_HEALTH_LEN]],
  [FRAME_PEER_BUSY, [KEY_LEN + 1, KEY_LEN + 1]],
]);

const TYPE_BYTE: Record<FrameType, number> = {
  'server-key': FRAME_SERVER_KEY,
  'client-info': FRAME_CLIENT_INFO,
  'server-info': FRAME_SERVER_INFO,
  'send-packet': FRAME_SEND_PACKET,
  'recv-packet': FRAME_RECV_PACKET,
  keepalive: FRAME_KEEPALIVE,
  ping: FRAME_PING,
  pong: FRAME_PONG,
  'peer-gone': FRAME_PEER_GONE,
  health: FRAME_HEALTH,
  'peer-busy': FRAME_PEER_BUSY,
};

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Checks a frame header: known type, and a length within that type's bounds. Throws
 * RelayFrameError (RELAY_UNKNOWN_FRAME, RELAY_FRAME_TOO_LARGE or RELAY_BAD_FRAME).
 */
export function checkHeader(type: number, len: number): void {
  const b = BOUNDS.get(type);
  if (!b) throw new RelayFrameError('RELAY_UNKNOWN_FRAME', `unknown frame type 0x${type.toString(16)}`);
  if (len > MAX_FRAME_PAYLOAD)
    throw new RelayFrameError('RELAY_FRAME_TOO_LARGE', `frame of ${len} bytes exceeds ${MAX_FRAME_PAYLOAD}`);
  const [min, max] = b;
  if (min === max && len !== min)
    throw new RelayFrameError(
      'RELAY_BAD_FRAME',
      `frame type 0x${type.toString(16)} must be ${min} bytes, not ${len}`,
    );
  if (len > max)
    throw new RelayFrameError(
      'RELAY_FRAME_TOO_LARGE',
      `frame type 0x${type.toString(16)} of ${len} bytes > ${max}`,
    );
  if (len < min)
    throw new RelayFrameError(
      'RELAY_BAD_FRAME',
      `frame type 0x${type.toString(16)} of ${len} bytes < ${min}`,
    );
}

/** The frame of a type byte and a payload whose length checkHeader() accepted. Views, no copies. */
export function decodePayload(type: number, p: Uint8Array): Frame {
  checkHeader(type, p.length);
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  switch (type) {
    case FRAME_SERVER_KEY: {
      for (let i = 0; i < MAGIC.length; i++)
        if (p[i] !== MAGIC[i]) throw new RelayFrameError('RELAY_BAD_FRAME', 'SERVER_KEY without the magic');
      const k = MAGIC.length + 1;
      return {
        type: 'server-key',
        version: p[MAGIC.length],
        serverKey: p.subarray(k, k + KEY_LEN),
        challenge: p.subarray(k + KEY_LEN),
      };
    }
    case FRAME_CLIENT_INFO:
      return {
        type: 'client-info',
        version: p[0],
        clientKey: p.subarray(1, 1 + KEY_LEN),
        proof: p.subarray(1 + KEY_LEN, CLIENT_INFO_MIN),
        token: p.subarray(CLIENT_INFO_MIN),
      };
    case FRAME_SERVER_INFO:
      return { type: 'server-info', keepAliveMs: dv.getUint32(0), maxPacketLen: dv.getUint32(4) };
    case FRAME_SEND_PACKET:
      return { type: 'send-packet', dst: p.subarray(0, KEY_LEN), packet: p.subarray(KEY_LEN) };
    case FRAME_RECV_PACKET:
      return { type: 'recv-packet', src: p.subarray(0, KEY_LEN), packet: p.subarray(KEY_LEN) };
    case FRAME_KEEPALIVE:
      return { type: 'keepalive' };
    case FRAME_PING:
      return { type: 'ping', data: p };
    case FRAME_PONG:
      return { type: 'pong', data: p };
    case FRAME_PEER_GONE:
      return { type: 'peer-gone', peer: p.subarray(0, KEY_LEN), reason: p[KEY_LEN] };
    case FRAME_PEER_BUSY:
      if (p[KEY_LEN] > 1) throw new RelayFrameError('RELAY_BAD_FRAME', 'PEER_BUSY flag must be 0 or 1');
      return { type: 'peer-busy', peer: p.subarray(0, KEY_LEN), busy: p[KEY_LEN] === 1 };
    default: {
      // FRAME_HEALTH: checkHeader() admitted no other type.
      let message: string;
      try {
        message = strictUtf8.decode(p);
      } catch (e) {
        throw new RelayFrameError('RELAY_BAD_FRAME', 'HEALTH text is not UTF-8', { cause: e });
      }
      return { type: 'health', message };
    }
  }
}

function need(b: Uint8Array, len: number, what: string): Uint8Array {
  if (!(b instanceof Uint8Array) || b.length !== len)
    throw new RelayFrameError('RELAY_INVALID_ARGUMENT', `${what} must be ${len} bytes`);
  return b;
}
function u8(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xff)
    throw new RelayFrameError('RELAY_INVALID_ARGUMENT', `bad ${what}`);
  return n;
}
function u32(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
    throw new RelayFrameError('RELAY_INVALID_ARGUMENT', `bad ${what}`);
  return n;
}

/** The payload parts of a frame, validated. */
function parts(f: Frame): Uint8Array[] {
  switch (f.type) {
    case 'server-key':
      return [
        MAGIC,
        Uint8Array.of(u8(f.version, 'version')),
        need(f.serverKey, KEY_LEN, 'server key'),
        need(f.challenge, CHALLENGE_LEN, 'challenge'),
      ];
    case 'client-info':
      return [
        Uint8Array.of(u8(f.version, 'version')),
        need(f.clientKey, KEY_LEN, 'client key'),
        need(f.proof, PROOF_LEN, 'proof'),
        f.token,
      ];
    case 'server-info': {
      const b = new Uint8Array(8);
      const dv = new DataView(b.buffer);
      dv.setUint32(0, u32(f.keepAliveMs, 'keepalive interval'));
      dv.setUint32(4, u32(f.maxPacketLen, 'max packet length'));
      return [b];
    }
    case 'send-packet':
      return [need(f.dst, KEY_LEN, 'destination key'), f.packet];
    case 'recv-packet':
      return [need(f.src, KEY_LEN, 'source key'), f.packet];
    case 'keepalive':
      return [];
    case 'ping':
    case 'pong':
      return [need(f.data, PING_LEN, `${f.type} data`)];
    case 'peer-gone':
      return [need(f.peer, KEY_LEN, 'peer key'), Uint8Array.of(u8(f.reason, 'reason'))];
    case 'peer-busy':
      return [need(f.peer, KEY_LEN, 'peer key'), Uint8Array.of(f.busy ? 1 : 0)];
    case 'health':
      return [utf8.encode(f.message)];
  }
}

/** The bytes of one frame, header included. Throws RELAY_INVALID_ARGUMENT or RELAY_FRAME_TOO_LARGE. */
export function encodeFrame(f: Frame): Uint8Array {
  if (f.type === 'send-packet') return encodePacket(FRAME_SEND_PACKET, f.dst, f.packet, 'destination key');
  if (f.type === 'recv-packet') return encodePacket(FRAME_RECV_PACKET, f.src, f.packet, 'source key');
  const type = TYPE_BYTE[f.type];
  if (type === undefined)
    throw new RelayFrameError('RELAY_INVALID_ARGUMENT', `unknown frame ${String(f.type)}`);
  const ps = parts(f);
  let len = 0;
  for (const p of ps) len += p.length;
  try {
    checkHeader(type, len);
  } catch (e) {
    const code =
      (e as RelayFrameError).code === 'RELAY_FRAME_TOO_LARGE'
        ? 'RELAY_FRAME_TOO_LARGE'
        : 'RELAY_INVALID_ARGUMENT';
    throw new RelayFrameError(code, (e as Error).message, { cause: e });
  }
  const out = new Uint8Array(FRAME_HEADER_LEN + len);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, len);
  let o = FRAME_HEADER_LEN;
  for (const p of ps) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The hot path (every forwarded packet): one allocation, two copies. */
function encodePacket(type: number, key: Uint8Array, packet: Uint8Array, what: string): Uint8Array {
  need(key, KEY_LEN, what);
  if (packet.length > MAX_PACKET_LEN)
    throw new RelayFrameError(
      'RELAY_FRAME_TOO_LARGE',
      `packet of ${packet.length} bytes > ${MAX_PACKET_LEN}`,
    );
  const len = KEY_LEN + packet.length;
  const out = new Uint8Array(FRAME_HEADER_LEN + len);
  out[0] = type;
  out[1] = len >>> 24;
  out[2] = (len >>> 16) & 0xff;
  out[3] = (len >>> 8) & 0xff;
  out[4] = len & 0xff;
  out.set(key, FRAME_HEADER_LEN);
  out.set(packet, FRAME_HEADER_LEN + KEY_LEN);
  return out;
}
