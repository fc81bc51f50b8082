// The engineer's side of a node: how people's tools reach services through the overlay — the SOCKS5
// proxy (tailnet names), local forwards (`sallyport connect`), and client certificates for grants
// (the key is made here and never leaves the machine).
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import type { Netmap, NetmapService, ServerMessage } from '../proto/control/index.ts';
import { parseHostPort } from './config.ts';
import { AgentError } from './errors.ts';
import { LocalForward } from './forward.ts';
import { GrantCerts, type GrantCertificate } from './grant-certs.ts';
import { resolveServiceRef, resolveTailnetName } from './grants.ts';
import type { AgentMetrics } from './metrics.ts';
import { REP_HOST_UNREACHABLE, SocksServer } from './socks.ts';

export interface EngineerSideOptions {
  clock: Clock;
  log: Logger;
  metrics: AgentMetrics;
  /** False on a connector: it asks for no grant certificates. */
  engineer: boolean;
  netmap(): Netmap | undefined;
  /** A stream to a service through its connector; undefined when it cannot be opened. */
  openStream(svc: NetmapService): Duplex | undefined;
  send(m: { type: 'csr'; id: string; csr: string; grant: string }): boolean;
}

export class EngineerSide {
  readonly #o: EngineerSideOptions;
  readonly #grantCerts: GrantCerts;
  readonly #forwards = new Set<LocalForward>();
  #socks: SocksServer | undefined;
  socksAddress: { host: string; port: number } | undefined;

  constructor(o: EngineerSideOptions) {
    this.#o = o;
    this.#grantCerts = new GrantCerts(o.clock, (m) => o.send(m));
  }

  onMessage(m: ServerMessage): void {
    this.#grantCerts.onMessage(m);
  }

  /** Starts the SOCKS5 proxy: CONNECT to a tailnet name opens a stream to that service. */
  async listenSocks(host: string, port: number): Promise<void> {
    const o = this.#o;
    this.#socks = new SocksServer({
      logger: o.log.child({ part: 'socks' }),
      open: (name) => {
        const svc = resolveTailnetName(o.netmap(), name);
        return (svc && o.openStream(svc)) ?? REP_HOST_UNREACHABLE;
      },
      onResult: (r) => o.metrics.proxyRequests.inc({ via: 'socks5', result: r }),
    });
    this.socksAddress = await this.#socks.listen(host, port);
    o.log.info(this.socksAddress, 'SOCKS5 proxy listening');
  }

  /** A client certificate for one of the grants in this node's netmap. */
  grantCertificate(grantId: string): Promise<GrantCertificate> {
    const g = this.#o.netmap()?.grants.find((x) => x.id === grantId);
    if (!this.#o.engineer || !g?.user)
      return Promise.reject(new AgentError('AGENT_REFUSED', `no grant ${grantId} in this node's netmap`));
    return this.#grantCerts.request(grantId, g.user);
  }

  /** Starts a local forward to DEPLOYMENT/SERVICE. */
  async forward(ref: string, local: string): Promise<{ forward: LocalForward; host: string; port: number }> {
    const o = this.#o;
    if (!resolveServiceRef(o.netmap(), ref))
      throw new AgentError('AGENT_NO_SUCH_SERVICE', `no service '${ref}' in this node's netmap`);
    const { host, port } = parseHostPort(local, '--local', true);
    const f = new LocalForward(ref, () => {
      const now = resolveServiceRef(o.netmap(), ref);
      const s = now && o.openStream(now);
      o.metrics.proxyRequests.inc({ via: 'forward', result: s ? 'ok' : 'unreachable' });
      return s;
    });
    const a = await f.listen(host, port);
    this.#forwards.add(f);
    o.log.info({ service: ref, local: `${a.host}:${a.port}` }, 'local forward listening');
    return { forward: f, ...a };
  }

  closeForward(f: LocalForward): void {
    f.close();
    this.#forwards.delete(f);
  }

  stop(): void {
    this.#grantCerts.stop();
    this.#socks?.close();
    for (const f of this.#forwards) f.close();
  }
}
