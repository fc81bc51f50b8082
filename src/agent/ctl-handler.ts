// What the local control socket (ctl.ts) answers: `sallyport status`, `metrics`, `cert`,
// `netcheck`, `ping` and `connect`, each from the running agent's live state.
import type { CtlReply, CtlRequest } from './ctl.ts';
import { runNetcheck, type NetcheckReport } from './diagnose.ts';
import type { Agent } from './node.ts';

export async function handleCtl(
  a: Agent,
  req: CtlRequest,
  onClose: (fn: () => void) => void,
  progress: (p: unknown) => void,
): Promise<CtlReply> {
  a.metrics.controlRequests.inc({ command: req.cmd });
  if (req.cmd === 'status') return { ok: true, status: a.status() };
  if (req.cmd === 'metrics') return { ok: true, text: await a.metrics.registry.metrics() };
  if (req.cmd === 'cert') return { ok: true, cert: await a.grantCertificate(req.grant) };
  if (req.cmd === 'netcheck') return { ok: true, netcheck: await netcheck(a, req.timeoutMs) };
  if (req.cmd === 'ping') {
    const ac = new AbortController();
    onClose(() => ac.abort());
    return { ok: true, ping: await a.ping(req, progress, ac.signal) };
  }
  const f = await a.forward(req.service, req.local);
  onClose(() => a.closeForward(f.forward));
  return { ok: true, local: `${f.host}:${f.port}` };
}

/** `sallyport netcheck`: see diagnose.ts. */
export function netcheck(a: Agent, timeoutMs: number): Promise<NetcheckReport> {
  const relays = a.relays.status().map((r) => ({
    region: r.region,
    url: r.url,
    state: r.state,
    rttMs: r.stats.rttMs !== undefined ? Math.round(r.stats.rttMs * 10) / 10 : null,
    home: r.region === a.homeRelay,
  }));
  return runNetcheck(a.direct, relays, { timeoutMs });
}
