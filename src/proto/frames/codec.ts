/**
 * The stream-layer datagram: one packet number, then frames, in the spirit of RFC 9000 §12.4 / §19.
 * Every integer below is a QUIC varint (RFC 9000 §16) unless a width is given.
 *
 *   datagram      = packet-number  frame*          (trailing 0x00 bytes are PADDING frames)
 *
 *   0x00 PADDING             (one byte; the session pads payloads to a multiple of 16 with zeros)
 *   0x01 PING
 *   0x02 ACK                 largest  ack-delay(µs)  range-count  first-range  (gap  range-len)*
 *   0x04 RESET_STREAM        stream-id  error-code  final-size
 *   0x05 STOP_SENDING        stream-id  error-code
 *   0x08..0x0f STREAM        stream-id  [offset if 0x04]  [length if 0x02]  data   (0x01 = FIN)
 *   0x10 MAX_DATA            maximum
 *   0x11 MAX_STREAM_DATA     stream-id  maximum
 *   0x12 MAX_STREAMS         maximum (count of streams the peer may open, cumulative)
 *   0x14 DATA_BLOCKED        limit
 *   0x15 STREAM_DATA_BLOCKED stream-id  limit
 *   0x16 STREAMS_BLOCKED     limit
 *   0x1c CLOSE               error-code  reason-length  reason(UTF-8)
 *   0x30 STREAM_OPEN         stream-id  service-length  service(UTF-8)       (sallyport)
 *   0x31 STREAM_REFUSED      stream-id  code  reason-length  reason(UTF-8)   (sallyport)
 *   0x40 PATH_PING           txid(8 bytes)                                    (sallyport, path layer)
 *   0x41 PATH_PONG           txid(8 bytes)  endpoint                          (see addr.ts)
 *   0x42 CALL_ME_MAYBE       count  endpoint*
 *
 * Differences from RFC 9000: no long/short header (the session below provides keys and framing), the
 * packet number is a full varint, ACK delay is in microseconds (exponent 0), there is one stream kind
 * (bidirectional; client-opened ids even, server-opened odd), and a stream's first frame is preceded
 * by STREAM_OPEN naming the wanted service, which the receiver may answer with STREAM_REFUSED.
 *
 * Decoding never throws anything but FrameError. STREAM data is a view into the input (no copy).
 */
import { endpointLength, readEndpoint, writeEndpoint } from './addr.ts';
import type { Endpoint } from './addr.ts';
import { FrameError } from './errors.ts';
import type { AckRange, Frame, Packet, PathFrame } from './types.ts';
import { Reader, VARINT_MAX, Writer, varintLength } from './wire.ts';

/** Frame type bytes (RFC 9000 §19 numbering where a QUIC frame exists; §12.4 table 3). */
export const T = {
  PADDING: 0x00, // §19.1
  PING: 0x01, // §19.2
  ACK: 0x02, // §19.3
  RESET_STREAM: 0x04, // §19.4
  STOP_SENDING: 0x05, // §19.5
  STREAM: 0x08, // §19.8, 0x08..0x0f
  MAX_DATA: 0x10, // §19.9
  MAX_STREAM_DATA: 0x11, // §19.10
  MAX_STREAMS: 0x12, // §19.11 (bidirectional)
  DATA_BLOCKED: 0x14, // §19.12
  STREAM_DATA_BLOCKED: 0x15, // §19.13
  STREAMS_BLOCKED: 0x16, // §19.14
  CLOSE: 0x1c, // §19.19
  STREAM_OPEN: 0x30,
  STREAM_REFUSED: 0x31,
  PATH_PING: 0x40,
  PATH_PONG: 0x41,
  CALL_ME_MAYBE: 0x42,
} as const;

/** STREAM type bits (RFC 9000 §19.8). */
export const STREAM_FIN = 0x01;
export const STREAM_LEN = 0x02;
export const STREAM_OFF = 0x04;

/** Bounds: the decoder refuses anything larger. */
export const MAX_ACK_RANGES = 256;
export const MAX_CANDIDATES = 32;
export const MAX_SERVICE_BYTES = 255;
export const MAX_REASON_BYTES = 1024;
export const TXID_BYTES = 8;

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function readText(r: Reader, max: number, what: string): string {
  const n = r.varint(`${what} length`);
  if (n > max) throw new FrameError('FRAME_LIMIT', `${what} of ${n} bytes exceeds ${max}`);
  const b = r.bytes(n, what);
  try {
    return utf8Strict.decode(b);
  } catch {
    throw new FrameError('FRAME_MALFORMED', `${what} is not UTF-8`);
  }
}

