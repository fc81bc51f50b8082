// The netmap one node receives (DESIGN.md §5): only what that node may see. The full map comes
// first on a channel, then deltas. Peers are keyed by node key and kept sorted by it; the other
// sections are small and a delta replaces them whole when they change. serverTime is not content:
// a delta carries it, a diff ignores it.
import { LIMITS, DNS_LABEL } from './constants.ts';
import { arr, int, literal, nullable, obj, str, type Check } from './validate.ts';

export type NodeKindName = 'connector' | 'engineer';

export interface NetmapSelf {
  key: string;
  name: string;
  kind: NodeKindName;
  deployment?: string;
  user?: string;
  expiresAt: number;
}

export interface NetmapRelay {
  region: string;
  url: string;
  stunPort?: number;
  /** Coordinator-signed relay token, standard base64. */
  token: string;
  tokenExpiresAt: number;
}

export interface NetmapPeer {
  key: string;
  name: string;
  kind: NodeKindName;
  user?: string;
  deployment?: string;
  homeRelay: string | null;
  endpoints: string[];
}

export interface NetmapService {
  name: string;
  deployment: string;
  tailnetName: string;
  kind: string;
  tlsMode: 'terminate' | 'passthrough';
  connectorKey: string;
  /** Only in a connector's own map: where its router forwards. */
  address?: string;
}

/** What a grant lets its holder do (src/access/policy.ts ACCESS_LEVELS; the targets enforce it). */
export type GrantAccessLevel = 'read-only' | 'read-write' | 'admin';

export interface NetmapGrant {
  id: string;
  peerKey: string;
  user: string | null;
  services: string[];
  notBefore: number;
  notAfter: number | null;
  /**
   * Absent means read-only, the safest level: what a coordinator that predates levels sends. The
   * coordinator leaves it out for read-only grants, so agents that predate levels (which refuse
   * unknown fields) still decode the maps of read-only grants.
   */
  access?: GrantAccessLevel;
}

/** A grant's access level: absent or anything unexpected reads as read-only. */
export function grantAccess(g: Pick<NetmapGrant, 'access'>): GrantAccessLevel {
  return g.access === 'read-write' || g.access === 'admin' ? g.access : 'read-only';
}

export interface Netmap {
  self: NetmapSelf;
  relays: NetmapRelay[];
  peers: NetmapPeer[];
  services: NetmapService[];
  grants: NetmapGrant[];
  serverTime: number;
}

export interface NetmapDelta {
  self?: NetmapSelf;
  relays?: NetmapRelay[];
  peersUpsert?: NetmapPeer[];
  peersRemove?: string[];
  services?: NetmapService[];
  grants?: NetmapGrant[];
  serverTime: number;
}

const KEY = /^[A-Za-z0-9+/]{43}=$/;
const key = str(44, KEY);
const name = str(LIMITS.name);
const label = str(LIMITS.name, DNS_LABEL);
const time = int(0);
const kind = literal<NodeKindName>('connector', 'engineer');
const endpoint = str(LIMITS.address);

export const checkSelf = obj(
  { key, name, kind, expiresAt: time },
  { deployment: label, user: name },
) as Check<NetmapSelf>;
export const checkRelay = obj(
  { region: str(64), url: str(2048), token: str(1024), tokenExpiresAt: time },
  { stunPort: int(1, 65535) },
) as Check<NetmapRelay>;
export const checkPeer = obj(
  { key, name, kind, homeRelay: nullable(str(64)), endpoints: arr(endpoint, LIMITS.endpoints) },
  { user: name, deployment: label },
) as Check<NetmapPeer>;
export const checkService = obj(
  {
    name: label,
    deployment: label,
    tailnetName: str(253),
    kind: str(32),
    tlsMode: literal('terminate', 'passthrough'),
    connectorKey: key,
  },
  { address: str(LIMITS.address) },
) as Check<NetmapService>;
export const checkGrant = obj(
  {
    id: str(64),
    peerKey: key,
    user: nullable(name),
    services: arr(label, LIMITS.services),
    notBefore: time,
    notAfter: nullable(time),
  },
  { access: literal<GrantAccessLevel>('read-only', 'read-write', 'admin') },
) as Check<NetmapGrant>;

export const checkNetmap: Check<Netmap> = obj({
  self: checkSelf,
  relays: arr(checkRelay, LIMITS.relays),
  peers: arr(checkPeer, LIMITS.peers),
  services: arr(checkService, LIMITS.services * 16),
  grants: arr(checkGrant, LIMITS.grants),
  serverTime: time,
}) as Check<Netmap>;

export const checkDelta: Check<NetmapDelta> = obj(
  { serverTime: time },
  {
    self: checkSelf,
    relays: arr(checkRelay, LIMITS.relays),
    peersUpsert: arr(checkPeer, LIMITS.peers),
    peersRemove: arr(key, LIMITS.peers),
    services: arr(checkService, LIMITS.services * 16),
    grants: arr(checkGrant, LIMITS.grants),
  },
) as Check<NetmapDelta>;

/** Structural equality of JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ak = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const bk = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return (
    ak.length === bk.length &&
    ak.every((k) => jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}

const byKey = (a: NetmapPeer, b: NetmapPeer): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** Sorts the peers by key (the canonical order every netmap is kept in). */
export function normalizeNetmap(m: Netmap): Netmap {
  return { ...m, peers: [...m.peers].sort(byKey) };
}

/** The delta that turns `from` into `to`, or undefined when nothing but serverTime differs. */
export function diffNetmap(from: Netmap, to: Netmap): NetmapDelta | undefined {
  const d: NetmapDelta = { serverTime: to.serverTime };
  if (!jsonEqual(from.self, to.self)) d.self = to.self;
  if (!jsonEqual(from.relays, to.relays)) d.relays = to.relays;
  if (!jsonEqual(from.services, to.services)) d.services = to.services;
  if (!jsonEqual(from.grants, to.grants)) d.grants = to.grants;
  const old = new Map(from.peers.map((p) => [p.key, p]));
  const upsert = to.peers.filter((p) => !jsonEqual(old.get(p.key), p));
  const now = new Set(to.peers.map((p) => p.key));
  const remove = from.peers.filter((p) => !now.has(p.key)).map((p) => p.key);
  if (upsert.length) d.peersUpsert = upsert;
  if (remove.length) d.peersRemove = remove;
  return Object.keys(d).length > 1 ? d : undefined;
}

/** Applies a delta (pure: returns a new netmap). */
export function applyDelta(m: Netmap, d: NetmapDelta): Netmap {
  const peers = new Map(m.peers.map((p) => [p.key, p]));
  for (const k of d.peersRemove ?? []) peers.delete(k);
  for (const p of d.peersUpsert ?? []) peers.set(p.key, p);
  return {
    self: d.self ?? m.self,
    relays: d.relays ?? m.relays,
    services: d.services ?? m.services,
    grants: d.grants ?? m.grants,
    peers: [...peers.values()].sort(byKey),
    serverTime: d.serverTime,
  };
}
