// Chapter 4: the engineer's requests to the services, each through the SOCKS5 proxy with the
// grant's client certificate (what curl or kubectl would do). Probes are grouped into steps by
// their `step` name, in the services' order: query, refused (the main service), prometheus,
// kubernetes.
import type { Clock } from '../clock/index.ts';
import type { Step } from './cast.ts';
import { httpsViaSocks, type HttpAnswer } from './client.ts';
import type { LabService, Probe } from './service.ts';
import { sleep } from './wait.ts';

/** Retry interval of a probe with `retryMs`. */
const RETRY_EVERY_MS = 250;

export function probeSteps(services: LabService[]): { name: string; running: string; fn: Step }[] {
  const byStep = new Map<string, { svc: LabService; probe: Probe }[]>();
  for (const svc of services)
    for (const probe of svc.probes) {
      const l = byStep.get(probe.step) ?? [];
      l.push({ svc, probe });
      byStep.set(probe.step, l);
    }
  return [...byStep].map(([name, probes]) => ({
    name,
    running: probes.map((p) => p.probe.what).join(', then '),
    fn: async (c, s, detail) => {
      const clock = c.topo.o.clock;
      const out: string[] = [];
      const results: Record<string, unknown>[] = [];
      for (const { svc, probe } of probes) {
        const host =
          s.engineer!.netmap?.services.find((x) => x.name === svc.spec.name)?.tailnetName ?? svc.spec.name;
        const send = () =>
          httpsViaSocks({
            proxy: s.engineer!.socksAddress!,
            host,
            cert: s.cert!,
            ...probe.request,
            signal: c.signal,
          });
        const r = await runProbe(probe, send, clock, c.signal);
        results.push({
          service: svc.spec.name,
          what: probe.what,
          http: r.answer?.status,
          tries: r.tries,
          ...r.verdict,
        });
        detail({ results });
        if (!r.verdict.ok) throw new Error(`${probe.what} on ${host}: ${r.verdict.summary}`);
        out.push(`${probe.what}: ${r.verdict.summary}`);
      }
      return out.join('; ');
    },
  }));
}

/** Sends the probe until its answer is as expected or its retry time is over. */
async function runProbe(
  probe: Probe,
  send: () => Promise<HttpAnswer>,
  clock: Clock,
  signal: AbortSignal,
): Promise<{ answer?: HttpAnswer; verdict: { ok: boolean; summary: string }; tries: number }> {
  const end = clock.now() + (probe.retryMs ?? 0);
  for (let tries = 1; ; tries++) {
    let r: { answer?: HttpAnswer; verdict: { ok: boolean; summary: string }; tries: number };
    try {
      const answer = await send();
      r = { answer, verdict: probe.judge(answer), tries };
    } catch (e) {
      r = { verdict: { ok: false, summary: (e as Error).message }, tries };
    }
    if (r.verdict.ok || clock.now() >= end) return r;
    await sleep(clock, RETRY_EVERY_MS, signal);
  }
}
