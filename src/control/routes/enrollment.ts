// How nodes join and leave: pre-auth keys (connectors), device login (engineers' machines), the
// node list and revocation.
//
// Device login is unauthenticated up to the approval: the caller proves it holds the node key (a
// MAC over a fresh challenge, keyed by X25519 with the coordinator's channel key:
// src/proto/control/device-proof.ts).
import {
  body,
  dnsLabel,
  id,
  list,
  nodeKey,
  obj,
  ok,
  params,
  R,
  seconds,
  time,
  userName,
  type Ok,
} from './parts.ts';
import { route } from './route.ts';

export interface PreauthKey {
  id: string;
  reusable: boolean;
  expiresAt: number;
  deployment: string | null;
  user: string | null;
  usedCount: number;
  revokedAt: number | null;
  createdAt: number;
  createdBy: string;
}

export interface NewPreauthKey {
  /** One of deployment (a connector's key) or user (an engineer's). */
  deployment?: string;
  user?: string;
  reusable?: boolean;
  /** Default 3600. */
  expiresInSeconds?: number;
}

export interface PeerPath {
  key: string;
  path: string;
  rttMs?: number;
}

export interface Node {
  id: string;
  publicKey: string;
  kind: 'connector' | 'engineer';
  name: string;
  deployment: string | null;
  user: string | null;
  createdAt: number;
  expiresAt: number;
  lastSeenAt: number | null;
  endpoints: string[];
  homeRelay: string | null;
  revokedAt: number | null;
  online: boolean;
  /** The node's own report of its paths to its peers, while it is online. */
  peerPaths: { at: number; peers: PeerPath[] } | null;
}

export interface DeviceStart {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  expiresIn: number;
}

const preauth = obj({
  id: { type: 'string' },
  reusable: { type: 'boolean' },
  expiresAt: time,
  deployment: { type: ['string', 'null'] },
  user: { type: ['string', 'null'] },
  usedCount: { type: 'integer' },
  revokedAt: { type: ['integer', 'null'] },
  createdAt: time,
  createdBy: { type: 'string' },
  key: { type: 'string', description: 'the secret: returned once, at creation' },
});
export const node = obj({
  id: { type: 'string' },
  publicKey: { type: 'string' },
  kind: { type: 'string' },
  name: { type: 'string' },
  deployment: { type: ['string', 'null'] },
  user: { type: ['string', 'null'] },
  createdAt: time,
  expiresAt: time,
  lastSeenAt: { type: ['integer', 'null'] },
  endpoints: list({ type: 'string' }),
  homeRelay: { type: ['string', 'null'] },
  revokedAt: { type: ['integer', 'null'] },
  online: { type: 'boolean' },
  /** The node's own report of its paths to its peers, while it is online. */
  peerPaths: {
    type: ['object', 'null'],
    properties: {
      at: time,
      peers: list(
        obj({
          key: { type: 'string' },
          path: { type: 'string' },
          rttMs: { type: 'integer' },
        }),
      ),
    },
  },
});

export const preauthKeysList = route('GET', '/api/v1/preauth-keys', {
  response: R(list(preauth)),
}).typed<{ response: PreauthKey[] }>();

/** The answer carries the key itself: shown this once. */
export const preauthKeysCreate = route('POST', '/api/v1/preauth-keys', {
  body: body(
    { deployment: dnsLabel, user: userName, reusable: { type: 'boolean' }, expiresInSeconds: seconds },
    [],
    {
      oneOf: [{ required: ['deployment'] }, { required: ['user'] }],
    },
  ),
  response: R(preauth, 201),
}).typed<{ body: NewPreauthKey; response: PreauthKey & { key: string } }>();

export const preauthKeysRevoke = route('DELETE', '/api/v1/preauth-keys/:id', {
  params: params({ id }),
  response: R(ok),
}).typed<{ response: Ok }>();

export const nodesList = route('GET', '/api/v1/nodes', { response: R(list(node)) }).typed<{
  response: Node[];
}>();

export const nodesRevoke = route('POST', '/api/v1/nodes/revoke', {
  body: body({ key: nodeKey }, ['key']),
  response: R(node),
}).typed<{ body: { key: string }; response: Node }>();

export const deviceChallenge = route('GET', '/api/v1/device/challenge', {
  response: R(obj({ challenge: { type: 'string' }, expiresIn: { type: 'integer' } })),
}).typed<{ response: { challenge: string; expiresIn: number } }>();

export const deviceStart = route('POST', '/api/v1/device/start', {
  body: body(
    {
      nodeKey,
      name: { type: 'string', pattern: '^[^\\s]{1,63}$' },
      // GET /api/v1/device/challenge's 40 bytes, base64url; the node key's proof over it (device-proof.ts).
      challenge: { type: 'string', pattern: '^[A-Za-z0-9_-]{54}$' },
      proof: { type: 'string', pattern: '^[A-Za-z0-9+/]{43}=$' },
    },
    ['nodeKey', 'challenge', 'proof'],
  ),
  response: R(
    obj({
      deviceCode: { type: 'string' },
      userCode: { type: 'string' },
      verificationUri: { type: 'string' },
      expiresIn: { type: 'integer' },
    }),
  ),
}).typed<{
  body: { nodeKey: string; name?: string; challenge: string; proof: string };
  response: DeviceStart;
}>();

/** A signed-in user approves the code their device shows. */
export const deviceApprove = route('POST', '/api/v1/device/approve', {
  body: body({ userCode: { type: 'string', pattern: '^[A-Za-z]{4}-?[A-Za-z]{4}$' } }, ['userCode']),
  response: R(node),
}).typed<{ body: { userCode: string }; response: Node }>();

export const devicePoll = route('POST', '/api/v1/device/poll', {
  body: body({ deviceCode: { type: 'string', minLength: 8, maxLength: 128 } }, ['deviceCode']),
  response: R(obj({ status: { type: 'string' }, node })),
}).typed<{ body: { deviceCode: string }; response: { status: string; node?: Node } }>();
