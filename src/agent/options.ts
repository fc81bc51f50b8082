// What an agent is started with (the CLI's `sallyport agent` flags map onto this; agent/config.ts
// reads the connector's service file).
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import type { PrivateKey, PublicKey } from '../crypto/index.ts';
import type { PathTimings } from '../paths/index.ts';
import type { ConnectionOptions } from '../stream/index.ts';
import { FEATURE_ANCHORS, FEATURE_NOTICES, type Hello } from '../proto/control/index.ts';
import { registration, type ServiceSpec } from './config.ts';

export interface AgentOptions {
  clock: Clock;
  stateDir: string;
  /**
   * Coordinator base URL, https://host:port, or several coordinators sharing one PostgreSQL (the
   * agent fails over between them: control.ts).
   */
  coordinator: string | readonly string[];
  /** The coordinator's X25519 key, pinned. */
  coordinatorKey: PublicKey;
  /** PEM certificates to trust for the coordinator's and relays' TLS listeners. */
  ca?: string;
  kind: 'connector' | 'engineer';
  /** Node name sent in the hello; default the host name. */
  name: string;
  preauthKey?: string;
  /** Connector: the services it serves. */
  services?: ServiceSpec[];
  /**
   * Connector: while the coordinator refuses one of its services (another connector serves it),
   * register again this often, ms; default 300000 (service-refusals.ts).
   */
  serviceRetryMs?: number;
  /** Engineer: where the SOCKS5 proxy listens. */
  socks5?: { host: string; port: number };
  /** Open the control socket in the state directory; default true. */
  controlSocket?: boolean;
  /** Session payload size over relays; default 16 KiB. */
  relayPayloadSize?: number;
  /** How often each relay's round-trip time is measured (home relay choice), ms; default 10000. */
  relayProbeMs?: number;
  /**
   * Reach a region's relay at this URL instead of the relay map's (a private endpoint, an egress
   * proxy), by region; the certificate is still checked against the relay map's host name.
   */
  relayAddresses?: Readonly<Record<string, string>>;
  connection?: Partial<ConnectionOptions>;
  logger?: Logger;
  /** The node key; default: loaded from (or created in) the state directory. */
  nodeKey?: PrivateKey;
  /**
   * Direct UDP paths (DESIGN.md §4): the agent's one UDP socket, port 0 = ephemeral. Omitted: every
   * peer stays on the relay (the CLI turns this on by default).
   */
  udp?: {
    port?: number;
    host?: string;
    includeLoopback?: boolean;
    /** Extra STUN servers ("HOST:PORT"), asked after the relays' STUN ports. Default none. */
    stunServers?: string[];
    /** IP TTL of the opens before the first PINGs to a candidate (paths/path-choice.ts); 0: none. Default 2. */
    openTtl?: number;
    /** Session payload sizes a direct path may prove, largest first (paths/path-choice.ts). Default none. */
    datagramSizes?: number[];
  };
  /** Path-choice timings (paths/timers.ts); defaults documented there. */
  pathTimings?: Partial<PathTimings>;
}

/** The hello an agent opens its channel with (and sends again when its services change). */
export function helloOf(o: AgentOptions, services: ReadonlyMap<string, ServiceSpec>): Hello {
  const h: Hello = { version: 1, kind: o.kind, name: o.name };
  if (o.preauthKey) h.preauthKey = o.preauthKey;
  if (o.kind === 'connector') {
    h.services = [...services.values()].map(registration);
    h.features = [FEATURE_ANCHORS, FEATURE_NOTICES];
  }
  return h;
}
