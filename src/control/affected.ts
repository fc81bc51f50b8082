// Which nodes' netmaps a change can touch: the incremental half of netmap push. The hub
// recomputes (from each node's own rows) only the nodes returned here that are connected.
import type { GrantRecord, NodeRecord } from '../store/index.ts';

export type Change =
  /** A grant added, revoked or expired. */
  | { type: 'grant'; grant: GrantRecord }
  /** A user joined or left a group. */
  | { type: 'membership'; groupId: string; userId: string }
  /**
   * A node enrolled, revoked, re-keyed, or changed its endpoints / home relay / services.
   * `previousPeerIds` names previous peers by node id (a change from another coordinator).
   */
  | {
      type: 'node';
      node: NodeRecord;
      previousPeers: Iterable<string>;
      previousPeerIds?: readonly string[];
      servicesChanged?: boolean;
    }
  /** A deployment's services changed (admin edit). */
  | { type: 'services'; deploymentId: string }
  /** A user disabled or enabled: all of that user's nodes and their peers. */
  | {
      type: 'user';
      userId: string;
      nodes: NodeRecord[];
      previousPeers: Iterable<string>;
      previousPeerIds?: readonly string[];
    };

/** The lookups `affectedNodes` needs (Store implements them). */
export interface AffectedLookup {
  nodeIdsOfSubject(type: 'user' | 'group' | 'node', id: string): Promise<string[]>;
  connectorIdsOf(deploymentId: string): Promise<string[]>;
  groupGrantDeployments(groupId: string): Promise<string[]>;
  /** Node ids by public key (for peers named by key). */
  nodeIdsOfKeys(keys: string[]): Promise<string[]>;
}

export async function affectedNodes(change: Change, lookup: AffectedLookup): Promise<Set<string>> {
  const out = new Set<string>();
  const add = (ids: Iterable<string>) => {
    for (const id of ids) out.add(id);
  };
  switch (change.type) {
    case 'grant':
      add(await lookup.nodeIdsOfSubject(change.grant.subjectType, change.grant.subjectId));
      add(await lookup.connectorIdsOf(change.grant.deploymentId));
      break;
    case 'membership':
      add(await lookup.nodeIdsOfSubject('user', change.userId));
      for (const d of await lookup.groupGrantDeployments(change.groupId)) add(await lookup.connectorIdsOf(d));
      break;
    case 'node':
      out.add(change.node.id);
      add(await lookup.nodeIdsOfKeys([...change.previousPeers]));
      add(change.previousPeerIds ?? []);
      break;
    case 'services':
      add(await lookup.connectorIdsOf(change.deploymentId));
      break;
    case 'user':
      for (const n of change.nodes) out.add(n.id);
      add(await lookup.nodeIdsOfKeys([...change.previousPeers]));
      add(change.previousPeerIds ?? []);
      break;
  }
  return out;
}