function textLength(s: string, max: number): number {
  const n = Buffer.byteLength(s, 'utf8');
  if (n > max) throw new RangeError(`text of ${n} bytes exceeds ${max}`);
  return varintLength(n) + n;
}

function writeText(w: Writer, s: string): void {
  const b = utf8.encode(s);
  w.varint(b.length);
  w.bytes(b);
}

/** Bytes of a STREAM frame header (type, id, offset, length) before `len` bytes of data. */
export function streamHeaderLength(id: number, offset: number, len: number): number {
  return 1 + varintLength(id) + (offset > 0 ? varintLength(offset) : 0) + varintLength(len);
}

/** Writes a STREAM frame header; the caller then writes exactly `len` data bytes. */
export function writeStreamHeader(w: Writer, id: number, offset: number, len: number, fin: boolean): void {
  w.u8(T.STREAM | STREAM_LEN | (offset > 0 ? STREAM_OFF : 0) | (fin ? STREAM_FIN : 0));
  w.varint(id);
  if (offset > 0) w.varint(offset);
  w.varint(len);
}

/** Encoded size of an ACK frame with the first `count` ranges of `ranges`. */
export function ackLength(ranges: readonly AckRange[], delayUs: number, count = ranges.length): number {
  const [lo0, hi0] = ranges[0];
  let n = 1 + varintLength(hi0) + varintLength(delayUs) + varintLength(count - 1) + varintLength(hi0 - lo0);
  let prevLo = lo0;
  for (let i = 1; i < count; i++) {
    const [lo, hi] = ranges[i];
    n += varintLength(prevLo - hi - 2) + varintLength(hi - lo);
    prevLo = lo;
  }
  return n;
}

function writeAck(w: Writer, ranges: readonly AckRange[], delayUs: number, count: number): void {
  const [lo0, hi0] = ranges[0];
  w.u8(T.ACK);
  w.varint(hi0);
  w.varint(delayUs);
  w.varint(count - 1);
  w.varint(hi0 - lo0);
  let prevLo = lo0;
  for (let i = 1; i < count; i++) {
    const [lo, hi] = ranges[i];
    w.varint(prevLo - hi - 2);
    w.varint(hi - lo);
    prevLo = lo;
  }
}

function readAck(r: Reader): Frame {
  const largest = r.varint('ACK largest');
  const delayUs = r.varint('ACK delay');
  const extra = r.varint('ACK range count');
  if (extra >= MAX_ACK_RANGES) throw new FrameError('FRAME_LIMIT', `ACK with ${extra + 1} ranges`);
  const first = r.varint('ACK first range');
  if (first > largest) throw new FrameError('FRAME_MALFORMED', 'ACK range below packet number 0');
  const ranges: AckRange[] = [[largest - first, largest]];
  let lo = largest - first;
  for (let i = 0; i < extra; i++) {
    const gap = r.varint('ACK gap');
    const len = r.varint('ACK range length');
    const hi = lo - gap - 2;
    if (hi - len < 0) throw new FrameError('FRAME_MALFORMED', 'ACK range below packet number 0');
    lo = hi - len;
    ranges.push([lo, hi]);
  }
  return { type: 'ack', ranges, delayUs };
}

function endpointsLength(es: readonly Endpoint[]): number {
  let n = 0;
  for (const e of es) n += endpointLength(e);
  return n;
}

