// Chapter 4: the engineer's requests to the services, each through the SOCKS5 proxy with the
// grant's client certificate (what curl or kubectl would do). Probes are grouped into steps by
// their `step` name, in the services' order: query, refused (the main service), prometheus,
// kubernetes.
import type { Clock } from '../clock/index.ts';
import type { Step } from './cast.ts';
import { httpsViaSocks, type HttpAnswer } from './client.ts';
import type { LabService } from './service.ts';
import { sleep } from './wait.ts';

/** Retry interval of a probe with `retryMs`. */
const RETRY_EVERY_MS = 250;

/** One probe ready to run: how to send it and how to judge the answer. */
export interface ProbeRun {
  service: string;
  what: string;
  /** The tailnet name it goes to (for the error message). */
  host: string;
  retryMs?: number;
  send(): Promise<HttpAnswer>;
  judge(a: HttpAnswer): { ok: boolean; summary: string } | Promise<{ ok: boolean; summary: string }>;
}

/** The probes of `services` grouped by step, in the services' order (each service's index kept). */
export function groupProbes<S extends { probes: readonly { step: string }[] }>(
  services: S[],
): [string, { svc: S; probe: S['probes'][number]; index: number }[]][] {
  const byStep = new Map<string, { svc: S; probe: S['probes'][number]; index: number }[]>();
  for (const svc of services)
    svc.probes.forEach((probe, index) => {
      const l = byStep.get(probe.step) ?? [];
      l.push({ svc, probe, index });
      byStep.set(probe.step, l);
    });
  return [...byStep];
}

/** Runs one step's probes in order; every result goes to `detail`; throws on the first bad one. */
export async function runProbes(
  runs: ProbeRun[],
  clock: Clock,
  signal: AbortSignal,
  detail: (d: Record<string, unknown>) => void,
): Promise<string> {
  const out: string[] = [];
  const results: Record<string, unknown>[] = [];
  for (const p of runs) {
    const r = await runProbe(p, clock, signal);
    results.push({ service: p.service, what: p.what, http: r.answer?.status, tries: r.tries, ...r.verdict });
    detail({ results });
    if (!r.verdict.ok) throw new Error(`${p.what} on ${p.host}: ${r.verdict.summary}`);
    out.push(`${p.what}: ${r.verdict.summary}`);
  }
  return out.join('; ');
}

export function probeSteps(services: LabService[]): { name: string; running: string; fn: Step }[] {
  return groupProbes(services).map(([name, probes]) => ({
    name,
    running: probes.map((p) => p.probe.what).join(', then '),
    fn: (c, s, detail) =>
      runProbes(
        probes.map(({ svc, probe }) => {
          const host =
            s.engineer!.netmap?.services.find((x) => x.name === svc.spec.name)?.tailnetName ?? svc.spec.name;
          return {
            service: svc.spec.name,
            what: probe.what,
            host,
            ...(probe.retryMs !== undefined ? { retryMs: probe.retryMs } : {}),
            send: () =>
              httpsViaSocks({
                proxy: s.engineer!.socksAddress!,
                host,
                cert: s.cert!,
                ...probe.request,
                signal: c.signal,
              }),
            judge: (a: HttpAnswer) => probe.judge(a),
          };
        }),
        c.topo.o.clock,
        c.signal,
        detail,
      ),
  }));
}

/** Sends the probe until its answer is as expected or its retry time is over. */
async function runProbe(
  p: ProbeRun,
  clock: Clock,
  signal: AbortSignal,
): Promise<{ answer?: HttpAnswer; verdict: { ok: boolean; summary: string }; tries: number }> {
  const end = clock.now() + (p.retryMs ?? 0);
  for (let tries = 1; ; tries++) {
    let r: { answer?: HttpAnswer; verdict: { ok: boolean; summary: string }; tries: number };
    try {
      const answer = await p.send();
      r = { answer, verdict: await p.judge(answer), tries };
    } catch (e) {
      r = { verdict: { ok: false, summary: (e as Error).message }, tries };
    }
    if (r.verdict.ok || clock.now() >= end) return r;
    await sleep(clock, RETRY_EVERY_MS, signal);
  }
}
