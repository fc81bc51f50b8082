// The demo service the lab serves when ClickHouse is not installed: a small HTTP server that
// answers like Prometheus's query API, so that the connector's Prometheus target (the proxy that
// allows the read API and refuses admin and write paths) stands in front of it. It is labelled as
// a demo everywhere it appears; nothing in it is access control: the refusals come from the target.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { firstLine, type LabService } from './service.ts';

export interface DemoService {
  port: number;
  /** Requests that reached the demo service (the refused ones never do). */
  seen: { method: string; path: string }[];
  stop(): Promise<void>;
}

const BANNER = 'sallyport lab DEMO service (a stand-in answering like the Prometheus query API)\n';

export async function startDemoService(): Promise<DemoService> {
  const seen: DemoService['seen'] = [];
  const srv: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://demo');
    if (seen.length < 1000) seen.push({ method: req.method ?? '', path: url.pathname });
    const json = (status: number, v: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-sallyport-demo': '1' });
      res.end(JSON.stringify(v));
    };
    req.resume();
    if (url.pathname === '/api/v1/query')
      return json(200, {
        status: 'success',
        data: {
          resultType: 'vector',
          result: [{ metric: { __name__: 'up', job: 'demo' }, value: [Date.UTC(2026, 0) / 1000, '1'] }],
        },
        demo: true,
      });
    if (url.pathname.startsWith('/api/v1/admin/'))
      // If a request got here, nothing refused it: the lab reports that as a failure.
      return json(200, { status: 'success', demo: true, warning: 'admin path reached the demo service' });
    res.writeHead(200, { 'content-type': 'text/plain', 'x-sallyport-demo': '1' });
    res.end(BANNER);
  });
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (srv.address() as AddressInfo).port,
    seen,
    stop: () =>
      new Promise<void>((resolve) => {
        srv.closeAllConnections();
        srv.close(() => resolve());
      }),
  };
}

/** The demo as a lab service: kind prometheus, so the Prometheus target's allow-list applies. */
export async function demoService(why: string): Promise<LabService> {
  const demo = await startDemoService();
  return {
    label: `DEMO service (${why}): a stand-in answering like Prometheus's query API, 127.0.0.1:${demo.port}`,
    demo: true,
    spec: {
      name: 'demo',
      kind: 'prometheus',
      address: `127.0.0.1:${demo.port}`,
      tls: 'terminate',
      target: {},
    },
    probes: [
      {
        step: 'query',
        what: 'GET /api/v1/query?query=up (read API, demo)',
        request: { path: '/api/v1/query?query=up' },
        retryMs: 5000,
        judge: (a) =>
          a.status === 200 && a.body.includes('"success"')
            ? { ok: true, summary: 'answered (demo data)' }
            : { ok: false, summary: `HTTP ${a.status}: ${firstLine(a.body)}` },
      },
      {
        step: 'refused',
        what: 'POST /api/v1/admin/tsdb/delete_series (admin API, demo)',
        request: { method: 'POST', path: '/api/v1/admin/tsdb/delete_series?match[]=up' },
        judge: (a) => {
          const reached = demo.seen.some((r) => r.path.startsWith('/api/v1/admin/'));
          if (reached) return { ok: false, summary: 'the admin request reached the demo service' };
          return a.status === 403
            ? { ok: true, summary: `refused by the connector's target (HTTP 403: ${firstLine(a.body, 90)})` }
            : { ok: false, summary: `expected HTTP 403, got ${a.status}: ${firstLine(a.body)}` };
        },
      },
    ],
    stop: () => demo.stop(),
  };
}
