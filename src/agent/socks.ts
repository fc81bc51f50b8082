// A SOCKS5 proxy for the engineer side (RFC 1928, CONNECT only, no authentication; RFC 1929 not
// offered). Only domain-name requests for tailnet names resolve; IPv4/IPv6 literals and unknown
// names are refused with a SOCKS reply code, so nothing leaks to the local network.
//
//   client: VER NMETHODS METHODS...        server: VER 0x00 (no auth) | 0xFF (none acceptable)
//   client: VER CMD RSV ATYP DST.ADDR DST.PORT
//   server: VER REP RSV ATYP(1) 0.0.0.0 0      then bytes flow both ways
import { createServer, Socket, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { listenOn } from './listen.ts';

export const SOCKS_VERSION = 5;
export const REP_OK = 0x00;
export const REP_GENERAL = 0x01;
export const REP_NOT_ALLOWED = 0x02;
export const REP_HOST_UNREACHABLE = 0x04;
export const REP_CMD_UNSUPPORTED = 0x07;
export const REP_ATYP_UNSUPPORTED = 0x08;
const CMD_CONNECT = 1;
const ATYP_V4 = 1;
const ATYP_DOMAIN = 3;
const ATYP_V6 = 4;
/** Greeting and request together never need more than this. */
const MAX_HEADER = 600;

export interface SocksDeps {
  logger: Logger;
  /** Opens a tunnel to a tailnet name, or returns a SOCKS reply code why not. */
  open(host: string, port: number): Duplex | number;
  onResult?(result: string): void;
}

/** Parses as much of the handshake as `buf` holds: undefined = need more bytes. */
export function parseGreeting(
  buf: Buffer,
): { methods: number[]; used: number } | { error: string } | undefined {
  if (buf.length < 2) return undefined;
  if (buf[0] !== SOCKS_VERSION) return { error: 'not SOCKS5' };
  const n = buf[1];
  if (buf.length < 2 + n) return undefined;
  return { methods: [...buf.subarray(2, 2 + n)], used: 2 + n };
}

export function parseRequest(
  buf: Buffer,
): { cmd: number; atyp: number; host: string; port: number; used: number } | { error: string } | undefined {
  if (buf.length < 5) return undefined;
  if (buf[0] !== SOCKS_VERSION) return { error: 'not SOCKS5' };
  const atyp = buf[3];
  let len: number;
  let host: string;
  if (atyp === ATYP_V4) len = 4;
  else if (atyp === ATYP_V6) len = 16;
  else if (atyp === ATYP_DOMAIN) len = 1 + buf[4];
  else return { error: 'bad address type' };
  if (buf.length < 4 + len + 2) return undefined;
  if (atyp === ATYP_DOMAIN) host = buf.subarray(5, 5 + buf[4]).toString('latin1');
  else if (atyp === ATYP_V4) host = [...buf.subarray(4, 8)].join('.');
  else host = buf.subarray(4, 20).toString('hex');
  const port = buf.readUInt16BE(4 + len);
  return { cmd: buf[1], atyp, host, port, used: 4 + len + 2 };
}

const reply = (rep: number): Buffer => Buffer.from([SOCKS_VERSION, rep, 0, ATYP_V4, 0, 0, 0, 0, 0, 0]);

export class SocksServer {
  readonly #d: SocksDeps;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  constructor(d: SocksDeps) {
    this.#d = d;
    this.#server = createServer({ allowHalfOpen: true, noDelay: true }, (s) => this.#conn(s));
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return listenOn(this.#server, host, port);
  }

  close(): void {
    this.#server.close();
    for (const s of this.#sockets) s.destroy();
  }

  #conn(s: Socket): void {
    this.#sockets.add(s);
    s.on('close', () => this.#sockets.delete(s));
    s.on('error', () => s.destroy());
    let buf = Buffer.alloc(0);
    let phase: 'greeting' | 'request' = 'greeting';
    const fail = (rep: number, why: string): void => {
      this.#d.onResult?.(why);
      this.#d.logger.info({ why }, 'socks request refused');
      s.end(phase === 'request' ? reply(rep) : Buffer.from([SOCKS_VERSION, 0xff]));
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > MAX_HEADER) return (s.off('data', onData), fail(REP_GENERAL, 'header-too-long'));
      if (phase === 'greeting') {
        const g = parseGreeting(buf);
        if (!g) return;
        if ('error' in g) return (s.off('data', onData), fail(REP_GENERAL, 'bad-greeting'));
        if (!g.methods.includes(0)) return (s.off('data', onData), fail(REP_GENERAL, 'no-acceptable-method'));
        s.write(Buffer.from([SOCKS_VERSION, 0]));
        buf = buf.subarray(g.used);
        phase = 'request';
      }
      const r = parseRequest(buf);
      if (!r) return;
      s.off('data', onData);
      if ('error' in r) return fail(REP_ATYP_UNSUPPORTED, 'bad-request');
      if (r.cmd !== CMD_CONNECT) return fail(REP_CMD_UNSUPPORTED, 'command-unsupported');
      if (r.atyp !== ATYP_DOMAIN) return fail(REP_ATYP_UNSUPPORTED, 'not-a-name');
      const t = this.#d.open(r.host, r.port);
      if (typeof t === 'number') return fail(t, 'unreachable');
      this.#d.onResult?.('ok');
      s.write(reply(REP_OK));
      const rest = buf.subarray(r.used);
      if (rest.length) t.write(rest);
      splice(s, t);
    };
    s.on('data', onData);
  }
}

/**
 * Pipes a local socket (a) and an overlay stream (b) both ways; either side's error or close tears
 * down the other. When the overlay stream dies without a clean end (reset, grant cut, peer gone),
 * the local socket is reset too: a graceful close would let the kernel keep delivering what its
 * buffers hold — megabytes after a grant ended.
 */
export function splice(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  const hard = (): void => {
    if (a instanceof Socket && !a.destroyed) a.resetAndDestroy();
    else a.destroy();
    b.destroy();
  };
  a.on('error', () => {
    a.destroy();
    b.destroy();
  });
  b.on('error', hard);
  a.on('close', () => b.destroy());
  b.on('close', () => (b.readableEnded ? a.destroy() : hard()));
}