/** Encoded size of any frame. */
export function frameLength(f: Frame): number {
  switch (f.type) {
    case 'ping':
      return 1;
    case 'ack':
      return ackLength(f.ranges, f.delayUs);
    case 'reset_stream':
      return 1 + varintLength(f.id) + varintLength(f.code) + varintLength(f.finalSize);
    case 'stop_sending':
      return 1 + varintLength(f.id) + varintLength(f.code);
    case 'stream':
      return streamHeaderLength(f.id, f.offset, f.data.length) + f.data.length;
    case 'max_data':
      return 1 + varintLength(f.max);
    case 'max_stream_data':
      return 1 + varintLength(f.id) + varintLength(f.max);
    case 'max_streams':
      return 1 + varintLength(f.max);
    case 'data_blocked':
    case 'streams_blocked':
      return 1 + varintLength(f.limit);
    case 'stream_data_blocked':
      return 1 + varintLength(f.id) + varintLength(f.limit);
    case 'close':
      return 1 + varintLength(f.code) + textLength(f.reason, MAX_REASON_BYTES);
    case 'stream_open':
      return 1 + varintLength(f.id) + textLength(f.service, MAX_SERVICE_BYTES);
    case 'stream_refused':
      return 1 + varintLength(f.id) + varintLength(f.code) + textLength(f.reason, MAX_REASON_BYTES);
    case 'path_ping':
      return 1 + TXID_BYTES;
    case 'path_pong':
      return 1 + TXID_BYTES + endpointLength(f.observed);
    case 'call_me_maybe':
      if (f.candidates.length > MAX_CANDIDATES) throw new RangeError('too many candidates');
      return 1 + varintLength(f.candidates.length) + endpointsLength(f.candidates);
  }
}

function txid(t: Uint8Array): Uint8Array {
  if (t.length !== TXID_BYTES) throw new RangeError(`transaction id must be ${TXID_BYTES} bytes`);
  return t;
}

/** Writes one frame; the caller has checked that `frameLength(f)` bytes fit. */
export function writeFrame(w: Writer, f: Frame): void {
  switch (f.type) {
    case 'ping':
      w.u8(T.PING);
      return;
    case 'ack':
      writeAck(w, f.ranges, f.delayUs, f.ranges.length);
      return;
    case 'reset_stream':
      w.u8(T.RESET_STREAM);
      w.varint(f.id);
      w.varint(f.code);
      w.varint(f.finalSize);
      return;
    case 'stop_sending':
      w.u8(T.STOP_SENDING);
      w.varint(f.id);
      w.varint(f.code);
      return;
    case 'stream':
      writeStreamHeader(w, f.id, f.offset, f.data.length, f.fin);
      w.bytes(f.data);
      return;
    case 'max_data':
      w.u8(T.MAX_DATA);
      w.varint(f.max);
      return;
    case 'max_stream_data':
      w.u8(T.MAX_STREAM_DATA);
      w.varint(f.id);
      w.varint(f.max);
      return;
    case 'max_streams':
      w.u8(T.MAX_STREAMS);
      w.varint(f.max);
      return;
    case 'data_blocked':
      w.u8(T.DATA_BLOCKED);
      w.varint(f.limit);
      return;
    case 'stream_data_blocked':
      w.u8(T.STREAM_DATA_BLOCKED);
      w.varint(f.id);
      w.varint(f.limit);
      return;
    case 'streams_blocked':
      w.u8(T.STREAMS_BLOCKED);
      w.varint(f.limit);
      return;
    case 'close':
      w.u8(T.CLOSE);
      w.varint(f.code);
      writeText(w, f.reason);
      return;
    case 'stream_open':
      w.u8(T.STREAM_OPEN);
      w.varint(f.id);
      writeText(w, f.service);
      return;
    case 'stream_refused':
      w.u8(T.STREAM_REFUSED);
      w.varint(f.id);
      w.varint(f.code);
      writeText(w, f.reason);
      return;
    case 'path_ping':
      w.u8(T.PATH_PING);
      w.bytes(txid(f.txid));
      return;
    case 'path_pong':
      w.u8(T.PATH_PONG);
      w.bytes(txid(f.txid));
      writeEndpoint(w, f.observed);
      return;
    case 'call_me_maybe':
      w.u8(T.CALL_ME_MAYBE);
      w.varint(f.candidates.length);
      for (const e of f.candidates) writeEndpoint(w, e);
      return;
  }
}

/** Writes the first `count` ranges of an ACK frame (the encoder's way to fit a packet). */
export function writeAckFrame(w: Writer, ranges: readonly AckRange[], delayUs: number, count: number): void {
  writeAck(w, ranges, delayUs, count);
}

/** Encodes a whole datagram; `padTo` appends PADDING up to that size. */
export function encodePacket(pn: number, frames: readonly Frame[], padTo = 0): Uint8Array {
  let n = varintLength(pn);
  for (const f of frames) n += frameLength(f);
  const buf = new Uint8Array(Math.max(n, padTo));
  const w = new Writer(buf);
  w.varint(pn);
  for (const f of frames) writeFrame(w, f);
  return buf;
}

