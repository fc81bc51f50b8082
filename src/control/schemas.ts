// JSON schemas of the admin API (validation with Fastify's Ajv; also the OpenAPI document).
// Bodies refuse unknown fields; names that become DNS labels of tailnet names are DNS labels.
import { ACCESS_LEVELS } from '../access/index.ts';

export const dnsLabel = { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' } as const;
export const userName = { type: 'string', pattern: '^[A-Za-z0-9._@-]{1,63}$' } as const;
export const nodeKey = { type: 'string', pattern: '^[A-Za-z0-9+/]{43}=$' } as const;
const region = { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' } as const;
const time = { type: 'integer', minimum: 0 } as const;
const id = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } as const;
const serviceKind = {
  type: 'string',
  enum: ['kubernetes', 'clickhouse', 'prometheus', 'http', 'tcp'],
} as const;
const tlsMode = { type: 'string', enum: ['terminate', 'passthrough'] } as const;
const labels = {
  type: 'object',
  maxProperties: 32,
  propertyNames: { pattern: '^[A-Za-z0-9._/-]{1,63}$' },
  additionalProperties: { type: 'string', maxLength: 128 },
} as const;
const address = { type: 'string', minLength: 3, maxLength: 255, pattern: '^[^\\s/]+:[0-9]{1,5}$' } as const;
const seconds = { type: 'integer', minimum: 60, maximum: 366 * 86_400 } as const;

const body = (
  properties: Record<string, unknown>,
  required: string[],
  extra: Record<string, unknown> = {},
) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
  ...extra,
});
const params = (properties: Record<string, unknown>) => ({
  type: 'object',
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
});

export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;

const list = (items: Record<string, unknown>) => ({ type: 'array', items });
const obj = (properties: Record<string, unknown>) => ({ type: 'object', properties });
const ok = { type: 'object', properties: { ok: { type: 'boolean' } } } as const;

