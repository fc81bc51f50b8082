// The relay server (DESIGN.md §4 "Relay"): TLS, the HTTP upgrade to relay frames, admission by
// relay token plus proof of key possession, and forwarding of SEND_PACKET as RECV_PACKET by node key.
//
//   server:  NEW --start()--> RUNNING --stop() / signal--> STOPPED
//
// Forwarding semantics:
// - The table maps a node key to its one admitted connection. A client that connects again with
//   the same key replaces the old connection (closed with reason 'replaced'); frames still queued
//   for the old one move to the new one, and no PEER_GONE is sent: the peer never left.
// - SEND_PACKET to a key with no connection here is dropped ('no_peer') and the sender gets
//   PEER_GONE(NOT_HERE), at most once per second per (sender, key): it should try the peer's home
//   relay or another path. Relays do not mesh; a relay only knows its own clients.
// - When an admitted client goes away (not replaced), each node that sent to it recently (up to
//   MAX_SENDERS remembered) and is still connected gets PEER_GONE(DISCONNECTED).
// - A malformed frame or a frame that breaks the protocol ends only that client's connection
//   (HEALTH with the reason, counted); other clients are untouched.
//
// Revocation: a coordinator pushes its signed list of revoked node keys (POST /revocations,
// revocations.ts); each newer list replaces the set, closes the admitted connections of its keys
// at once and refuses their admission while they are listed, whatever their tokens say.
//
// Timing lives in one sweep timer on the injected Clock (no per-client timers): admission
// timeouts, idle clients, token expiry, and KEEPALIVE to clients sent nothing for keepAliveMs.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { TimerHandle } from '../clock/index.ts';
import { randomBytes } from '../crypto/index.ts';
import {
  CHALLENGE_LEN,
  encodeFrame,
  FRAME_HEADER_LEN,
  FRAME_RECV_PACKET,
  KEY_LEN,
  MAX_PACKET_LEN,
  PEER_GONE_DISCONNECTED,
  PEER_GONE_NOT_HERE,
  CLIENT_VERSION_PEER_BUSY,
  PROTOCOL_VERSION,
  RelayFrameError,
  type Frame,
} from '../proto/relay/index.ts';
import { admit, type AdmissionPolicy } from './admission.ts';
import { ADMITTED, ADMITTING, CLOSED, CLOSING, MAX_SENDERS, RelayConn, type Budget } from './conn.ts';
import { RelayServerError } from './errors.ts';
import { BAD_UPGRADE, BUSY, handleRequest, isRelayUpgrade, SWITCHING_PROTOCOLS } from './http.ts';
import { frameSize, type QueuedFrame } from './queue.ts';
import { relayRegistry, RelayStats, type DisconnectReason, type RefusalReason } from './metrics.ts';
import { resolveOptions, type RelayServerOptions, type ResolvedRelayOptions } from './options.ts';
import { StunResponder } from './stun.ts';
import { RevocationSet } from './revocations.ts';

const KEEPALIVE = encodeFrame({ type: 'keepalive' });
const b64 = (k: Uint8Array): string => Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('base64');
const health = (message: string): Uint8Array => encodeFrame({ type: 'health', message });

/** Packets at least this long are not copied into a new frame: the body is queued as it came. */
const ZERO_COPY_MIN = 1024;

/**
 * RECV_PACKET(src, packet) as a queued frame. A large packet keeps its bytes (a view of the
 * decoder's frame buffer or of the socket chunk, neither of which is reused) behind a fresh
 * 37-byte header, unless the view would pin a buffer more than twice its size (then it is copied),
 * so the queue's byte bound stays within 2× of the memory it holds.
 */
function recvFrame(src: Uint8Array, packet: Uint8Array): QueuedFrame {
  const n = packet.length;
  if (n < ZERO_COPY_MIN) return encodeFrame({ type: 'recv-packet', src, packet });
  const head = new Uint8Array(FRAME_HEADER_LEN + KEY_LEN);
  head[0] = FRAME_RECV_PACKET;
  new DataView(head.buffer).setUint32(1, KEY_LEN + n);
  head.set(src, FRAME_HEADER_LEN);
  const body = packet.buffer.byteLength > 2 * n + 4096 ? packet.slice() : packet;
  return [head, body];
}

export interface RelayAddress {
  /** The TLS port bound (useful with listen.port 0). */
  port: number;
  /** The STUN UDP port bound, when a responder runs. */
  stunPort?: number;
}

