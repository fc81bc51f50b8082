// This node's home relay (DESIGN.md §4 "Relay regions"): the region its peers send to when they
// reach it through a relay. Chosen by paths/home.ts from the relays' state and round-trip times;
// announced to the coordinator with our direct candidates; and where STUN is asked first.
//
//   relay connected / lost ─► evaluate(true)    RTT measured ─► evaluate(false)    netmap ─► onNetmap
//   evaluate ─► chooseHome ─► moved? ─► log, metric, announce, STUN servers again ─► peers re-pointed
import type { Logger } from 'pino';
import type { Netmap } from '../proto/control/index.ts';
import { chooseHome } from '../paths/index.ts';
import type { ControlLoop } from './control.ts';
import type { DirectUdp } from './direct.ts';
import type { AgentMetrics } from './metrics.ts';
import type { RelayPaths } from './paths.ts';

export interface HomeRelayOptions {
  log: Logger;
  metrics: AgentMetrics;
  relays: RelayPaths;
  control: ControlLoop;
  /** The UDP socket, once open (undefined: relay-only). */
  direct(): DirectUdp | undefined;
  /** STUN servers asked after the relays' ("HOST:PORT"). */
  stunServers: readonly string[];
  /** The home moved, or relays connected or were lost: re-point the peers. */
  onRelaysChanged(): void;
}

export class HomeRelay {
  /** The home region; undefined until a relay is connected. */
  region: string | undefined;
  /** How often the home was chosen anew (the first choice counts). */
  changes = 0;
  readonly #o: HomeRelayOptions;
  /** control.connects when our endpoints were last announced. */
  #announcedOn = -1;
  #netmap: Netmap | undefined;
  #stopped = false;

  constructor(o: HomeRelayOptions) {
    this.#o = o;
  }

  /** A new netmap: relays may have changed, and a new agent channel needs our endpoints again. */
  onNetmap(nm: Netmap): void {
    this.#netmap = nm;
    this.evaluate(false);
    // the coordinator keeps endpoints per connection
    if (this.#o.control.connects !== this.#announcedOn) {
      this.#announcedOn = this.#o.control.connects;
      this.announce();
    }
    this.#setStunServers(nm);
  }

  /**
   * Picks the home relay again and announces a change; then, when the home moved or
   * `relaysChanged` (a relay connected or was lost), has the peers re-pointed.
   */
  evaluate(relaysChanged: boolean): void {
    if (this.#stopped) return;
    const views = this.#o.relays.status().map((r) => ({
      region: r.region,
      connected: r.state === 'connected',
      ...(r.stats.rttMs !== undefined ? { rttMs: r.stats.rttMs } : {}),
    }));
    const c = chooseHome(this.region, views);
    if (c.home !== this.region) {
      this.#o.log.info(
        { from: this.region ?? null, to: c.home ?? null, reason: c.reason, relays: views },
        'home relay',
      );
      this.region = c.home;
      this.changes++;
      this.#o.metrics.homeRelayChanges.inc({ reason: c.reason });
      this.announce();
      if (this.#netmap) this.#setStunServers(this.#netmap);
    } else if (!relaysChanged) return;
    this.#o.onRelaysChanged();
  }

  /** Tells the coordinator our home relay and direct candidates. */
  announce(): void {
    if (this.region)
      this.#o.control.send({
        type: 'endpoints',
        endpoints: this.#o.direct()?.candidates() ?? [],
        homeRelay: this.region,
      });
  }

  stop(): void {
    this.#stopped = true;
  }

  /**
   * STUN against the home relay's STUN port, then the other regions', then any configured servers,
   * resolved to IP literals.
   */
  #setStunServers(nm: Netmap): void {
    const direct = this.#o.direct();
    if (!direct) return;
    const rs = [...nm.relays].sort((a, b) =>
      a.region === this.region ? -1 : b.region === this.region ? 1 : 0,
    );
    const servers = rs
      .filter((r) => r.stunPort !== undefined)
      .map((r) => `${new URL(r.url).hostname}:${r.stunPort}`)
      .concat(this.#o.stunServers);
    void direct.setStunServers(servers).then((ok) => {
      if (ok.length < servers.length) this.#o.log.warn({ servers, resolved: ok }, 'STUN server not resolved');
    });
  }
}
