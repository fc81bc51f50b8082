// The agent channel's messages (DESIGN.md §5), JSON, validated on decode, size-limited.
//
//   WebSocket (binary) message 1, agent → coordinator:  Noise IK message 1, payload = Hello
//   WebSocket message 2, coordinator → agent:           Noise IK message 2, payload = Welcome | Refused
//   then every WebSocket message:                        counter (8, BE) ‖ AEAD(JSON ChannelMessage)
//
//   coordinator → agent: netmap (first), delta, pong, certificate (answer to csr), error,
//                        checkpoint (to connectors: an audit checkpoint for the customer's anchors)
//   agent → coordinator: endpoints, services, csr, ping
import { CONTROL_VERSION, DNS_LABEL, LIMITS, MAX_HANDSHAKE_PAYLOAD, MAX_MESSAGE_BYTES } from './constants.ts';
import { ControlProtoError } from './errors.ts';
import { checkDelta, checkNetmap, type Netmap, type NetmapDelta, type NodeKindName } from './netmap.ts';
import { arr, encodeJson, int, literal, obj, parseJson, record, str, type Check } from './validate.ts';

export type ServiceKindName = 'kubernetes' | 'clickhouse' | 'prometheus' | 'http' | 'tcp';

export interface ServiceRegistration {
  name: string;
  kind: ServiceKindName;
  address: string;
  tlsMode?: 'terminate' | 'passthrough';
  labels?: Record<string, string>;
}

export interface Hello {
  version: 1;
  kind: NodeKindName;
  name: string;
  preauthKey?: string;
  services?: ServiceRegistration[];
  /**
   * What this agent understands beyond version 1, so that the coordinator sends a newer message
   * only to agents that will not close the channel on it: 'anchors' — a connector that keeps the
   * audit checkpoints it is sent (`checkpoint` messages).
   */
  features?: string[];
}

/** Hello features (see Hello.features). */
export const FEATURE_ANCHORS = 'anchors';
/** Hello feature: the agent keeps vendor notices (a break-glass) in its local audit. */
export const FEATURE_NOTICES = 'notices';

export interface Welcome {
  type: 'welcome';
  version: 1;
  nodeId: string;
  name: string;
  kind: NodeKindName;
  expiresAt: number;
  serverTime: number;
}

/** Refusal codes: why the coordinator would not admit this node. */
export type RefusalCode =
  | 'BAD_HELLO'
  | 'UNKNOWN_NODE'
  | 'PREAUTH_INVALID'
  | 'PREAUTH_EXPIRED'
  | 'PREAUTH_USED'
  | 'PREAUTH_REVOKED'
  | 'WRONG_KIND'
  | 'NODE_EXPIRED'
  | 'NODE_REVOKED'
  | 'INTERNAL';

export interface Refused {
  type: 'refused';
  code: RefusalCode;
  message: string;
}

export type ServerMessage =
  | { type: 'netmap'; version: number; netmap: Netmap }
  | { type: 'delta'; version: number; delta: NetmapDelta }
  | { type: 'pong'; id?: number }
  | {
      type: 'certificate';
      id: string;
      service?: string;
      grant?: string;
      chainPem: string;
      rootPem: string;
      /** With a service certificate: the access CA, whose client certificates the router admits (I4). */
      accessCaPem?: string;
      notAfter: number;
    }
  /** `service`: the service an error is about (SERVICE_TAKEN: a registration refused). */
  | { type: 'error'; code: string; message: string; id?: string; service?: string }
  /** An audit checkpoint (src/audit/checkpoint.ts) and the key that signed it, base64. */
  | { type: 'checkpoint'; checkpoint: AuditCheckpoint; publicKey: string }
  /**
   * Something the vendor did to this connector's deployment that the customer's local audit must
   * hold: a break-glass use of the public management endpoint. `id` is the vendor audit record's
   * sequence number (the connector keeps each once); `details` as the vendor audit has them.
   */
  | {
      type: 'notice';
      id: number;
      action: 'mgmt.break-glass';
      at: number;
      actor: string;
      details: Record<string, string>;
    };

/** The fields of an audit checkpoint, as src/audit signs them (validated here by shape only). */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  time: number;
  keyId: string;
  signature: string;
}

export interface PeerPathReport {
  key: string;
  path: 'direct' | 'relay' | 'none';
  /** Smoothed RTT of the peer's stream connection, ms; absent before the first sample. */
  rttMs?: number;
}

/** Longest query text an activity report carries (the connector's local audit keeps more). */
export const MAX_ACTIVITY_QUERY = 2000;

