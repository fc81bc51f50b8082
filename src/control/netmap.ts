// Netmap computation: pure. Given the rows that concern ONE node (Store.netmapInputs) and the
// time, it yields that node's netmap; nothing here ever looks at the whole network.
//
// Visibility (I3) is an edge between an engineer node E and a connector C, symmetric by
// construction: some active grant g covers E (g's subject is E, E's user, or a group E's user is
// in), g is on C's deployment, and g names at least one service C registered (an empty service
// list names them all). Revoked or expired nodes have no edges.
import { inForce } from '../access/index.ts';
import type { NetmapInputs } from '../store/index.ts';
import type { GrantRecord, NodeRecord, ServiceRecord } from '../store/index.ts';
import type { Netmap, NetmapGrant, NetmapPeer, NetmapRelay, NetmapService } from '../proto/control/index.ts';

export interface NetmapContext {
  now: number;
  /** Tailnet suffix, e.g. byoc.example.com. */
  suffix: string;
  /** The relay map with this node's tokens. */
  relays: NetmapRelay[];
}

export const isActiveGrant = (g: GrantRecord, now: number): boolean =>
  inForce({ notBefore: g.notBefore, end: g.expiresAt, revokedAt: g.revokedAt }, now);

export const isLiveNode = (n: NodeRecord, now: number): boolean => n.revokedAt === null && n.expiresAt > now;

/** `<service>.<deployment>.<region>.<cloud>.<suffix>` */
export function tailnetName(
  service: string,
  d: { name: string; region: string; cloud: string },
  suffix: string,
): string {
  return [service, d.name, d.region, d.cloud, suffix].join('.').toLowerCase();
}

/** Whether grant g covers engineer node e (memberships must include e's user's groups). */
export function grantCovers(
  g: GrantRecord,
  e: NodeRecord,
  memberships: NetmapInputs['memberships'],
): boolean {
  if (g.subjectType === 'node') return g.subjectId === e.id;
  if (!e.userId) return false;
  if (g.subjectType === 'user') return g.subjectId === e.userId;
  return memberships.some((m) => m.groupId === g.subjectId && m.userId === e.userId);
}

/** The services of connector c that grant g names. */
function grantedServices(g: GrantRecord, c: NodeRecord, services: ServiceRecord[]): ServiceRecord[] {
  return services.filter(
    (s) =>
      s.connectorId === c.id &&
      s.deploymentId === g.deploymentId &&
      (g.services.length === 0 || g.services.includes(s.name)),
  );
}

function peerOf(n: NodeRecord, inputs: NetmapInputs): NetmapPeer {
  const p: NetmapPeer = {
    key: n.publicKey,
    name: n.name,
    kind: n.kind,
    homeRelay: n.homeRelay,
    endpoints: n.endpoints,
  };
  const user = inputs.users.find((u) => u.id === n.userId)?.name;
  const dep = inputs.deployments.find((d) => d.id === n.deploymentId)?.name;
  if (user) p.user = user;
  if (dep) p.deployment = dep;
  return p;
}

/** The grant's level on the wire: left out when read-only (absent = read-only; older agents decode it). */
const levelOf = (g: GrantRecord): Pick<NetmapGrant, 'access'> =>
  g.access === 'read-only' ? {} : { access: g.access };

export function computeNetmap(inputs: NetmapInputs, ctx: NetmapContext): Netmap {
  const { self } = inputs;
  const { now } = ctx;
  const deployment = (id: string) => inputs.deployments.find((d) => d.id === id);
  const userName = (id: string | null) => (id ? inputs.users.find((u) => u.id === id)?.name : undefined);
  const svcView = (
    s: ServiceRecord,
    connectorKey: string,
    withAddress: boolean,
  ): NetmapService | undefined => {
    const d = deployment(s.deploymentId);
    if (!d) return undefined;
    const v: NetmapService = {
      name: s.name,
      deployment: d.name,
      tailnetName: tailnetName(s.name, d, ctx.suffix),
      kind: s.kind,
      tlsMode: s.tlsMode,
      connectorKey,
    };
    if (withAddress) v.address = s.address;
    return v;
  };

  const peers = new Map<string, NetmapPeer>();
  const services = new Map<string, NetmapService>();
  const grants: NetmapGrant[] = [];
  const live = isLiveNode(self, now);
  const activeGrants = live ? inputs.grants.filter((g) => isActiveGrant(g, now)) : [];

  if (self.kind === 'engineer') {
    for (const g of activeGrants) {
      if (!grantCovers(g, self, inputs.memberships)) continue;
      for (const c of inputs.nodes) {
        if (c.kind !== 'connector' || c.deploymentId !== g.deploymentId || !isLiveNode(c, now)) continue;
        const svc = grantedServices(g, c, inputs.services);
        if (!svc.length) continue;
        peers.set(c.publicKey, peerOf(c, inputs));
        for (const s of svc) {
          const v = svcView(s, c.publicKey, false);
          if (v) services.set(`${v.tailnetName}|${c.publicKey}`, v);
        }
        grants.push({
          id: g.id,
          peerKey: c.publicKey,
          user: userName(self.userId) ?? null,
          services: svc.map((s) => s.name).sort(),
          notBefore: g.notBefore,
          notAfter: g.expiresAt,
          ...levelOf(g),
        });
      }
    }
  } else if (live) {
    for (const s of inputs.services) {
      if (s.connectorId !== self.id) continue;
      const v = svcView(s, self.publicKey, true);
      if (v) services.set(v.tailnetName, v);
    }
    for (const g of activeGrants) {
      if (g.deploymentId !== self.deploymentId) continue;
      const svc = grantedServices(g, self, inputs.services);
      if (!svc.length) continue;
      for (const e of inputs.nodes) {
        if (e.kind !== 'engineer' || !isLiveNode(e, now) || !grantCovers(g, e, inputs.memberships)) continue;
        peers.set(e.publicKey, peerOf(e, inputs));
        grants.push({
          id: g.id,
          peerKey: e.publicKey,
          user: userName(e.userId) ?? null,
          services: svc.map((s) => s.name).sort(),
          notBefore: g.notBefore,
          notAfter: g.expiresAt,
          ...levelOf(g),
        });
      }
    }
  }

  const selfView: Netmap['self'] = {
    key: self.publicKey,
    name: self.name,
    kind: self.kind,
    expiresAt: self.expiresAt,
  };
  const dep = self.deploymentId ? deployment(self.deploymentId)?.name : undefined;
  const user = userName(self.userId);
  if (dep) selfView.deployment = dep;
  if (user) selfView.user = user;
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return {
    self: selfView,
    relays: ctx.relays,
    peers: [...peers.values()].sort((a, b) => cmp(a.key, b.key)),
    services: [...services.values()].sort((a, b) =>
      cmp(a.tailnetName + a.connectorKey, b.tailnetName + b.connectorKey),
    ),
    grants: grants.sort((a, b) => cmp(a.id + a.peerKey, b.id + b.peerKey)),
    serverTime: now,
  };
}

/** The next instant after `now` at which time alone changes this node's netmap (grant or key expiry). */
export function nextTimeChange(inputs: NetmapInputs, now: number): number | undefined {
  let next: number | undefined;
  const consider = (t: number | null) => {
    if (t !== null && t > now && (next === undefined || t < next)) next = t;
  };
  for (const g of inputs.grants) {
    if (g.revokedAt !== null) continue;
    consider(g.notBefore);
    consider(g.expiresAt);
  }
  consider(inputs.self.expiresAt);
  for (const n of inputs.nodes) consider(n.expiresAt);
  return next;
}
