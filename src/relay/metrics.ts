// The relay's counters. The per-packet path bumps plain numbers in RelayStats (no label hashing
// per packet); its own prom-client Registry (never the global one) reads them at scrape time.
import { Counter, Gauge, Registry } from 'prom-client';

export const DROP_REASONS = ['queue_full', 'relay_full', 'no_peer', 'closed'] as const;
/** Why a frame for a client was dropped. */
export type DropReason = (typeof DROP_REASONS)[number];

export const REFUSAL_REASONS = [
  'no_token',
  'token_malformed',
  'token_expired',
  'token_not_yet_valid',
  'token_bad_signature',
  'token_unknown_key',
  'token_wrong_node',
  'token_wrong_region',
  'bad_proof',
  'bad_version',
  'malformed',
  'protocol',
  'timeout',
  'capacity',
  'revoked',
] as const;
/** Why a connection was refused admission. */
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export const DISCONNECT_REASONS = [
  'closed',
  'malformed',
  'protocol',
  'replaced',
  'idle',
  'token_expired',
  'socket_error',
  'shutdown',
  'revoked',
] as const;
export const REVOCATION_RESULTS = [
  'accepted',
  'revocations_malformed',
  'revocations_unknown_key',
  'revocations_bad_signature',
  'revocations_stale',
  'revocations_not_yet_valid',
  'too_large',
] as const;
/** What became of a revocation list pushed to the relay. */
export type RevocationResult = (typeof REVOCATION_RESULTS)[number];

/** Why an admitted client was disconnected by the relay or left. */
export type DisconnectReason = (typeof DISCONNECT_REASONS)[number];

export class RelayStats {
  admitted = 0;
  framesForwarded = 0;
  bytesForwarded = 0;
  /** PEER_BUSY notices sent (a sender told to hold back: backpressure instead of a drop). */
  busyNotices = 0;
  stunRequests = 0;
  stunAnswered = 0;
  readonly drops = new Map<DropReason, number>();
  readonly refusals = new Map<RefusalReason, number>();
  readonly disconnects = new Map<DisconnectReason, number>();
  readonly revocationLists = new Map<RevocationResult, number>();

  drop(r: DropReason, n = 1): void {
    this.drops.set(r, (this.drops.get(r) ?? 0) + n);
  }
  refuse(r: RefusalReason): void {
    this.refusals.set(r, (this.refusals.get(r) ?? 0) + 1);
  }
  revocationList(r: RevocationResult): void {
    this.revocationLists.set(r, (this.revocationLists.get(r) ?? 0) + 1);
  }
  disconnect(r: DisconnectReason): void {
    this.disconnects.set(r, (this.disconnects.get(r) ?? 0) + 1);
  }
}

/** A counter whose value is mirrored from a number at scrape time. */
function mirror(
  registry: Registry,
  name: string,
  help: string,
  read: () => number | Map<string, number>,
  label?: string,
  known: readonly string[] = [],
): void {
  new Counter({
    name,
    help,
    labelNames: label ? [label] : [],
    registers: [registry],
    collect() {
      this.reset();
      const v = read();
      if (typeof v === 'number') this.inc(v);
      else {
        // Every known reason appears, at 0 until it happens, so alerts can use rate() from the start.
        for (const k of known) this.labels(k).inc(0);
        for (const [k, n] of v) this.labels(k).inc(n);
      }
    },
  });
}

/** The Registry behind /metrics. The `live` gauges are read at scrape time. */
export function relayRegistry(
  stats: RelayStats,
  live: { clients(): number; admitting(): number; queuedBytes(): number; revokedKeys(): number },
): Registry {
  const r = new Registry();
  new Gauge({
    name: 'sallyport_relay_clients',
    help: 'Admitted clients connected now',
    registers: [r],
    collect() {
      this.set(live.clients());
    },
  });
  new Gauge({
    name: 'sallyport_relay_admitting',
    help: 'Connections upgraded but not yet admitted',
    registers: [r],
    collect() {
      this.set(live.admitting());
    },
  });
  new Gauge({
    name: 'sallyport_relay_queued_bytes',
    help: 'Bytes waiting in all client queues',
    registers: [r],
    collect() {
      this.set(live.queuedBytes());
    },
  });
  mirror(r, 'sallyport_relay_admissions_total', 'Clients admitted', () => stats.admitted);
  mirror(
    r,
    'sallyport_relay_frames_forwarded_total',
    'Packets forwarded (SEND to RECV)',
    () => stats.framesForwarded,
  );
  mirror(r, 'sallyport_relay_bytes_forwarded_total', 'Packet bytes forwarded', () => stats.bytesForwarded);
  mirror(
    r,
    'sallyport_relay_busy_notices_total',
    'PEER_BUSY notices: a sender told to hold back because the queue towards its peer is half full',
    () => stats.busyNotices,
  );
  mirror(
    r,
    'sallyport_relay_drops_total',
    'Packets dropped, by reason',
    () => stats.drops,
    'reason',
    DROP_REASONS,
  );
  mirror(
    r,
    'sallyport_relay_refusals_total',
    'Admissions refused, by reason',
    () => stats.refusals,
    'reason',
    REFUSAL_REASONS,
  );
  mirror(
    r,
    'sallyport_relay_disconnects_total',
    'Admitted clients disconnected, by reason',
    () => stats.disconnects,
    'reason',
    DISCONNECT_REASONS,
  );
  mirror(
    r,
    'sallyport_relay_revocation_lists_total',
    'Revocation lists pushed by a coordinator, by result',
    () => stats.revocationLists,
    'result',
    REVOCATION_RESULTS,
  );
  new Gauge({
    name: 'sallyport_relay_revoked_keys',
    help: 'Node keys on the revocation list in force',
    registers: [r],
    collect() {
      this.set(live.revokedKeys());
    },
  });
  mirror(r, 'sallyport_relay_stun_requests_total', 'STUN datagrams received', () => stats.stunRequests);
  mirror(r, 'sallyport_relay_stun_responses_total', 'STUN responses sent', () => stats.stunAnswered);
  return r;
}