export type AgentMessage =
  | { type: 'endpoints'; endpoints: string[]; homeRelay?: string }
  | { type: 'services'; services: ServiceRegistration[] }
  /** A connector asks for its service's server certificate (service), an engineer for a grant's client certificate (grant). */
  | { type: 'csr'; id: string; csr: string; service?: string; grant?: string }
  | { type: 'ping'; id?: number }
  /** What this node sees of its peers: the path in use and the round-trip time (console, status). */
  | { type: 'paths'; peers: PeerPathReport[] }
  /** A connector's usage summary of one grant on one target (the coordinator audits it). */
  | { type: 'usage'; grant: string; service: string; queries: number; failures: number }
  /**
   * A connector's mirror of its local audit: a stream served, or a ClickHouse query, under a grant
   * (the coordinator audits it, so the customer portal's history and export show it too).
   */
  | {
      type: 'activity';
      grant: string;
      service: string;
      kind: 'stream' | 'query';
      at: number;
      detail: ActivityDetail;
    };

export interface ActivityDetail {
  /** stream: bytes each way and how long. */
  bytesIn?: number;
  bytesOut?: number;
  durationMs?: number;
  user?: string;
  /** query: the text (cut), ok or failed. */
  query?: string;
  status?: string;
}

const serviceKind = literal<ServiceKindName>('kubernetes', 'clickhouse', 'prometheus', 'http', 'tcp');
export const checkServiceRegistration = obj(
  { name: str(LIMITS.name, DNS_LABEL), kind: serviceKind, address: str(LIMITS.address) },
  {
    tlsMode: literal('terminate', 'passthrough'),
    labels: record(str(LIMITS.labelValue), LIMITS.labels, str(LIMITS.name)),
  },
) as Check<ServiceRegistration>;
const services = arr(checkServiceRegistration, LIMITS.services);

const checkHello = obj(
  {
    version: literal(CONTROL_VERSION),
    kind: literal('connector', 'engineer'),
    name: str(LIMITS.name, /^[^\s]+$/),
  },
  { preauthKey: str(LIMITS.preauthKey), services, features: arr(str(32, /^[a-z0-9-]+$/), 16) },
) as Check<Hello>;

const checkHandshakeReply = (v: unknown, p: string): Welcome | Refused => {
  const t = (v as { type?: unknown } | null)?.type;
  if (t === 'refused')
    return obj({ type: literal('refused'), code: str(32) as Check<RefusalCode>, message: str(1024) })(
      v,
      p,
    ) as Refused;
  return obj({
    type: literal('welcome'),
    version: literal(CONTROL_VERSION),
    nodeId: str(64),
    name: str(LIMITS.name),
    kind: literal('connector', 'engineer'),
    expiresAt: int(0),
    serverTime: int(0),
  })(v, p) as Welcome;
};

const u32 = int(0, 0xffff_ffff);
const key = str(44, /^[A-Za-z0-9+/]{43}=$/);
/** Grant ids as the store makes them (also the <id> of sallyport:grant:<id>). */
const GRANT_ID = /^[A-Za-z0-9_-]{1,64}$/;

const checkServerMessage = (v: unknown, p: string): ServerMessage => {
  switch ((v as { type?: unknown } | null)?.type) {
    case 'netmap':
      return obj({ type: literal('netmap'), version: int(0), netmap: checkNetmap })(v, p) as ServerMessage;
    case 'delta':
      return obj({ type: literal('delta'), version: int(0), delta: checkDelta })(v, p) as ServerMessage;
    case 'pong':
      return obj({ type: literal('pong') }, { id: u32 })(v, p) as ServerMessage;
    case 'certificate':
      return obj(
        {
          type: literal('certificate'),
          id: str(64),
          chainPem: str(LIMITS.csr * 4),
          rootPem: str(LIMITS.csr),
          notAfter: int(0),
        },
        {
          service: str(LIMITS.name, DNS_LABEL),
          grant: str(64, GRANT_ID),
          accessCaPem: str(LIMITS.csr),
        },
      )(v, p) as ServerMessage;
    case 'error':
      return obj(
        { type: literal('error'), code: str(64), message: str(1024) },
        { id: str(64), service: str(LIMITS.name, DNS_LABEL) },
      )(v, p) as ServerMessage;
    case 'checkpoint':
      return obj({
        type: literal('checkpoint'),
        checkpoint: obj({
          seq: int(1),
          hash: str(64, /^[0-9a-f]{64}$/),
          time: int(0),
          keyId: str(16, /^[0-9a-f]{16}$/),
          signature: str(88, /^[A-Za-z0-9+/]{86}==$/),
        }),
        publicKey: key,
      })(v, p) as ServerMessage;
    case 'notice': {
      const m = obj({
        type: literal('notice'),
        id: int(1),
        action: literal('mgmt.break-glass'),
        at: int(0),
        actor: str(256),
        details: (d: unknown, q: string) => {
          if (typeof d !== 'object' || d === null || Array.isArray(d))
            throw new ControlProtoError('CONTROL_BAD_MESSAGE', `${q}: not an object`);
          const e = Object.entries(d as Record<string, unknown>);
          if (e.length > 16) throw new ControlProtoError('CONTROL_BAD_MESSAGE', `${q}: too many fields`);
          for (const [k, x] of e)
            if (k.length > 64 || typeof x !== 'string' || x.length > 1024)
              throw new ControlProtoError('CONTROL_BAD_MESSAGE', `${q}.${k}: not a short string`);
          return d;
        },
      })(v, p);
      return m as ServerMessage;
    }
    default:
      return literal<string>(
        'netmap',
        'delta',
        'pong',
        'certificate',
        'error',
        'checkpoint',
        'notice',
      )((v as { type?: unknown } | null)?.type, `${p}.type`) as never;
  }
};

