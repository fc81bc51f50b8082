// Standing grants (administrators): access that no request asked for — a user's, a group's or a
// node's — for the vendor's machines and for break-glass set-ups. Request-derived grants are
// access grants (access.ts).
import { ACCESS_LEVELS, type AccessLevel } from '../../access/index.ts';
import { body, dnsLabel, id, list, obj, ok, params, R, seconds, time, type Ok } from './parts.ts';
import { route } from './route.ts';
import type { SubjectType } from '../../store/index.ts';

export type { SubjectType };

export interface StandingGrant {
  id: string;
  /** A node is named by its public key. */
  subject: { type: SubjectType; name: string };
  deployment: string;
  /** Service names; empty = every service of the deployment. */
  services: string[];
  notBefore: number;
  expiresAt: number | null;
  revokedAt: number | null;
  createdAt: number;
  createdBy: string;
  access: AccessLevel;
}

export interface NewStandingGrant {
  subject: { type: SubjectType; name: string };
  deployment: string;
  services: string[];
  /** Absent: no end. */
  expiresInSeconds?: number;
  access?: AccessLevel;
}

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

export const grantsList = route('GET', '/api/v1/grants', {
  querystring: { type: 'object', properties: { deployment: dnsLabel }, additionalProperties: false },
  response: R(list(grant)),
}).typed<{ query: { deployment?: string }; response: StandingGrant[] }>();

export const grantsCreate = route('POST', '/api/v1/grants', {
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
}).typed<{ body: NewStandingGrant; response: StandingGrant }>();

export const grantsRevoke = route('DELETE', '/api/v1/grants/:id', {
  params: params({ id }),
  response: R(ok),
}).typed<{ response: Ok }>();
