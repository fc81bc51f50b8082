// The coordinator's Prometheus metrics, on a Registry of its own (never the global one).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ControlMetrics {
  registry: Registry;
  sessions: Gauge;
  channelRefusals: Counter<'reason'>;
  channelDrops: Counter<'reason'>;
  netmapsSent: Counter<'kind'>;
  netmapSeconds: Histogram;
  apiRequests: Counter<'route' | 'status'>;
  apiRefusals: Counter<'code'>;
  /** Refusal audit records left out by the per-user bound (summed up in audit.refusals-suppressed). */
  auditRefusalsSuppressed: Counter;
  enrollments: Counter<'kind'>;
  /** Service registrations refused because another live connector holds the service. */
  takeoversRefused: Counter;
  /** Revocation lists pushed to relays, by result (ok, failed). */
  revocationPushes: Counter<'result'>;
  certificates: Counter<'kind'>;
  /** Audit checkpoints signed or refused (audit-signer.ts). */
  auditCheckpoints: Counter<'result'>;
  /** Times the stored audit chain was found not to extend the signer's anchor. */
  auditRewrites: Counter;
  /** 1 while the audit signer refuses every checkpoint (a rewrite was detected). */
  auditSignerHalted: Gauge;
  /** Checkpoints pushed to connectors (agent channel `checkpoint` messages). */
  anchorsSent: Counter;
  /** Listener certificate renewals (ACME) or reloads (files), by result (ok, failed). */
  certRenewals: Counter<'result'>;
  /** notAfter of the listener certificate served now, Unix seconds (read at scrape time). */
  certExpiry: Gauge;
  /** Where certExpiry reads from (the coordinator's certificate source). */
  setCertExpiry(read: () => number): void;
  /** Alertmanager webhook deliveries, by result (accepted, unauthorized, forbidden, bad-request). */
  alertDeliveries: Counter<'result'>;
  /** Incidents opened or closed (alerts-api.ts). */
  incidents: Counter<'change'>;
  /** Netmap changes published to / applied from other coordinators (fanout.ts), by result. */
  fanoutChanges: Counter<'result'>;
  /** Netmap changes not applied or not published, by reason (malformed, publish-failed, apply-failed). */
  fanoutDrops: Counter<'reason'>;
  /** Times the LISTEN connection was lost, and full resyncs of every local session (a gap). */
  fanoutReconnects: Counter;
  fanoutResyncs: Counter;
  /** Seconds from a change's commit on another coordinator to its netmaps pushed here. */
  fanoutDelaySeconds: Histogram;
  /** 1 while this coordinator owns the timers (grant expiry, standing grants), else 0. */
  timerOwner: Gauge;
  /** Times this coordinator took or lost the timer lock, by event (acquired, lost). */
  timerOwnerChanges: Counter<'event'>;
}