const checkAgentMessage = (v: unknown, p: string): AgentMessage => {
  switch ((v as { type?: unknown } | null)?.type) {
    case 'endpoints':
      return obj(
        { type: literal('endpoints'), endpoints: arr(str(LIMITS.address), LIMITS.endpoints) },
        { homeRelay: str(64) },
      )(v, p) as AgentMessage;
    case 'services':
      return obj({ type: literal('services'), services })(v, p) as AgentMessage;
    case 'csr': {
      const m = obj(
        { type: literal('csr'), id: str(64), csr: str(LIMITS.csr) },
        { service: str(LIMITS.name, DNS_LABEL), grant: str(64, GRANT_ID) },
      )(v, p);
      if ((m.service === undefined) === (m.grant === undefined))
        throw new ControlProtoError(
          'CONTROL_BAD_MESSAGE',
          `${p || 'message'}: a csr names exactly one of service or grant`,
        );
      return m as AgentMessage;
    }
    case 'ping':
      return obj({ type: literal('ping') }, { id: u32 })(v, p) as AgentMessage;
    case 'paths':
      return obj({
        type: literal('paths'),
        peers: arr(
          obj({ key, path: literal('direct', 'relay', 'none') }, { rttMs: int(0, 3_600_000) }),
          LIMITS.peers,
        ),
      })(v, p) as AgentMessage;
    case 'activity':
      return obj({
        type: literal('activity'),
        grant: str(64, GRANT_ID),
        service: str(LIMITS.name, DNS_LABEL),
        kind: literal('stream', 'query'),
        at: int(0, Number.MAX_SAFE_INTEGER),
        detail: obj(
          {},
          {
            bytesIn: int(0, Number.MAX_SAFE_INTEGER),
            bytesOut: int(0, Number.MAX_SAFE_INTEGER),
            durationMs: int(0, 365 * 86_400_000),
            user: str(LIMITS.name),
            query: str(MAX_ACTIVITY_QUERY),
            status: literal('ok', 'failed'),
          },
        ),
      })(v, p) as AgentMessage;
    case 'usage':
      return obj({
        type: literal('usage'),
        grant: str(64, GRANT_ID),
        service: str(LIMITS.name, DNS_LABEL),
        queries: u32,
        failures: u32,
      })(v, p) as AgentMessage;
    default:
      return literal<string>(
        'endpoints',
        'services',
        'csr',
        'ping',
        'paths',
        'usage',
      )((v as { type?: unknown } | null)?.type, `${p}.type`) as never;
  }
};

export const encodeHello = (h: Hello): Uint8Array => encodeJson(h, MAX_HANDSHAKE_PAYLOAD);
export const decodeHello = (b: Uint8Array): Hello => checkHello(parseJson(b, MAX_HANDSHAKE_PAYLOAD), '');
export const encodeHandshakeReply = (m: Welcome | Refused): Uint8Array =>
  encodeJson(m, MAX_HANDSHAKE_PAYLOAD);
export const decodeHandshakeReply = (b: Uint8Array): Welcome | Refused =>
  checkHandshakeReply(parseJson(b, MAX_HANDSHAKE_PAYLOAD), '');
export const encodeServerMessage = (m: ServerMessage): Uint8Array => encodeJson(m, MAX_MESSAGE_BYTES);
export const decodeServerMessage = (b: Uint8Array): ServerMessage =>
  checkServerMessage(parseJson(b, MAX_MESSAGE_BYTES), '');
export const encodeAgentMessage = (m: AgentMessage): Uint8Array => encodeJson(m, MAX_MESSAGE_BYTES);
export const decodeAgentMessage = (b: Uint8Array): AgentMessage =>
  checkAgentMessage(parseJson(b, MAX_MESSAGE_BYTES), '');