function readFrame(r: Reader, type: number): Frame {
  if (type >= T.STREAM && type <= (T.STREAM | 7)) {
    const id = r.varint('stream id');
    const offset = type & STREAM_OFF ? r.varint('stream offset') : 0;
    const len = type & STREAM_LEN ? r.varint('stream length') : r.remaining;
    if (len > r.remaining)
      throw new FrameError('FRAME_TRUNCATED', `STREAM length ${len} beyond the datagram`);
    if (offset + len > VARINT_MAX)
      throw new FrameError('FRAME_LIMIT', 'STREAM offset + length exceeds 2^53-1');
    return { type: 'stream', id, offset, fin: (type & STREAM_FIN) !== 0, data: r.bytes(len) };
  }
  switch (type) {
    case T.PING:
      return { type: 'ping' };
    case T.ACK:
      return readAck(r);
    case T.RESET_STREAM:
      return { type: 'reset_stream', id: r.varint(), code: r.varint(), finalSize: r.varint() };
    case T.STOP_SENDING:
      return { type: 'stop_sending', id: r.varint(), code: r.varint() };
    case T.MAX_DATA:
      return { type: 'max_data', max: r.varint() };
    case T.MAX_STREAM_DATA:
      return { type: 'max_stream_data', id: r.varint(), max: r.varint() };
    case T.MAX_STREAMS:
      return { type: 'max_streams', max: r.varint() };
    case T.DATA_BLOCKED:
      return { type: 'data_blocked', limit: r.varint() };
    case T.STREAM_DATA_BLOCKED:
      return { type: 'stream_data_blocked', id: r.varint(), limit: r.varint() };
    case T.STREAMS_BLOCKED:
      return { type: 'streams_blocked', limit: r.varint() };
    case T.CLOSE:
      return { type: 'close', code: r.varint(), reason: readText(r, MAX_REASON_BYTES, 'CLOSE reason') };
    case T.STREAM_OPEN:
      return { type: 'stream_open', id: r.varint(), service: readText(r, MAX_SERVICE_BYTES, 'service name') };
    case T.STREAM_REFUSED: {
      const id = r.varint();
      const code = r.varint();
      return { type: 'stream_refused', id, code, reason: readText(r, MAX_REASON_BYTES, 'refusal reason') };
    }
    case T.PATH_PING:
      return { type: 'path_ping', txid: r.bytes(TXID_BYTES, 'transaction id') };
    case T.PATH_PONG: {
      const id = r.bytes(TXID_BYTES, 'transaction id');
      return { type: 'path_pong', txid: id, observed: readEndpoint(r) };
    }
    case T.CALL_ME_MAYBE: {
      const count = r.varint('candidate count');
      if (count > MAX_CANDIDATES) throw new FrameError('FRAME_LIMIT', `${count} candidates`);
      const candidates: Endpoint[] = [];
      for (let i = 0; i < count; i++) candidates.push(readEndpoint(r));
      return { type: 'call_me_maybe', candidates };
    }
    default:
      throw new FrameError('FRAME_UNKNOWN_TYPE', `unknown frame type 0x${type.toString(16)}`);
  }
}

/** Decodes a datagram. PADDING is skipped. Throws FrameError only. */
export function decodePacket(buf: Uint8Array): Packet {
  const r = new Reader(buf);
  if (buf.length === 0) throw new FrameError('FRAME_TRUNCATED', 'empty datagram');
  const pn = r.varint('packet number');
  const frames: Frame[] = [];
  while (r.pos < r.end) {
    const type = buf[r.pos++];
    if (type === T.PADDING) continue;
    frames.push(readFrame(r, type));
  }
  return { pn, frames };
}

/** True for PATH_PING / PATH_PONG / CALL_ME_MAYBE. */
export function isPathFrame(f: Frame): f is PathFrame {
  return f.type === 'path_ping' || f.type === 'path_pong' || f.type === 'call_me_maybe';
}

/** True when a frame obliges the receiver to acknowledge (RFC 9002 §2: all but ACK, PADDING, CLOSE). */
export function isAckEliciting(f: Frame): boolean {
  return f.type !== 'ack' && f.type !== 'close';
}
