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

type Spec = { name: string; help: string; labelNames?: string[]; buckets?: number[] };

/** Makes metrics on one registry. */
function makers(registry: Registry) {
  const m = (x: Spec) => ({ ...x, registers: [registry] });
  return {
    counter: <L extends string = never>(name: string, help: string, labelNames?: L[]) =>
      new Counter(m({ name, help, ...(labelNames ? { labelNames } : {}) })) as Counter<L>,
    gauge: (name: string, help: string) => new Gauge(m({ name, help })),
    histogram: (name: string, help: string, buckets: number[]) => new Histogram(m({ name, help, buckets })),
    m,
  };
}

export function createMetrics(): ControlMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sallyport_coordinator_' });
  // prom-client names three gauges *_total, which `promtool check metrics` (and Prometheus's
  // naming rules) reserve for counters: left out (test/alerts/metrics-lint.test.ts).
  for (const g of ['active_handles_total', 'active_requests_total', 'active_resources_total'])
    registry.removeSingleMetric(`sallyport_coordinator_nodejs_${g}`);
  const make = makers(registry);
  return {
    registry,
    ...certMetrics(make),
    ...channelMetrics(make),
    ...apiMetrics(make),
    ...auditMetrics(make),
    ...nodeMetrics(make),
    ...alertMetrics(make),
    ...clusterMetrics(make),
  };
}

type Make = ReturnType<typeof makers>;
const P = 'sallyport_coordinator_';

function certMetrics({ counter, m }: Make) {
  let readExpiry: (() => number) | undefined;
  return {
    certRenewals: counter(
      `${P}tls_certificate_renewals_total`,
      'Listener certificate renewals (ACME) or reloads (files), by result',
      ['result'],
    ),
    certExpiry: new Gauge({
      ...m({
        name: `${P}tls_certificate_expiry_timestamp_seconds`,
        help: 'notAfter of the listener certificate served now (Unix seconds)',
      }),
      collect() {
        if (readExpiry) this.set(readExpiry());
      },
    }),
    setCertExpiry: (read: () => number) => (readExpiry = read),
  };
}

function channelMetrics({ counter, gauge, histogram }: Make) {
  return {
    sessions: gauge(`${P}agent_sessions`, 'Agent channels admitted and open'),
    channelRefusals: counter(`${P}channel_refusals_total`, 'Agent channels refused, by reason', ['reason']),
    channelDrops: counter(
      `${P}channel_drops_total`,
      'Agent channel messages dropped (channel closed), by reason',
      ['reason'],
    ),
    netmapsSent: counter(`${P}netmaps_sent_total`, 'Netmaps sent, full or delta', ['kind']),
    netmapSeconds: histogram(
      `${P}netmap_compute_seconds`,
      'Time to compute one node netmap',
      [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5],
    ),
  };
}

function apiMetrics({ counter }: Make) {
  return {
    apiRequests: counter(`${P}api_requests_total`, 'API requests by route and status', ['route', 'status']),
    apiRefusals: counter(`${P}api_refusals_total`, 'API requests refused, by error code', ['code']),
    auditRefusalsSuppressed: counter(
      `${P}audit_refusals_suppressed_total`,
      'Refused actions whose audit record was left out by the per-user bound (summed up later)',
    ),
    certificates: counter(`${P}certificates_total`, 'Certificates issued to agents, service or client', [
      'kind',
    ]),
  };
}

function auditMetrics({ counter, gauge }: Make) {
  return {
    auditCheckpoints: counter(
      `${P}audit_checkpoints_total`,
      'Audit checkpoints signed or refused (refused: the chain does not extend the anchor)',
      ['result'],
    ),
    auditRewrites: counter(
      `${P}audit_rewrite_detected_total`,
      'Audit chain found not to extend the last checkpoint this coordinator signed (AUDIT_REWRITE)',
    ),
    auditSignerHalted: gauge(
      `${P}audit_signer_halted`,
      '1 while the audit signer refuses checkpoints after detecting a rewrite',
    ),
    anchorsSent: counter(`${P}audit_anchors_sent_total`, 'Audit checkpoints pushed to connectors'),
  };
}

function nodeMetrics({ counter }: Make) {
  return {
    enrollments: counter(`${P}enrollments_total`, 'Nodes enrolled', ['kind']),
    revocationPushes: counter(`${P}revocation_pushes_total`, 'Revocation lists pushed to relays, by result', [
      'result',
    ]),
    takeoversRefused: counter(
      `${P}service_takeovers_refused_total`,
      'Service registrations refused: another live connector of the deployment holds the service',
    ),
  };
}

function alertMetrics({ counter }: Make) {
  return {
    alertDeliveries: counter(
      `${P}alert_deliveries_total`,
      'Alertmanager webhook deliveries, by result (accepted, unauthorized, forbidden, bad-request)',
      ['result'],
    ),
    incidents: counter(
      `${P}incidents_total`,
      'Incidents opened or closed from Alertmanager alerts, by change',
      ['change'],
    ),
  };
}

function clusterMetrics({ counter, gauge, histogram }: Make) {
  return {
    fanoutChanges: counter(
      `${P}fanout_changes_total`,
      'Netmap changes published to, or applied from, other coordinators, by result',
      ['result'],
    ),
    fanoutDrops: counter(
      `${P}fanout_drops_total`,
      'Netmap changes not published or not applied across coordinators, by reason',
      ['reason'],
    ),
    fanoutReconnects: counter(
      `${P}fanout_reconnects_total`,
      'Times the LISTEN connection for netmap changes was lost and reopened',
    ),
    fanoutResyncs: counter(
      `${P}fanout_resyncs_total`,
      'Full recomputations of every local netmap after a gap in the change log',
    ),
    fanoutDelaySeconds: histogram(
      `${P}fanout_delay_seconds`,
      'Time from a change on another coordinator to its netmaps pushed here',
      [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 5],
    ),
    timerOwner: gauge(
      `${P}timer_owner`,
      '1 while this coordinator owns the timers (grant expiry, standing grants)',
    ),
    timerOwnerChanges: counter(
      `${P}timer_owner_changes_total`,
      'Times this coordinator acquired or lost the timer lock, by event',
      ['event'],
    ),
  };
}
