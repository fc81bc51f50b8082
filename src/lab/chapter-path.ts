// Chapter 3, the path: alice's node opens a first mTLS connection through its SOCKS5 proxy (the
// connector's router checks the client certificate: I4). The session's handshake goes over the
// relay; the path layer then probes the peers' UDP candidates and moves to a direct path. The
// engineer agent's status is sampled meanwhile, so the event shows the sequence (relay → direct).
import type { PeerStatus } from '../agent/index.ts';
import type { Step } from './cast.ts';
import { socks5Connect, tlsOver } from './client.ts';
import { sleep, until } from './wait.ts';

const describe = (p: PeerStatus['path'] | undefined): string | undefined =>
  !p || p.kind === 'none' ? undefined : p.kind === 'relay' ? `relay ${p.region}` : `direct ${p.endpoint}`;

export const pathStep: Step = async (c, s, detail) => {
  const clock = c.topo.o.clock;
  const { signal } = c;
  const eng = s.engineer!;
  const connKey = s.connector!.publicKey.base64();
  await until(clock, () => eng.netmap?.peers.some((p) => p.key === connKey), {
    ms: 10_000,
    what: 'the connector in the engineer netmap (the grant)',
    signal,
  });
  const peer = () => eng.status().peers.find((p) => p.key === connKey);
  const seen: string[] = [];
  const sample = (): void => {
    const v = describe(peer()?.path);
    if (v && seen.at(-1) !== v) seen.push(v);
  };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      sample();
      await sleep(clock, 5, signal).catch(() => (sampling = false));
    }
  })();
  const main = c.services[0].spec.name;
  const host = eng.netmap?.services.find((x) => x.name === main)?.tailnetName ?? main;
  try {
    await until(
      clock,
      async () => {
        try {
          // the TLS handshake only (admitted by the certificate check), then a clean close
          (await tlsOver(await socks5Connect(eng.socksAddress!, host, 443, signal), host, s.cert!)).end();
          return true;
        } catch {
          return false;
        }
      },
      { ms: 10_000, what: `an mTLS connection to ${host} through the overlay`, signal, every: 250 },
    );
    await until(clock, () => peer()?.path.kind === 'direct', {
      ms: 10_000,
      what: 'a direct path',
      signal,
    }).catch(() => undefined);
  } finally {
    sampling = false;
    await sampler;
  }
  sample();
  const now = peer();
  // The path layer's own record of the last change, in case the relay phase was too short to sample.
  const change = now?.pathChange ?? null;
  if (change && seen[0] !== change.from && seen[0] === change.to) seen.unshift(change.from);
  detail({
    paths: seen,
    now: now?.path ?? null,
    rttMs: now?.rttMs ?? null,
    pathRttMs: now?.pathRttMs ?? null,
    direct: now?.path.kind === 'direct',
    change,
  });
  if (!now || now.path.kind === 'none') throw new Error('no path to the connector');
  const rtt = now.pathRttMs ?? now.rttMs;
  return (
    seen.join(' → ') +
    (rtt !== null ? ` (RTT ${rtt} ms)` : '') +
    (now.path.kind === 'direct' ? '' : ': no direct path within 10 s, the relay carries the traffic')
  );
};
