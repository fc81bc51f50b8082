// `sallyport lab --netns`, the customer's side: this program runs inside the customer namespace
// (spawned by nat-parties.ts) and starts the customer's services there, as customer.ts does for
// the one-process lab — ClickHouse or the demo service, Prometheus, the Kubernetes API stub — all
// on the namespace's own loopback, where only the connector reaches them. It speaks JSON lines:
//
//   stdout ─► {"type":"info","what":"ClickHouse","message":"…"}           progress
//             {"type":"ready","services":[{spec,label,demo,pid,probes:[{step,what,request,retryMs}]}]}
//             {"type":"verdict","id":3,"ok":true,"summary":"…"}            answer to a judge request
//             {"type":"failed","message":"…"}                              could not start
//   stdin  ◄─ {"type":"judge","id":3,"service":"demo","probe":1,"answer":{status,headers,body}}
//
// A probe's judge runs here because it may look at what the server saw (the demo service and the
// Kubernetes stub record their requests: a refused one must never reach them). It stops its
// services and exits when stdin closes or on SIGTERM/SIGINT.
//
//   usage: node --import tsx customer-host.ts DIR [--demo]
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { pino } from 'pino';
import type { ServiceSpec } from '../agent/index.ts';
import { realClock } from '../clock/index.ts';
import type { HttpAnswer } from './client.ts';
import { Customer } from './customer.ts';

export interface HostedProbe {
  step: string;
  what: string;
  request: { method?: string; path: string; headers?: Record<string, string>; body?: string };
  retryMs?: number;
}

export interface HostedService {
  spec: ServiceSpec;
  label: string;
  demo: boolean;
  pid?: number;
  probes: HostedProbe[];
}

export type HostLine =
  | { type: 'info'; what: string; message: string; pid?: number }
  | { type: 'ready'; services: HostedService[] }
  | { type: 'verdict'; id: number; ok: boolean; summary: string }
  | { type: 'failed'; message: string };

export interface JudgeRequest {
  type: 'judge';
  id: number;
  service: string;
  probe: number;
  answer: HttpAnswer;
}

async function main(argv: string[]): Promise<number> {
  const dir = argv[0];
  if (!dir) {
    process.stderr.write('usage: customer-host.ts DIR [--demo]\n');
    return 2;
  }
  const say = (l: HostLine): void => void process.stdout.write(JSON.stringify(l) + '\n');
  const logger = pino(
    { level: process.env.SALLYPORT_LOG_LEVEL ?? 'info', base: { party: 'customer' } },
    pino.destination({ dest: join(dir, 'customer.log'), sync: true, mode: 0o600 }),
  );
  const ctl = new AbortController();
  const customer = new Customer();
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= customer.stop());
  for (const sig of ['SIGTERM', 'SIGINT'] as const)
    process.once(sig, () => {
      ctl.abort(new Error(sig));
      void stop().then(() => process.exit(0));
    });
  try {
    await customer.start({
      dir,
      clock: realClock,
      logger,
      signal: ctl.signal,
      demo: argv.includes('--demo'),
      started: (s) =>
        say({ type: 'info', what: s.spec.name, message: s.label, ...(s.pid ? { pid: s.pid } : {}) }),
      skipped: (what, message) => say({ type: 'info', what, message }),
    });
  } catch (e) {
    say({ type: 'failed', message: (e as Error).message });
    await stop();
    return 1;
  }
  say({
    type: 'ready',
    services: customer.services.map((s) => ({
      spec: s.spec,
      label: s.label,
      demo: s.demo,
      ...(s.pid ? { pid: s.pid } : {}),
      probes: s.probes.map((p) => ({
        step: p.step,
        what: p.what,
        request: p.request,
        ...(p.retryMs !== undefined ? { retryMs: p.retryMs } : {}),
      })),
    })),
  });
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    let req: JudgeRequest;
    try {
      req = JSON.parse(line) as JudgeRequest;
    } catch {
      continue;
    }
    const probe = customer.services.find((s) => s.spec.name === req.service)?.probes[req.probe];
    const v = probe
      ? probe.judge(req.answer)
      : { ok: false, summary: `no probe ${req.probe} on ${req.service}` };
    say({ type: 'verdict', id: req.id, ok: v.ok, summary: v.summary });
  }
  await stop();
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
