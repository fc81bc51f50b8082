// The egress components' Prometheus metrics, on their own Registry (never the global one), mirrored
// at scrape time from the plain counters of the spool, the drain loop and the producer; and a tiny
// HTTP listener for GET /metrics (off unless an address is given; bind it to 127.0.0.1 or the pod IP).
import { Counter, Gauge, Registry } from 'prom-client';
import type { Drainer } from './drain.ts';
import type { Spool } from './spool.ts';

export interface EgressMetricsSource {
  /** 'billing' or 'state': the `component` label of every series. */
  component: string;
  spool: Spool;
  drain: Drainer;
  /** Samples (billing) or state snapshots (state) taken. */
  samples: () => number;
  /** Readings that failed (cgroup unreadable, health probe error). */
  sampleErrors: () => number;
  /** Journal lines dropped as torn after a crash (billing only). */
  journalTorn?: () => number;
}

export const DROP_REASONS = [
  'drop_oldest',
  'refuse_new',
  'too_large',
  'torn',
  'journal_torn',
  'rejected',
] as const;

export function egressRegistry(s: EgressMetricsSource): Registry {
  const r = new Registry();
  r.setDefaultLabels({ component: s.component });
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [r],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [r],
      collect() {
        this.set(read());
      },
    });
  counter('sallyport_egress_samples_total', 'Samples (billing) or state snapshots (state) taken', s.samples);
  counter('sallyport_egress_sample_errors_total', 'Readings that failed', s.sampleErrors);
  counter('sallyport_egress_spooled_total', 'Records written to the spool', () => s.spool.stats.spooled);
  counter(
    'sallyport_egress_uploaded_total',
    'Records the object store or queue accepted',
    () => s.drain.stats.uploaded,
  );
  counter(
    'sallyport_egress_upload_failures_total',
    'Upload attempts that failed (retried)',
    () => s.drain.stats.failures,
  );
  new Counter({
    name: 'sallyport_egress_dropped_total',
    help: 'Records or samples given up, by reason (spool policy, torn files, rejected records)',
    labelNames: ['reason'],
    registers: [r],
    collect() {
      this.reset();
      const st = s.spool.stats;
      const v: Record<(typeof DROP_REASONS)[number], number> = {
        drop_oldest: st.droppedOldest,
        refuse_new: st.refusedNew,
        too_large: st.tooLarge,
        torn: st.torn,
        journal_torn: s.journalTorn?.() ?? 0,
        rejected: s.drain.stats.rejected,
      };
      for (const k of DROP_REASONS) this.labels(k).inc(v[k]);
    },
  });
  gauge('sallyport_egress_spool_bytes', 'Bytes held in the spool', () => s.spool.bytes);
  gauge('sallyport_egress_spool_records', 'Records held in the spool', () => s.spool.records);
  return r;
}

export { serveMetrics } from '../util/metrics-http.ts';