const deployment = obj({
  id: { type: 'string' },
  name: { type: 'string' },
  region: { type: 'string' },
  cloud: { type: 'string' },
  createdAt: time,
});
const service = obj({
  id: { type: 'string' },
  deployment: { type: 'string' },
  name: { type: 'string' },
  kind: { type: 'string' },
  address: { type: 'string' },
  tlsMode: { type: 'string' },
  labels: { type: 'object', additionalProperties: { type: 'string' } },
  tailnetName: { type: 'string' },
  connectorKey: { type: ['string', 'null'] },
});
const user = obj({
  id: { type: 'string' },
  name: { type: 'string' },
  isAdmin: { type: 'boolean' },
  disabled: { type: 'boolean' },
  createdAt: time,
});
const group = obj({
  id: { type: 'string' },
  name: { type: 'string' },
  members: list({ type: 'string' }),
  createdAt: time,
});
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
const grant = obj({
  id: { type: 'string' },
  subject: obj({ type: { type: 'string' }, name: { type: 'string' } }),
  deployment: { type: 'string' },
  services: list({ type: 'string' }),
  notBefore: time,
  expiresAt: { type: ['integer', 'null'] },
  revokedAt: { type: ['integer', 'null'] },
  createdAt: time,
  createdBy: { type: 'string' },
  access: { type: 'string' },
});
const node = obj({
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
const audit = obj({
  seq: { type: 'integer' },
  time: time,
  actor: { type: 'string' },
  action: { type: 'string' },
  subject: { type: 'string' },
  details: { type: 'object', additionalProperties: true },
  prevHash: { type: 'string' },
  hash: { type: 'string' },
});

const R = (schema: Record<string, unknown>, status = 200) => ({
  [status]: schema,
  '4xx': errorSchema,
});

const health = obj({
  ok: { type: 'boolean' },
  sessions: { type: 'integer' },
  audit: {
    type: 'object',
    properties: {
      signer: { type: 'string', enum: ['ok', 'halted'] },
      anchorSeq: { type: 'integer' },
      reason: { type: 'string' },
    },
    required: ['signer', 'anchorSeq'],
  },
  tls: {
    type: 'object',
    properties: {
      source: { type: 'string', enum: ['self-signed', 'files', 'acme'] },
      fingerprint: { type: 'string' },
      notAfter: { type: 'string' },
      renewAt: { type: 'string' },
      lastError: { type: 'string' },
    },
    required: ['source', 'fingerprint', 'notAfter'],
  },
  timers: {
    type: 'object',
    description: 'Which coordinator runs grant expiry and standing grants (several on one PostgreSQL)',
    properties: {
      mode: { type: 'string', enum: ['single', 'lock'] },
      self: { type: 'string' },
      owner: { type: ['string', 'null'] },
      owned: { type: 'boolean' },
    },
    required: ['mode', 'self', 'owner', 'owned'],
  },
  fanout: {
    type: 'object',
    description: 'Netmap changes from other coordinators: LISTEN connection up, last version applied',
    properties: { listening: { type: 'boolean' }, version: { type: 'integer' } },
    required: ['listening', 'version'],
  },
});

export const S = {
  info: {
    response: R(
      obj({
        publicKey: { type: 'string' },
        signingKey: { type: 'string' },
        auditKey: { type: 'string' },
        rootCaPem: { type: 'string' },
        suffix: { type: 'string' },
        version: { type: 'integer' },
      }),
    ),
  },
  health: { response: { ...R(health), 503: health } },
  login: {
    body: body({ user: userName, password: { type: 'string', minLength: 1, maxLength: 1024 } }, [
      'user',
      'password',
    ]),
    response: R(obj({ token: { type: 'string' }, expiresAt: time, user })),
  },
  whoami: {
    response: R(
      obj({
        ...user.properties,
        groups: list({ type: 'string' }),
        signIn: obj({ method: { type: 'string' }, authTime: time }),
        customer: { type: ['string', 'null'] },
        deployments: list({ type: 'string' }),
      }),
    ),
  },
  logout: { body: body({}, []), response: R(ok) },
  listDeployments: { response: R(list(deployment)) },
  createDeployment: {
    body: body({ name: dnsLabel, region, cloud: region }, ['name', 'region', 'cloud']),
    response: R(deployment, 201),
  },
  deploymentParams: { params: params({ name: dnsLabel }), response: R(ok) },
  listServices: {
    querystring: { type: 'object', properties: { deployment: dnsLabel }, additionalProperties: false },
    response: R(list(service)),
  },
  putService: {
    params: params({ deployment: dnsLabel, name: dnsLabel }),
    body: body({ kind: serviceKind, address, tlsMode, labels }, ['kind', 'address']),
    response: R(service),
  },
  bindService: {
    params: params({ deployment: dnsLabel, name: dnsLabel }),
    body: body({ key: { anyOf: [nodeKey, { type: 'null' }] } }, ['key']),
    response: R(service),
  },
  deleteService: { params: params({ deployment: dnsLabel, name: dnsLabel }), response: R(ok) },
  listPreauth: { response: R(list(preauth)) },
  createPreauth: {
    body: body(
      { deployment: dnsLabel, user: userName, reusable: { type: 'boolean' }, expiresInSeconds: seconds },
      [],
      {
        oneOf: [{ required: ['deployment'] }, { required: ['user'] }],
      },
    ),
    response: R(preauth, 201),
  },
  idParams: { params: params({ id }), response: R(ok) },
  listUsers: { response: R(list(user)) },
  createUser: {
    body: body(
      {
        name: userName,
        password: { type: 'string', minLength: 8, maxLength: 1024 },
        admin: { type: 'boolean' },
        customer: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' },
      },
      ['name', 'password'],
    ),
    response: R(user, 201),
  },
  userAction: { params: params({ name: userName }), response: R(user) },
  listGroups: { response: R(list(group)) },
  createGroup: { body: body({ name: userName }, ['name']), response: R(group, 201) },
  groupParams: { params: params({ name: userName }), response: R(ok) },
  memberParams: { params: params({ name: userName, user: userName }), response: R(ok) },
  listGrants: {
    querystring: { type: 'object', properties: { deployment: dnsLabel }, additionalProperties: false },
    response: R(list(grant)),
  },
  createGrant: {
    body: body(
      {
        subject: body(
          {
            type: { type: 'string', enum: ['user', 'group', 'node'] },
            name: { type: 'string', minLength: 1, maxLength: 64 },
          },
          ['type', 'name'],
        ),
        deployment: dnsLabel,
        services: { type: 'array', items: dnsLabel, maxItems: 256, uniqueItems: true },
        expiresInSeconds: seconds,
        access: { type: 'string', enum: [...ACCESS_LEVELS] },
      },
      ['subject', 'deployment', 'services'],
    ),
    response: R(grant, 201),
  },
  listNodes: { response: R(list(node)) },
  revokeNode: { body: body({ key: nodeKey }, ['key']), response: R(node) },
  deviceChallenge: {
    response: R(obj({ challenge: { type: 'string' }, expiresIn: { type: 'integer' } })),
  },
  deviceStart: {
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
  },
  deviceApprove: {
    body: body({ userCode: { type: 'string', pattern: '^[A-Za-z]{4}-?[A-Za-z]{4}$' } }, ['userCode']),
    response: R(node),
  },
  devicePoll: {
    body: body({ deviceCode: { type: 'string', minLength: 8, maxLength: 128 } }, ['deviceCode']),
    response: R(obj({ status: { type: 'string' }, node })),
  },
  audit: {
    querystring: {
      type: 'object',
      properties: {
        after: { type: 'string', pattern: '^[0-9]{1,15}$' },
        limit: { type: 'string', pattern: '^[0-9]{1,5}$' },
      },
      additionalProperties: false,
    },
    response: R(list(audit)),
  },
  auditCheckpoints: {
    response: R({
      type: 'object',
      properties: {
        keys: list({ type: 'string' }),
        checkpoints: list({
          type: 'object',
          properties: {
            seq: { type: 'integer', minimum: 1 },
            hash: { type: 'string' },
            time: time,
            keyId: { type: 'string' },
            signature: { type: 'string' },
          },
          required: ['seq', 'hash', 'time', 'keyId', 'signature'],
        }),
      },
      required: ['keys', 'checkpoints'],
    }),
  },
} as const;

/** A preValidation hook: a route whose body has only optional fields takes an absent body as `{}`. */
export const emptyBody = async (req: { body: unknown }): Promise<void> => {
  if (req.body === undefined || req.body === null) req.body = {};
};