export function createMetrics(): ControlMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sallyport_coordinator_' });
  // prom-client names three gauges *_total, which `promtool check metrics` (and Prometheus's
  // naming rules) reserve for counters: left out (test/alerts/metrics-lint.test.ts).
  for (const g of ['active_handles_total', 'active_requests_total', 'active_resources_total'])
    registry.removeSingleMetric(`sallyport_coordinator_nodejs_${g}`);
  const m = (x: { name: string; help: string; labelNames?: string[]; buckets?: number[] }) => ({
    ...x,
    registers: [registry],
  });
  let readExpiry: (() => number) | undefined;
  return {
    registry,
    certRenewals: new Counter(
      m({
        name: 'sallyport_coordinator_tls_certificate_renewals_total',
        help: 'Listener certificate renewals (ACME) or reloads (files), by result',
        labelNames: ['result'],
      }),
    ) as Counter<'result'>,
    certExpiry: new Gauge({
      ...m({
        name: 'sallyport_coordinator_tls_certificate_expiry_timestamp_seconds',
        help: 'notAfter of the listener certificate served now (Unix seconds)',
      }),
      collect() {
        if (readExpiry) this.set(readExpiry());
      },
    }),
    setCertExpiry: (read) => (readExpiry = read),
    sessions: new Gauge(
      m({ name: 'sallyport_coordinator_agent_sessions', help: 'Agent channels admitted and open' }),
    ),
    channelRefusals: new Counter(
      m({
        name: 'sallyport_coordinator_channel_refusals_total',
        help: 'Agent channels refused, by reason',
        labelNames: ['reason'],
      }),
    ) as Counter<'reason'>,
    channelDrops: new Counter(
      m({
        name: 'sallyport_coordinator_channel_drops_total',
        help: 'Agent channel messages dropped (channel closed), by reason',
        labelNames: ['reason'],
      }),
    ) as Counter<'reason'>,
    netmapsSent: new Counter(
      m({
        name: 'sallyport_coordinator_netmaps_sent_total',
        help: 'Netmaps sent, full or delta',
        labelNames: ['kind'],
      }),
    ) as Counter<'kind'>,
    netmapSeconds: new Histogram(
      m({
        name: 'sallyport_coordinator_netmap_compute_seconds',
        help: 'Time to compute one node netmap',
        buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5],
      }),
    ),
    apiRequests: new Counter(
      m({
        name: 'sallyport_coordinator_api_requests_total',
        help: 'API requests by route and status',
        labelNames: ['route', 'status'],
      }),
    ) as Counter<'route' | 'status'>,
    apiRefusals: new Counter(
      m({
        name: 'sallyport_coordinator_api_refusals_total',
        help: 'API requests refused, by error code',
        labelNames: ['code'],
      }),
    ) as Counter<'code'>,
    auditRefusalsSuppressed: new Counter(
      m({
        name: 'sallyport_coordinator_audit_refusals_suppressed_total',
        help: 'Refused actions whose audit record was left out by the per-user bound (summed up later)',
      }),
    ),
    certificates: new Counter(
      m({
        name: 'sallyport_coordinator_certificates_total',
        help: 'Certificates issued to agents, service or client',
        labelNames: ['kind'],
      }),
    ) as Counter<'kind'>,
    auditCheckpoints: new Counter(
      m({
        name: 'sallyport_coordinator_audit_checkpoints_total',
        help: 'Audit checkpoints signed or refused (refused: the chain does not extend the anchor)',
        labelNames: ['result'],
      }),
    ) as Counter<'result'>,
    auditRewrites: new Counter(
      m({
        name: 'sallyport_coordinator_audit_rewrite_detected_total',
        help: 'Audit chain found not to extend the last checkpoint this coordinator signed (AUDIT_REWRITE)',
      }),
    ),
    auditSignerHalted: new Gauge(
      m({
        name: 'sallyport_coordinator_audit_signer_halted',
        help: '1 while the audit signer refuses checkpoints after detecting a rewrite',
      }),
    ),
    anchorsSent: new Counter(
      m({
        name: 'sallyport_coordinator_audit_anchors_sent_total',
        help: 'Audit checkpoints pushed to connectors',
      }),
    ),
    enrollments: new Counter(
      m({ name: 'sallyport_coordinator_enrollments_total', help: 'Nodes enrolled', labelNames: ['kind'] }),
    ) as Counter<'kind'>,
    revocationPushes: new Counter(
      m({
        name: 'sallyport_coordinator_revocation_pushes_total',
        help: 'Revocation lists pushed to relays, by result',
        labelNames: ['result'],
      }),
    ) as Counter<'result'>,
    takeoversRefused: new Counter(
      m({
        name: 'sallyport_coordinator_service_takeovers_refused_total',
        help: 'Service registrations refused: another live connector of the deployment holds the service',
      }),
    ),
    alertDeliveries: new Counter(
      m({
        name: 'sallyport_coordinator_alert_deliveries_total',
        help: 'Alertmanager webhook deliveries, by result (accepted, unauthorized, forbidden, bad-request)',
        labelNames: ['result'],
      }),
    ) as Counter<'result'>,
    incidents: new Counter(
      m({
        name: 'sallyport_coordinator_incidents_total',
        help: 'Incidents opened or closed from Alertmanager alerts, by change',
        labelNames: ['change'],
      }),
    ) as Counter<'change'>,
    fanoutChanges: new Counter(
      m({
        name: 'sallyport_coordinator_fanout_changes_total',
        help: 'Netmap changes published to, or applied from, other coordinators, by result',
        labelNames: ['result'],
      }),
    ) as Counter<'result'>,
    fanoutDrops: new Counter(
      m({
        name: 'sallyport_coordinator_fanout_drops_total',
        help: 'Netmap changes not published or not applied across coordinators, by reason',
        labelNames: ['reason'],
      }),
    ) as Counter<'reason'>,
    fanoutReconnects: new Counter(
      m({
        name: 'sallyport_coordinator_fanout_reconnects_total',
        help: 'Times the LISTEN connection for netmap changes was lost and reopened',
      }),
    ),
    fanoutResyncs: new Counter(
      m({
        name: 'sallyport_coordinator_fanout_resyncs_total',
        help: 'Full recomputations of every local netmap after a gap in the change log',
      }),
    ),
    fanoutDelaySeconds: new Histogram(
      m({
        name: 'sallyport_coordinator_fanout_delay_seconds',
        help: 'Time from a change on another coordinator to its netmaps pushed here',
        buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 5],
      }),
    ),
    timerOwner: new Gauge(
      m({
        name: 'sallyport_coordinator_timer_owner',
        help: '1 while this coordinator owns the timers (grant expiry, standing grants)',
      }),
    ),
    timerOwnerChanges: new Counter(
      m({
        name: 'sallyport_coordinator_timer_owner_changes_total',
        help: 'Times this coordinator acquired or lost the timer lock, by event',
        labelNames: ['event'],
      }),
    ) as Counter<'event'>,
  };
}
