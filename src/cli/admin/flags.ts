// `sallyport admin`'s flags: one table for every resource and verb (each verb reads the ones it
// needs; --help lists the global ones and names the others in its list of commands).
import { CONNECTION_FLAGS } from '../api-connection.ts';
import { HELP_FLAG, type FlagTable, type FlagValues } from '../kit/index.ts';

export const ADMIN_FLAGS = {
  ...CONNECTION_FLAGS,
  json: { type: 'boolean', help: 'print data as JSON' },
  ...HELP_FLAG,
  user: { type: 'string', value: 'NAME' },
  group: { type: 'string', value: 'NAME' },
  node: { type: 'string', value: 'KEY' },
  region: { type: 'string', value: 'REGION' },
  cloud: { type: 'string', value: 'CLOUD' },
  mode: { type: 'string', value: 'MODE' },
  'public-server': { type: 'string', value: 'URL' },
  'customer-webhook': { type: 'string', value: 'URL' },
  deployment: { type: 'string', value: 'NAME' },
  kind: { type: 'string', value: 'KIND' },
  address: { type: 'string', value: 'HOST:PORT' },
  tls: { type: 'string', value: 'terminate|passthrough' },
  label: { type: 'repeatable', value: 'K=V' },
  service: { type: 'repeatable', value: 'NAME' },
  reusable: { type: 'boolean' },
  release: { type: 'boolean' },
  admin: { type: 'boolean' },
  customer: { type: 'string', value: 'CUSTOMER' },
  switch: { type: 'repeatable', value: 'SWITCH' },
  webhook: { type: 'string', value: 'URL' },
  'also-deployment': { type: 'repeatable', value: 'NAME' },
  'also-group': { type: 'repeatable', value: 'GROUP' },
  hours: { type: 'string', value: 'N' },
  expires: {
    type: 'duration',
    value: 'DURATION',
    units: ['s', 'm', 'h', 'd'],
    digits: 6,
    invalid: (s) => `bad duration '${s}': use e.g. 90s, 15m, 8h, 7d`,
  },
  access: { type: 'string', value: 'read-only|read-write|admin' },
  after: { type: 'string', value: 'SEQ' },
  limit: { type: 'string', value: 'N' },
} as const satisfies FlagTable;

export type AdminValues = FlagValues<typeof ADMIN_FLAGS>;
