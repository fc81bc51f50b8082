// The users.d file of one grant user, in ClickHouse's documented users.xml format
// (operations/settings/settings-users; operations/external-authenticators/ssl-x509):
//
//   <yandex>                                  (router-auth: 18.16 and later; <clickhouse> for native-cert)
//     <profiles><NAME>                        one profile per grant user, same name
//       <readonly>1|2</readonly> <log_queries>1</log_queries> <max_execution_time>…</max_execution_time>
//                     readonly: 1 for read-only grants; 2 (may change settings, never write) for
//                     read-write and admin — never 0, see readonlyFor
//       [<log_comment>GRANT ID</log_comment>]                           (native-cert: ≥ 22.3 knows it)
//     </NAME></profiles>
//     <users><NAME>
//       router-auth:  <password_sha256_hex>64 hex</password_sha256_hex>
//                     <allow_databases><database>system</database></allow_databases>
//       native-cert:  <ssl_certificates><common_name>ENGINEER</common_name></ssl_certificates>
//                     <grants><query>GRANT SELECT ON system.t</query>…
//                             <query>GRANT SELECT(c1, c2) ON system.query_log</query>…</grants>
//                     (`grants` may not be combined with allow_databases; the grants are the limit)
//       <networks><ip>…</ip>…</networks> <profile>NAME</profile> <quota>default</quota>
//     </NAME></users>
//   </yandex>
//
// validateUsersFile parses a rendered file back and checks every one of those facts, so a file
// that would load differently from what we meant (or not at all) is never moved into place.
import type { AccessLevel } from '../../access/index.ts';
import { TargetError } from '../errors.ts';
import { GRANTED_COLUMNS, SYSTEM_TABLES } from './system-tables.ts';
import { childrenNamed, el, parseXml, serializeXml, textOf, type XmlElement } from './xml.ts';

export type ClickHouseMode = 'router-auth' | 'native-cert';

export interface UsersFileSpec {
  mode: ClickHouseMode;
  /** The ClickHouse user (and profile) name, from clickhouseUserName(). */
  user: string;
  grantId: string;
  /** router-auth: SHA-256 (hex) of the password kept on the connector. */
  passwordSha256?: string;
  /** native-cert: the client certificate's CN (the engineer). */
  commonName?: string;
  /** IPs/CIDRs the user may connect from. */
  networks: readonly string[];
  /** Seconds; 0 = no limit. */
  maxExecutionTime: number;
  quota: string;
  /** The grant's level: decides the profile's `readonly`. */
  access: AccessLevel;
}

/**
 * The profile's `readonly` for a level. 1: reads only. 2: reads, and the query settings may
 * change (`SET max_threads = 1`, a format, a longer max_execution_time) — for read-write and
 * admin. Never 0: the user still reaches only the `system` database, and ClickHouse 18.16 has no
 * privilege system to hold back SYSTEM, KILL, DROP or INSERT from a readonly=0 user, so writes
 * stay refused by ClickHouse itself (Code 164) at every level (docs/targets/clickhouse.md).
 */
export const readonlyFor = (access: AccessLevel): '1' | '2' => (access === 'read-only' ? '1' : '2');

