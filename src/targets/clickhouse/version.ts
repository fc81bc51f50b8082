// The server-version probe behind native-cert (fail closed, issue 13). native-cert writes users
// that ClickHouse itself authenticates by client certificate, which needs two things sallyport
// cannot give it today:
//   - a server that can do it: <ssl_certificates> arrived in 22.3 (HTTPS), 23.3 (native);
//   - the engineer's TLS reaching ClickHouse untouched, i.e. an unfiltered pipe through the
//     router, which a clickhouse service never gets (docs/operating-a-connector.md).
// So the probe runs before the service is registered and always ends in a refusal; it exists so
// the error says which of the two applies (and an unreachable server refuses too).
import { TargetError } from '../errors.ts';
import { chQuery, type HostPort } from './http.ts';

/** The first ClickHouse version whose users can be authenticated by certificate (HTTPS). */
export const NATIVE_CERT_MIN: readonly [number, number] = [22, 3];

/** "18.16.1" / "23.8.2.7" → [major, minor]; undefined for anything else. */
export function parseVersion(s: string): [number, number] | undefined {
  const m = /^\s*(\d{1,4})\.(\d{1,4})(?:\.\d+)*\s*$/.exec(s);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** Throws TARGET_CONFIG (or TARGET_UPSTREAM when the server cannot be asked) naming the fix. */
export async function probeNativeCert(
  service: string,
  upstream: HostPort,
  admin: { user: string; password: string } | undefined,
  o: { signal?: AbortSignal } = {},
): Promise<never> {
  const where = `clickhouse service '${service}' (mode native-cert)`;
  if (!admin)
    throw new TargetError(
      'TARGET_CONFIG',
      `${where}: the connector must check the server's version before it serves native-cert, and ` +
        'that needs target.admin; use mode router-auth (works with every ClickHouse version)',
    );
  let answer;
  try {
    answer = await chQuery(upstream, admin, 'SELECT version()', { timeoutMs: 5000, signal: o.signal });
  } catch (e) {
    throw new TargetError(
      'TARGET_UPSTREAM',
      `${where}: cannot reach ClickHouse at ${upstream.host}:${upstream.port} to check its version ` +
        `(${(e as Error).message}); refusing to serve it. Start ClickHouse first, or use mode router-auth`,
      { cause: e },
    );
  }
  const v = answer.status === 200 ? parseVersion(answer.body) : undefined;
  if (!v)
    throw new TargetError(
      'TARGET_UPSTREAM',
      `${where}: could not read the server's version (HTTP ${answer.status}: ` +
        `${answer.body.slice(0, 120).trim()}); refusing to serve it. Use mode router-auth`,
    );
  const [major, minor] = v;
  if (major < NATIVE_CERT_MIN[0] || (major === NATIVE_CERT_MIN[0] && minor < NATIVE_CERT_MIN[1]))
    throw new TargetError(
      'TARGET_CONFIG',
      `${where}: ClickHouse ${major}.${minor} cannot authenticate users by certificate ` +
        `(needs ≥ ${NATIVE_CERT_MIN.join('.')}): use mode router-auth`,
    );
  throw new TargetError(
    'TARGET_CONFIG',
    `${where}: ClickHouse ${major}.${minor} could check certificates itself, but only if the ` +
      "router piped the engineer's TLS to it unfiltered, which a clickhouse service never gets: " +
      'use mode router-auth',
  );
}
