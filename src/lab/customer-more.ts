// Prometheus (a private server, when installed) and the Kubernetes API recording stub in the lab,
// each behind the connector's target for its kind: the Prometheus target allows the read API and
// refuses admin paths; the Kubernetes target impersonates the engineer and refuses secrets.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import { startK8sStub } from './servers/k8s-stub.ts';
import { prometheusInstalled, startPrometheus } from './servers/prometheus.ts';
import { firstLine, type LabService } from './service.ts';

interface Opts {
  dir: string;
  clock: Clock;
  logger: Logger;
  signal: AbortSignal;
}

/** Prometheus behind the connector, or why not. */
export async function prometheusService(o: Opts): Promise<LabService | string> {
  if (!prometheusInstalled()) return 'not installed (apt-get install prometheus): not served';
  const dir = join(o.dir, 'prometheus');
  mkdirSync(dir, { recursive: true });
  // The admin API is on: only the connector's target stands between the engineer and delete_series.
  const p = await startPrometheus({ dir, clock: o.clock, adminApi: true });
  return {
    label: `Prometheus (private server, 127.0.0.1:${p.port})`,
    demo: false,
    pid: p.pid,
    spec: {
      name: 'prometheus',
      kind: 'prometheus',
      address: `127.0.0.1:${p.port}`,
      tls: 'terminate',
      target: {},
    },
    probes: [
      {
        step: 'prometheus',
        what: 'PromQL up',
        request: { path: '/api/v1/query?query=up' },
        // its first self-scrape lands about a second after start
        retryMs: 20_000,
        judge: (a) => {
          const n = /"result":\[(.*)\]/.exec(a.body)?.[1];
          return a.status === 200 && n && n.length > 2
            ? { ok: true, summary: 'answered with data' }
            : { ok: false, summary: `HTTP ${a.status}: ${firstLine(a.body)}` };
        },
      },
      {
        step: 'prometheus',
        what: 'POST /api/v1/admin/tsdb/delete_series',
        request: { method: 'POST', path: '/api/v1/admin/tsdb/delete_series?match[]=up' },
        judge: (a) =>
          a.status === 403 && a.body.includes('sallyport')
            ? { ok: true, summary: `refused by the connector (403: ${firstLine(a.body, 90)})` }
            : { ok: false, summary: `expected the connector's 403, got ${a.status}: ${firstLine(a.body)}` },
      },
    ],
    stop: () => p.stop(),
  };
}

/** The Kubernetes API recording stub (NOT an API server) behind the connector's kubernetes target. */
export async function kubernetesService(o: Opts): Promise<LabService> {
  const dir = join(o.dir, 'k8s-stub');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const token = randomBytes(24).toString('base64url');
  const stub = await startK8sStub({ token });
  // what a connector pod would find in its service-account mount
  writeFileSync(join(dir, 'token'), token, { mode: 0o600 });
  writeFileSync(join(dir, 'ca.crt'), stub.caPem);
  const reachedSecrets = () => stub.requests.some((r) => r.path.includes('/secrets'));
  return {
    label: `Kubernetes API recording stub (not a Kubernetes API server), 127.0.0.1:${stub.port}`,
    demo: false,
    spec: {
      name: 'k8s',
      kind: 'kubernetes',
      address: `127.0.0.1:${stub.port}`,
      tls: 'terminate',
      target: { tokenFile: join(dir, 'token'), caFile: join(dir, 'ca.crt'), serverName: 'localhost' },
    },
    probes: [
      {
        step: 'kubernetes',
        what: 'list pods',
        request: { path: '/api/v1/namespaces/default/pods', headers: { accept: 'application/json' } },
        retryMs: 3000,
        judge: (a) => {
          const seen = stub.requests
            .filter((r) => r.path.startsWith('/api/v1/namespaces/default/pods'))
            .at(-1);
          if (a.status !== 200) return { ok: false, summary: `HTTP ${a.status}: ${firstLine(a.body)}` };
          const as = seen?.headers['impersonate-user'];
          return as === undefined
            ? { ok: false, summary: 'the API server saw no impersonation' }
            : { ok: true, summary: `listed, as impersonated user ${String(as)}` };
        },
      },
      {
        step: 'kubernetes',
        what: 'list secrets',
        request: { path: '/api/v1/namespaces/default/secrets', headers: { accept: 'application/json' } },
        judge: (a) => {
          if (reachedSecrets())
            return { ok: false, summary: 'the request for secrets reached the API server' };
          return a.status === 403 && a.body.includes('Forbidden')
            ? { ok: true, summary: 'refused by the connector (403 Forbidden)' }
            : { ok: false, summary: `expected 403, got ${a.status}: ${firstLine(a.body)}` };
        },
      },
    ],
    stop: () => stub.stop(),
  };
}
