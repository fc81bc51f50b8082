// PATH payloads (index.ts, type 0x10): the path frames of one stream-layer packet.
import { FrameError, decodePacket, encodePacket, type PathFrame } from '../frames/index.ts';
import { T_DATA, T_RESET, T_WAKE } from './link.ts';

export const T_PATH = 0x10;

export type PayloadKind = 'link' | 'path' | 'unknown';

/** Which reader a session payload goes to, by its first byte (the table in index.ts). */
export function payloadKind(p: Uint8Array): PayloadKind {
  const t = p[0] & 0x7f;
  if (p[0] === T_PATH) return 'path';
  return t === T_DATA || t === T_WAKE || t === T_RESET ? 'link' : 'unknown';
}

/** One path frame as a session payload; `padTo` pads the whole payload (type byte included). */
export function encodePathPayload(frame: PathFrame, padTo = 0): Uint8Array {
  const packet = encodePacket(0, [frame], Math.max(0, padTo - 1));
  const out = new Uint8Array(packet.length + 1);
  out[0] = T_PATH;
  out.set(packet, 1);
  return out;
}

/** The path frames of a PATH payload; [] for anything else or malformed (never throws). */
export function decodePathPayload(p: Uint8Array): PathFrame[] {
  if (p[0] !== T_PATH) return [];
  try {
    return decodePacket(p.subarray(1)).frames.filter(
      (f): f is PathFrame => f.type === 'path_ping' || f.type === 'path_pong' || f.type === 'call_me_maybe',
    );
  } catch (e) {
    if (e instanceof FrameError) return [];
    throw e;
  }
}
