// ClickHouse target (DESIGN.md §6, docs/targets/clickhouse.md): per-grant read-only users in
// users.d, the router-auth HTTP proxy with its SQL gate, and the customer-side query_log audit.
export { createClickHouseTarget, parseClickHouseOptions, type ClickHouseTargetOptions } from './target.ts';
export { ClickHouseReconciler, type ReconcilerOptions, type RemovedUser } from './reconciler.ts';
export { ClickHouseProxy, type ProxyOptions } from './proxy.ts';
export { QueryLogPoller, type PollerOptions } from './audit-poller.ts';
export { checkQuery, ALLOWED_SYSTEM_TABLES, type GateVerdict } from './sql-gate.ts';
export { lex, type Token } from './sql-lexer.ts';
export {
  renderUsersFile,
  validateUsersFile,
  nativeGrants,
  type UsersFileSpec,
  type ClickHouseMode,
} from './users-file.ts';
export { clickhouseUserName, usersFileName, userOfFile, FILE_PREFIX } from './names.ts';
export { SYSTEM_TABLES, GRANTED_COLUMNS } from './system-tables.ts';
export { parseXml, serializeXml, escapeXml } from './xml.ts';
export { chQuery, parseHostPort, type HostPort } from './http.ts';
export { rememberUsersDir, sweepLeftoverUsers, recordFile as usersDirsRecord } from './leftovers.ts';
export { probeNativeCert, parseVersion, NATIVE_CERT_MIN } from './version.ts';