export class RelayServer {
  readonly #o: ResolvedRelayOptions;
  readonly #log: Logger;
  readonly #policy: AdmissionPolicy;
  readonly #revoked: RevocationSet;
  readonly stats = new RelayStats();
  readonly registry: Registry;
  /** Every upgraded connection until its socket closes. */
  readonly #conns = new Set<RelayConn>();
  /** Admitted connections by node key (base64). */
  readonly #table = new Map<string, RelayConn>();
  #https: Server | undefined;
  #stun: StunResponder | undefined;
  #sweep: TimerHandle | undefined;
  #state: 'new' | 'running' | 'stopped' = 'new';
  #startedAt = 0;
  #address: RelayAddress | undefined;
  /** Connections with frames queued while a chunk is being processed; flushed after it. */
  #touched: RelayConn[] = [];
  #batching = false;
  /** Bytes queued for all clients together. */
  readonly #budget: Budget;
  #signal: AbortSignal | undefined;
  #onAbort = (): void => void this.stop();

  constructor(opts: RelayServerOptions) {
    this.#o = resolveOptions(opts);
    this.#log = (this.#o.logger ?? pino({ level: 'silent' })).child({
      component: 'relay',
      region: this.#o.region,
    });
    this.#budget = { used: 0, max: this.#o.queue.maxTotalBytes };
    this.#policy = {
      privateKey: this.#o.privateKey,
      trusted: this.#o.trusted,
      region: this.#o.region,
      skewMs: this.#o.tokenSkewMs,
    };
    this.#revoked = new RevocationSet(this.#o.trusted, this.#o.tokenSkewMs);
    this.registry = relayRegistry(this.stats, {
      revokedKeys: () => this.#revoked.size,
      clients: () => this.#table.size,
      admitting: () => this.admitting,
      queuedBytes: () => this.#budget.used,
    });
  }

  /** Bytes waiting in all client queues together. */
  get queuedBytes(): number {
    return this.#budget.used;
  }

  /** Admitted clients now. */
  get clients(): number {
    return this.#table.size;
  }
  /** Node keys on the revocation list in force. */
  get revokedKeys(): number {
    return this.#revoked.size;
  }
  /** Connections upgraded but not yet admitted (or refused and closing). */
  get admitting(): number {
    return this.#conns.size - this.#table.size;
  }
  get address(): RelayAddress | undefined {
    return this.#address;
  }

  /** Binds the TLS listener (and the STUN socket); `signal` stops the server when it fires. */
  async start(opts: { signal?: AbortSignal } = {}): Promise<RelayAddress> {
    if (this.#state !== 'new') throw new RelayServerError('RELAY_STATE', `start() on a ${this.#state} relay`);
    if (opts.signal?.aborted) throw new RelayServerError('RELAY_ABORTED', 'aborted before start');
    this.#state = 'running';
    this.#startedAt = this.#o.clock.now();
    const srv = createServer({
      cert: this.#o.tls.cert,
      key: this.#o.tls.key,
      handshakeTimeout: 10_000,
      headersTimeout: 10_000,
      requestTimeout: 10_000,
    });
    this.#https = srv;
    srv.on(
      'request',
      handleRequest({
        health: () => this.health(),
        metrics: () => this.#metricsText(),
        metricsToken: this.#o.metricsToken,
        revocations: (b) => this.#onRevocations(b),
      }),
    );
    srv.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) =>
      this.#onUpgrade(req, socket, head),
    );
    srv.on('tlsClientError', (_e, s) => s.destroy());
    try {
      const port = await new Promise<number>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(this.#o.listen.port, this.#o.listen.host, () => {
          srv.off('error', reject);
          resolve((srv.address() as { port: number }).port);
        });
      });
      srv.on('error', (e) => this.#log.error({ err: e }, 'listener error'));
      this.#address = { port };
      if (this.#o.stunPort !== undefined) {
        this.#stun = new StunResponder(this.stats);
        this.#address.stunPort = await this.#stun.listen(this.#o.listen.host, this.#o.stunPort);
      }
    } catch (e) {
      await this.stop();
      throw new RelayServerError('RELAY_LISTEN_FAILED', `cannot listen: ${(e as Error).message}`, {
        cause: e,
      });
    }
    if (this.#state !== 'running') throw new RelayServerError('RELAY_ABORTED', 'stopped while starting');
    this.#armSweep();
    if (opts.signal) {
      this.#signal = opts.signal;
      if (opts.signal.aborted) await this.stop();
      else opts.signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    this.#log.info(
      {
        port: this.#address.port,
        stunPort: this.#address.stunPort,
        serverKey: this.#o.privateKey.publicKey.fingerprint(),
      },
      'relay listening',
    );
    return { ...this.#address };
  }

  /**
   * Serves `pair` to new TLS handshakes from now on; open connections keep the session they have.
   * A pair that does not load throws and leaves the current one in place.
   */
  setCertificate(pair: { cert: string; key: string }): void {
    this.#https?.setSecureContext({ cert: pair.cert, key: pair.key });
  }

  /** Closes the listener, the STUN socket and every connection; resolves when all are gone. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#signal = undefined;
    if (this.#sweep !== undefined) this.#o.clock.clearTimeout(this.#sweep);
    this.#sweep = undefined;
    const srv = this.#https;
    this.#https = undefined;
    const closed = srv?.listening
      ? new Promise<void>((resolve) => srv.close(() => resolve()))
      : Promise.resolve();
    srv?.closeAllConnections();
    const gone: Promise<void>[] = [];
    for (const c of this.#conns) {
      gone.push(new Promise((resolve) => c.socket.once('close', () => resolve())));
      this.#close(c, 'shutdown', 'relay shutting down');
      c.socket.destroy();
    }
    await Promise.all([closed, this.#stun?.close(), ...gone]);
    this.#stun = undefined;
    this.#log.info('relay stopped');
  }

  health(): object {
    return {
      ok: this.#state === 'running',
      region: this.#o.region,
      serverKey: this.#o.privateKey.publicKey.base64(),
      clients: this.clients,
      admitting: this.admitting,
      uptimeMs: Math.round(this.#o.clock.now() - this.#startedAt),
    };
  }

  async #metricsText(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** A pushed revocation list: the newest replaces the set and its keys' connections close. */
  #onRevocations(body: Uint8Array | undefined): { status: number; message: string } {
    if (!body) {
      this.stats.revocationList('too_large');
      return { status: 413, message: 'revocation list too large' };
    }
    const r = this.#revoked.apply(body, this.#o.clock.wallMs());
    if (!r.ok) {
      this.stats.revocationList(r.code.toLowerCase() as Lowercase<typeof r.code>);
      this.#log.warn({ code: r.code }, 'revocation list refused');
      return { status: 400, message: r.code };
    }
    this.stats.revocationList('accepted');
    let closed = 0;
    for (const key of r.keys) {
      const c = this.#table.get(key);
      if (!c) continue;
      this.#close(c, 'revoked', 'node key revoked');
      closed++;
    }
    if (closed) this.#log.info({ closed, revoked: r.keys.size }, 'revoked clients disconnected');
    return { status: 200, message: `ok ${r.keys.size}` };
  }

  // --- connections -----------------------------------------------------------------------------

  #onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    // The HTTP server took its own listeners off the socket: without one, an error would throw.
    socket.on('error', () => {});
    if (this.#state !== 'running' || !isRelayUpgrade(req)) {
      socket.write(BAD_UPGRADE);
      socket.destroySoon();
      return;
    }
    if (this.#conns.size >= this.#o.maxClients) {
      this.stats.refuse('capacity');
      socket.write(BUSY);
      socket.destroySoon();
      return;
    }
    const now = this.#o.clock.now();
    const challenge = randomBytes(CHALLENGE_LEN);
    const c = new RelayConn(socket, challenge, now, this.#budget);
    this.#conns.add(c);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(c, chunk));
    socket.on('drain', () => {
      c.blocked = false;
      c.flush(this.#o.clock.now());
      this.#maybeUnbusy(c);
    });
    socket.on('error', () => {
      c.closeReason ??= 'socket_error';
    });
    socket.on('end', () => this.#close(c, 'closed'));
    socket.on('close', () => this.#onClose(c));
    socket.write(SWITCHING_PROTOCOLS);
    socket.write(
      encodeFrame({
        type: 'server-key',
        version: PROTOCOL_VERSION,
        serverKey: this.#o.privateKey.publicKey.bytes,
        challenge,
      }),
    );
    if (head.length > 0) this.#onData(c, head);
  }

  #onData(c: RelayConn, chunk: Buffer): void {
    if (c.state >= CLOSING) return;
    c.lastRecv = this.#o.clock.now();
    this.#batching = true;
    try {
      c.decoder.push(chunk, (f) => this.#onFrame(c, f));
    } catch (e) {
      const code = e instanceof RelayFrameError ? e.code : 'RELAY_ABORTED';
      this.#log.warn(
        { node: c.fp || undefined, remote: c.socket.remoteAddress, code },
        'malformed relay frame',
      );
      if (c.state === ADMITTING) this.#refuse(c, 'malformed', `malformed frame: ${code}`);
      else this.#close(c, 'malformed', `malformed frame: ${code}`);
    } finally {
      this.#batching = false;
      const now = this.#o.clock.now();
      const t = this.#touched;
      this.#touched = [];
      for (const d of t) {
        d.touched = false;
        d.flush(now);
        this.#maybeUnbusy(d);
      }
    }
  }

  #onFrame(c: RelayConn, f: Frame): void {
    if (c.state === ADMITTED) {
      if (f.type === 'send-packet') this.#forward(c, f.dst, f.packet);
      else if (f.type === 'ping') this.#send(c, encodeFrame({ type: 'pong', data: f.data }));
      else if (f.type !== 'pong') this.#close(c, 'protocol', `unexpected ${f.type} frame`);
    } else if (c.state === ADMITTING) {
      if (f.type !== 'client-info') return this.#refuse(c, 'protocol', `expected client-info, got ${f.type}`);
      this.#admit(c, f);
    }
  }

  #admit(c: RelayConn, f: Extract<Frame, { type: 'client-info' }>): void {
    const r = admit(f, c.challenge!, this.#policy, this.#o.clock.wallMs());
    const fp = b64(f.clientKey).slice(0, 8);
    if (!r.ok) {
      this.#log.info(
        { node: fp, remote: c.socket.remoteAddress, reason: r.reason },
        'relay admission refused',
      );
      return this.#refuse(c, r.reason, r.message);
    }
    if (this.#revoked.has(b64(r.key))) {
      this.#log.info({ node: fp, remote: c.socket.remoteAddress }, 'relay admission refused: revoked');
      return this.#refuse(c, 'revoked', 'refused: this node key is revoked');
    }
    c.key = b64(r.key);
    c.keyBytes = new Uint8Array(r.key);
    c.version = f.version;
    c.expiresAtMs = r.expiresAtMs;
    c.challenge = null;
    c.state = ADMITTED;
    const old = this.#table.get(c.key);
    this.#table.set(c.key, c);
    this.#send(
      c,
      encodeFrame({ type: 'server-info', keepAliveMs: this.#o.keepAliveMs, maxPacketLen: MAX_PACKET_LEN }),
    );
    if (old) {
      // The same node again (a reconnect): hand over what waited for it, close the old socket.
      const dropped = c.adopt(old, ...this.#bounds());
      if (dropped) this.stats.drop('queue_full', dropped);
      if (old.senders) c.senders = old.senders;
      old.senders = null;
      this.#close(old, 'replaced', 'replaced by a newer connection of the same node');
    }
    this.stats.admitted++;
    this.#log.debug({ node: c.fp, remote: c.socket.remoteAddress, replaced: !!old }, 'relay client admitted');
  }

  #forward(src: RelayConn, dstKey: Uint8Array, packet: Uint8Array): void {
    const key = b64(dstKey);
    const dst = this.#table.get(key);
    if (!dst) {
      this.stats.drop('no_peer');
      const now = this.#o.clock.now();
      if (src.lastGoneKey !== key || now - src.lastGoneAt >= 1000) {
        src.lastGoneKey = key;
        src.lastGoneAt = now;
        this.#send(src, encodeFrame({ type: 'peer-gone', peer: dstKey, reason: PEER_GONE_NOT_HERE }));
      }
      return;
    }
    const frame = recvFrame(src.keyBytes!, packet);
    if (this.#budget.used + frameSize(frame) > this.#budget.max) {
      // Every client's queue is within its bound, but together they hold the relay's ceiling.
      this.stats.drop('relay_full');
      return;
    }
    this.stats.framesForwarded++;
    this.stats.bytesForwarded += packet.length;
    if (dst.senders === null) dst.senders = new Set();
    if (dst.senders.size < MAX_SENDERS) dst.senders.add(src.key);
    this.#send(dst, frame);
    // Backpressure instead of loss (frames.ts PEER_BUSY): a sender that understands it holds back
    // new data to `dst` until its queue drains, rather than fill it until the oldest are dropped.
    if (src.version >= CLIENT_VERSION_PEER_BUSY && dst.busy(...this.#bounds()) && !dst.busyTold?.has(src)) {
      if (dst.busyTold === null) dst.busyTold = new Set();
      if (dst.busyTold.size < MAX_SENDERS) {
        dst.busyTold.add(src);
        this.stats.busyNotices++;
        this.#send(src, encodeFrame({ type: 'peer-busy', peer: dst.keyBytes!, busy: true }));
      }
    }
  }

  /** Tells the senders told PEER_BUSY about `c` that its queue drained (or, `gone`, that it left). */
  #maybeUnbusy(c: RelayConn, gone = false): void {
    if (c.busyTold === null || (!gone && !c.drained(...this.#bounds()))) return;
    const told = c.busyTold;
    c.busyTold = null;
    for (const s of told)
      if (s.state === ADMITTED)
        this.#send(s, encodeFrame({ type: 'peer-busy', peer: c.keyBytes!, busy: false }));
  }

  #bounds(): [number, number] {
    return [this.#o.queue.maxPackets, this.#o.queue.maxBytes];
  }

  /** Queues a frame for `c` and writes it now, or after the chunk being processed. */
  #send(c: RelayConn, frame: QueuedFrame): void {
    const dropped = c.enqueue(frame, ...this.#bounds());
    if (dropped > 0) this.stats.drop(c.state >= CLOSING ? 'closed' : 'queue_full', dropped);
    if (this.#batching) {
      if (!c.touched) {
        c.touched = true;
        this.#touched.push(c);
      }
    } else c.flush(this.#o.clock.now());
  }

  #refuse(c: RelayConn, reason: RefusalReason, message: string): void {
    if (c.state !== ADMITTING) return;
    this.stats.refuse(reason);
    c.end(this.#o.clock.now(), health(message));
  }

  /** Ends an admitted (or admitting) connection; the table entry goes when its socket closes. */
  #close(c: RelayConn, reason: DisconnectReason, message?: string): void {
    if (c.state >= CLOSING) return;
    if (c.state === ADMITTED) c.closeReason = reason;
    if (reason !== 'closed' && reason !== 'shutdown' && c.state === ADMITTED)
      this.#log.info({ node: c.fp, reason }, 'relay client disconnected');
    const dropped = c.end(this.#o.clock.now(), message === undefined ? undefined : health(message));
    if (dropped) this.stats.drop('closed', dropped);
    this.#unlist(c);
  }

  /** Takes an admitted connection out of the table and tells its recent senders it is gone. */
  #unlist(c: RelayConn): void {
    if (c.key === '' || this.#table.get(c.key) !== c) return;
    this.#table.delete(c.key);
    const senders = c.senders;
    c.senders = null;
    if (!senders || this.#state !== 'running') return;
    for (const s of senders) {
      const peer = this.#table.get(s);
      if (peer)
        this.#send(
          peer,
          encodeFrame({ type: 'peer-gone', peer: c.keyBytes!, reason: PEER_GONE_DISCONNECTED }),
        );
    }
  }

  #onClose(c: RelayConn): void {
    this.#maybeUnbusy(c, true);
    if (c.state === ADMITTED) c.closeReason ??= 'closed';
    if (c.keyBytes) this.stats.disconnect(c.closeReason ?? 'closed');
    const dropped = c.end(this.#o.clock.now());
    if (dropped) this.stats.drop('closed', dropped);
    this.#unlist(c);
    c.state = CLOSED;
    this.#conns.delete(c);
  }

  // --- the one timer ---------------------------------------------------------------------------

  #armSweep(): void {
    if (this.#state !== 'running') return;
    this.#sweep = this.#o.clock.setTimeout(() => {
      this.#sweep = undefined;
      this.#sweepOnce();
      this.#armSweep();
    }, this.#o.sweepMs);
  }

  #sweepOnce(): void {
    const o = this.#o;
    const now = o.clock.now();
    const wall = o.clock.wallMs();
    for (const c of this.#conns) {
      if (c.state === ADMITTING) {
        if (now - c.since > o.admitTimeoutMs) this.#refuse(c, 'timeout', 'admission timed out');
      } else if (c.state === CLOSING) {
        if (now - c.since > o.admitTimeoutMs) c.socket.destroy();
      } else if (c.state === ADMITTED) {
        if (o.idleTimeoutMs > 0 && now - c.lastRecv > o.idleTimeoutMs) this.#close(c, 'idle', 'idle timeout');
        else if (o.enforceTokenExpiry && wall > c.expiresAtMs)
          this.#close(c, 'token_expired', 'relay token expired');
        else if (now - c.lastSend >= o.keepAliveMs) this.#send(c, KEEPALIVE);
      }
    }
  }
}