/** The GRANT statements of a native-cert user: every allowed table, hidden columns left out. */
export function nativeGrants(): string[] {
  const out: string[] = [];
  for (const [table, hidden] of Object.entries(SYSTEM_TABLES)) {
    if (hidden.length === 0) out.push(`GRANT SELECT ON system.${table}`);
    else {
      const cols = GRANTED_COLUMNS[table];
      if (!cols) throw new Error(`system-tables: no granted columns for ${table}`);
      out.push(
        `GRANT SELECT(${cols.map((c) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(c) ? c : `\`${c}\``)).join(', ')}) ON system.${table}`,
      );
    }
  }
  return out;
}

export function renderUsersFile(s: UsersFileSpec): string {
  const profile = el(
    s.user,
    el('readonly', readonlyFor(s.access)),
    el('log_queries', '1'),
    el('max_execution_time', String(s.maxExecutionTime)),
    ...(s.mode === 'native-cert' ? [el('log_comment', s.grantId)] : []),
  );
  const auth =
    s.mode === 'router-auth'
      ? [el('password_sha256_hex', s.passwordSha256 ?? ''), el('allow_databases', el('database', 'system'))]
      : [
          el('ssl_certificates', el('common_name', s.commonName ?? '')),
          el('grants', ...nativeGrants().map((q) => el('query', q))),
        ];
  const user = el(
    s.user,
    ...auth,
    el('networks', ...s.networks.map((n) => el('ip', n))),
    el('profile', s.user),
    el('quota', s.quota),
  );
  const xml = serializeXml(
    el(s.mode === 'router-auth' ? 'yandex' : 'clickhouse', el('profiles', profile), el('users', user)),
  );
  validateUsersFile(xml, s);
  return xml;
}

function fail(msg: string): never {
  throw new TargetError('TARGET_CONFIG', `users.d file would be invalid: ${msg}`);
}

function only(parent: XmlElement, name: string): XmlElement {
  const c = childrenNamed(parent, name);
  if (c.length !== 1) fail(`<${parent.name}> must hold exactly one <${name}>`);
  return c[0]!;
}

function text(parent: XmlElement, name: string): string {
  const t = textOf(only(parent, name));
  if (t === undefined) fail(`<${name}> must hold text`);
  return t;
}

function exactly(n: XmlElement, names: string[]): void {
  const got = n.children.map((c) => ('name' in c ? c.name : '#text'));
  if (got.join(',') !== names.join(','))
    fail(`<${n.name}> holds ${got.join(',')}, expected ${names.join(',')}`);
}

const IP = /^[0-9A-Fa-f:.]+(\/\d{1,3})?$/;

/** Parses a rendered users.d file and checks it says exactly what spec means; throws TARGET_CONFIG. */
export function validateUsersFile(xml: string, s: UsersFileSpec): void {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (e) {
    fail((e as Error).message);
  }
  const rootName = s.mode === 'router-auth' ? 'yandex' : 'clickhouse';
  if (root.name !== rootName) fail(`root is <${root.name}>, expected <${rootName}>`);
  exactly(root, ['profiles', 'users']);
  const profiles = only(root, 'profiles');
  exactly(profiles, [s.user]);
  const p = only(profiles, s.user);
  if (text(p, 'readonly') !== readonlyFor(s.access))
    fail(`readonly must be ${readonlyFor(s.access)} for a ${s.access} grant`);
  if (text(p, 'log_queries') !== '1') fail('log_queries must be 1');
  if (!/^\d{1,6}$/.test(text(p, 'max_execution_time'))) fail('max_execution_time must be a number');
  const users = only(root, 'users');
  exactly(users, [s.user]);
  const u = only(users, s.user);
  if (text(u, 'profile') !== s.user) fail('the user must use its own profile');
  if (!/^[A-Za-z0-9_]{1,64}$/.test(text(u, 'quota'))) fail('bad quota name');
  const nets = childrenNamed(only(u, 'networks'), 'ip').map((n) => textOf(n) ?? '');
  if (nets.length === 0 || !nets.every((n) => IP.test(n))) fail('networks must list IPs or CIDRs');
  if (s.mode === 'router-auth') {
    exactly(p, ['readonly', 'log_queries', 'max_execution_time']);
    exactly(u, ['password_sha256_hex', 'allow_databases', 'networks', 'profile', 'quota']);
    if (!/^[0-9a-f]{64}$/.test(text(u, 'password_sha256_hex')))
      fail('password_sha256_hex must be 64 hex digits');
    const dbs = only(u, 'allow_databases');
    exactly(dbs, ['database']);
    if (text(dbs, 'database') !== 'system') fail('allow_databases must be system only');
  } else {
    exactly(p, ['readonly', 'log_queries', 'max_execution_time', 'log_comment']);
    if (text(p, 'log_comment') !== s.grantId) fail('log_comment must be the grant id');
    exactly(u, ['ssl_certificates', 'grants', 'networks', 'profile', 'quota']);
    const certs = only(u, 'ssl_certificates');
    exactly(certs, ['common_name']);
    const cn = text(certs, 'common_name');
    if (!cn || cn !== s.commonName) fail('common_name must be the engineer');
    const grants = childrenNamed(only(u, 'grants'), 'query').map((q) => textOf(q) ?? '');
    if (grants.length === 0) fail('grants must not be empty');
    for (const g of grants) {
      if (!/^GRANT SELECT(\([A-Za-z0-9_.`, ]+\))? ON system\.[a-z_]+$/.test(g))
        fail(`grant not SELECT on system: ${g}`);
    }
  }
}
