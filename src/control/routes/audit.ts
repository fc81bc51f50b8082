// The audit log (administrators): records a page at a time, and the signed checkpoints with every
// key that signed one (`sallyport audit verify` checks both offline).
import type { AuditRecord, Checkpoint } from '../../audit/index.ts';
import { list, obj, R, time } from './parts.ts';
import { route } from './route.ts';

export interface Checkpoints {
  /** The current audit key first. */
  keys: string[];
  checkpoints: Checkpoint[];
}

const record = obj({
  seq: { type: 'integer' },
  time: time,
  actor: { type: 'string' },
  action: { type: 'string' },
  subject: { type: 'string' },
  details: { type: 'object', additionalProperties: true },
  prevHash: { type: 'string' },
  hash: { type: 'string' },
});

/** Records after seq `after` (default 0), at most `limit` (default 1000). */
export const auditList = route('GET', '/api/v1/audit', {
  querystring: {
    type: 'object',
    properties: {
      after: { type: 'string', pattern: '^[0-9]{1,15}$' },
      limit: { type: 'string', pattern: '^[0-9]{1,5}$' },
    },
    additionalProperties: false,
  },
  response: R(list(record)),
}).typed<{ query: { after?: string; limit?: string }; response: AuditRecord[] }>();

/** Signs the head first: an export's records then end under a signature. */
export const auditCheckpoints = route('GET', '/api/v1/audit/checkpoints', {
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
}).typed<{ response: Checkpoints }>();
