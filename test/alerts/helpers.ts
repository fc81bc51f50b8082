// Shared by the alerts tests: a local webhook receiver and Alertmanager v4 webhook bodies.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Hook {
  server: Server;
  url: string;
  bodies: { text: string; blocks?: unknown[] }[];
}

/** An HTTP receiver on 127.0.0.1 that keeps every JSON body POSTed to it. */
export function startReceiver(): Promise<Hook> {
  const hook: Hook = { server: undefined as unknown as Server, url: '', bodies: [] };
  hook.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        hook.bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Hook['bodies'][number]);
      } catch {
        /* not JSON: not ours */
      }
      res.writeHead(200).end('ok');
    });
  });
  return new Promise((resolve) =>
    hook.server.listen(0, '127.0.0.1', () => {
      hook.url = `http://127.0.0.1:${(hook.server.address() as AddressInfo).port}/hook`;
      resolve(hook);
    }),
  );
}

/** Polls `pred` every 50 ms until it holds; fails after `ms`. */
export async function waitFor(
  pred: () => boolean | Promise<boolean>,
  ms = 5000,
  what = 'condition',
): Promise<void> {
  const t0 = Date.now();
  while (!(await pred())) {
    if (Date.now() - t0 > ms) assert.fail(`${what} not met in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface AlertSpec {
  status: 'firing' | 'resolved';
  fingerprint: string;
  labels: Record<string, string>;
  summary?: string;
  startsAt?: string;
}

/** An Alertmanager v4 webhook body, with the keys Alertmanager 0.25 sends. */
export function amBody(alerts: AlertSpec[]): Record<string, unknown> {
  const startsAt = '2026-12-06T03:00:00.000Z';
  return {
    receiver: 'sallyport-coordinator',
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    alerts: alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.summary === undefined ? {} : { summary: a.summary },
      startsAt: a.startsAt ?? startsAt,
      endsAt: a.status === 'resolved' ? '2026-12-06T03:05:00.000Z' : '0001-01-01T00:00:00Z',
      generatorURL: 'http://127.0.0.1:9090/graph?g0.expr=up',
      fingerprint: a.fingerprint,
    })),
    groupLabels: { alertname: alerts[0]?.labels.alertname ?? '' },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://127.0.0.1:9093',
    version: '4',
    groupKey: '{}:{alertname="x"}',
    truncatedAlerts: 0,
  };
}
