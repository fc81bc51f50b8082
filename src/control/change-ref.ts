// A netmap change as it travels between coordinators: ids only, never records (the store is the
// truth; the receiver reads the rows). One JSON object per change in the netmap change log:
//
//   {"type":"grant","grantId":ID}
//   {"type":"membership","groupId":ID,"userId":ID}
//   {"type":"node","nodeId":ID,"peerIds":[ID…],"servicesChanged":true?}
//   {"type":"services","deploymentId":ID}
//   {"type":"user","userId":ID,"nodeIds":[ID…],"peerIds":[ID…]}
//
// `peerIds` are the previous peers the publisher knew (its own sessions' netmaps), as node ids.
// A receiver also recomputes the peers its own sessions had, so nothing depends on who knew what.
import type { Store } from '../store/index.ts';
import type { Change } from './affected.ts';

export type ChangeRef =
  | { type: 'grant'; grantId: string }
  | { type: 'membership'; groupId: string; userId: string }
  | { type: 'node'; nodeId: string; peerIds: string[]; servicesChanged?: true }
  | { type: 'services'; deploymentId: string }
  | { type: 'user'; userId: string; nodeIds: string[]; peerIds: string[] };

/** Most ids in one list of a ref (a bigger list is refused when parsed). */
const MAX_IDS = 100_000;

/** The ref of `c`; previous peers (keys) become node ids through `lookup`. */
export async function toRef(c: Change, lookup: Pick<Store, 'nodeIdsOfKeys'>): Promise<ChangeRef> {
  switch (c.type) {
    case 'grant':
      return { type: 'grant', grantId: c.grant.id };
    case 'membership':
      return { type: 'membership', groupId: c.groupId, userId: c.userId };
    case 'services':
      return { type: 'services', deploymentId: c.deploymentId };
    case 'node': {
      const peerIds = await peerIdsOf(c, lookup);
      return {
        type: 'node',
        nodeId: c.node.id,
        peerIds,
        ...(c.servicesChanged === true ? { servicesChanged: true as const } : {}),
      };
    }
    case 'user':
      return {
        type: 'user',
        userId: c.userId,
        nodeIds: c.nodes.map((n) => n.id),
        peerIds: await peerIdsOf(c, lookup),
      };
  }
}

async function peerIdsOf(
  c: Extract<Change, { type: 'node' | 'user' }>,
  lookup: Pick<Store, 'nodeIdsOfKeys'>,
): Promise<string[]> {
  const keys = [...c.previousPeers];
  const ids = keys.length ? await lookup.nodeIdsOfKeys(keys) : [];
  return [...new Set([...ids, ...(c.previousPeerIds ?? [])])];
}

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200;
const isIds = (v: unknown): v is string[] => Array.isArray(v) && v.length <= MAX_IDS && v.every(isId);

/** Parses a stored ref; undefined when it is not one (the caller drops and counts it). */
export function parseRef(text: string): ChangeRef | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  switch (o.type) {
    case 'grant':
      return isId(o.grantId) ? { type: 'grant', grantId: o.grantId } : undefined;
    case 'membership':
      return isId(o.groupId) && isId(o.userId)
        ? { type: 'membership', groupId: o.groupId, userId: o.userId }
        : undefined;
    case 'services':
      return isId(o.deploymentId) ? { type: 'services', deploymentId: o.deploymentId } : undefined;
    case 'node':
      if (!isId(o.nodeId) || !isIds(o.peerIds)) return undefined;
      if (o.servicesChanged !== undefined && o.servicesChanged !== true) return undefined;
      return {
        type: 'node',
        nodeId: o.nodeId,
        peerIds: o.peerIds,
        ...(o.servicesChanged === true ? { servicesChanged: true as const } : {}),
      };
    case 'user':
      return isId(o.userId) && isIds(o.nodeIds) && isIds(o.peerIds)
        ? { type: 'user', userId: o.userId, nodeIds: o.nodeIds, peerIds: o.peerIds }
        : undefined;
    default:
      return undefined;
  }
}

/**
 * The change a ref names, from the store's current rows; undefined when its record is gone
 * (the caller then recomputes the node ids the ref names: `refIds`).
 */
export async function fromRef(
  ref: ChangeRef,
  store: Pick<Store, 'getGrant' | 'getNode'>,
): Promise<Change | undefined> {
  switch (ref.type) {
    case 'grant': {
      const grant = await store.getGrant(ref.grantId);
      return grant && { type: 'grant', grant };
    }
    case 'membership':
      return { type: 'membership', groupId: ref.groupId, userId: ref.userId };
    case 'services':
      return { type: 'services', deploymentId: ref.deploymentId };
    case 'node': {
      const node = await store.getNode(ref.nodeId);
      return (
        node && {
          type: 'node',
          node,
          previousPeers: [],
          previousPeerIds: ref.peerIds,
          ...(ref.servicesChanged ? { servicesChanged: true } : {}),
        }
      );
    }
    case 'user': {
      const nodes = [];
      for (const id of ref.nodeIds) {
        const n = await store.getNode(id);
        if (n) nodes.push(n);
      }
      return { type: 'user', userId: ref.userId, nodes, previousPeers: [], previousPeerIds: ref.peerIds };
    }
  }
}

/** The node ids a ref names directly (for a ref whose record is gone). */
export function refIds(ref: ChangeRef): string[] {
  if (ref.type === 'node') return [ref.nodeId, ...ref.peerIds];
  if (ref.type === 'user') return [...ref.nodeIds, ...ref.peerIds];
  return [];
}
