// The ingress's Prometheus metrics: every refusal counted by reason, connections and bytes, the
// allow list and the certificate.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type Refusal =
  | 'not-allowed'
  | 'not-private'
  | 'proxy-untrusted'
  | 'proxy-malformed'
  | 'proxy-missing-address'
  | 'hello-malformed'
  | 'hello-timeout'
  | 'no-route'
  | 'no-certificate'
  | 'too-many-connections';

/** Counts on the per-connection and per-chunk paths: plain numbers, copied into the counters at scrape time. */
export class HotCounts {
  readonly connections = new Map<string, number>();
  readonly proxied = new Map<string, number>();
  bytesIn = 0;
  bytesOut = 0;

  connection(listener: string): void {
    this.connections.set(listener, (this.connections.get(listener) ?? 0) + 1);
  }

  proxy(route: string): void {
    this.proxied.set(route, (this.proxied.get(route) ?? 0) + 1);
  }
}

export class IngressMetrics {
  readonly registry = new Registry();
  readonly hot = new HotCounts();
  readonly connections: Counter<'listener'> = new Counter({
    name: 'sallyport_ingress_connections_total',
    help: 'Connections accepted by a listener (before any check)',
    labelNames: ['listener'] as const,
    registers: [this.registry],
    collect: (): void => this.#copy(this.connections, this.hot.connections, 'listener'),
  });
  readonly refused = new Counter({
    name: 'sallyport_ingress_refused_total',
    help: 'Connections refused, by reason (not-allowed: the allow list; no-route: no route for the server name; …)',
    labelNames: ['listener', 'reason'] as const,
    registers: [this.registry],
  });
  readonly proxied: Counter<'route'> = new Counter({
    name: 'sallyport_ingress_proxied_total',
    help: 'Connections handed to a backend after the TLS handshake, by route',
    labelNames: ['route'] as const,
    registers: [this.registry],
    collect: (): void => this.#copy(this.proxied, this.hot.proxied, 'route'),
  });
  readonly failures = new Counter({
    name: 'sallyport_ingress_failures_total',
    help: 'Connections that failed after the checks: tls (the handshake), backend (connect or reset)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly active = new Gauge({
    name: 'sallyport_ingress_active_connections',
    help: 'Connections open now (clients)',
    registers: [this.registry],
  });
  readonly bytes: Counter<'direction'> = new Counter({
    name: 'sallyport_ingress_bytes_total',
    help: 'Bytes relayed, by direction (in: client to backend)',
    labelNames: ['direction'] as const,
    registers: [this.registry],
    collect: (): void => {
      this.bytes.reset();
      this.bytes.inc({ direction: 'in' }, this.hot.bytesIn);
      this.bytes.inc({ direction: 'out' }, this.hot.bytesOut);
    },
  });
  readonly handshake = new Histogram({
    name: 'sallyport_ingress_tls_handshake_seconds',
    help: 'From the ClientHello to an established TLS session',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly allowEntries = new Gauge({
    name: 'sallyport_ingress_allowlist_entries',
    help: 'Entries in the allow list in force',
    registers: [this.registry],
  });
  readonly allowReloads = new Counter({
    name: 'sallyport_ingress_allowlist_reloads_total',
    help: 'Reloads of the allow-list file, by result (failed: the file did not parse; the old list stays)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly certRenewals = new Counter({
    name: 'sallyport_ingress_certificate_renewals_total',
    help: 'Certificate renewals (ACME) or reloads (files), by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly certNotAfter = new Gauge({
    name: 'sallyport_ingress_certificate_not_after_seconds',
    help: 'When the certificate served now expires (Unix time)',
    registers: [this.registry],
  });
  #copy<L extends string>(c: Counter<L>, from: Map<string, number>, label: L): void {
    c.reset();
    for (const [k, n] of from) c.inc({ [label]: k } as Record<L, string>, n);
  }

  readonly acmeValidations = new Counter({
    name: 'sallyport_ingress_acme_tls_alpn_validations_total',
    help: 'ACME tls-alpn-01 validation handshakes answered',
    registers: [this.registry],
  });
}
