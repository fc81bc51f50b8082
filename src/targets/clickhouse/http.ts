// ClickHouse's HTTP interface, as the connector uses it: one POST per statement, credentials in
// X-ClickHouse-User/Key headers (never in the URL, where logs would keep them), bounded answers.
import http from 'node:http';
import { TargetError } from '../errors.ts';

export interface HostPort {
  host: string;
  port: number;
}

/** "host:port" or "[v6]:port" → parts; throws TARGET_CONFIG naming the field. */
export function parseHostPort(s: unknown, field: string): HostPort {
  const m = typeof s === 'string' ? /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(s) : null;
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) throw new TargetError('TARGET_CONFIG', `${field} must be host:port`);
  return { host: m[1] ?? m[2]!, port };
}

export interface ChAnswer {
  status: number;
  body: string;
}

const MAX_ANSWER = 16 * 1024 * 1024;

/** Runs one statement; rejects only when ClickHouse cannot be reached or answers too much. */
export function chQuery(
  to: HostPort,
  cred: { user: string; password: string },
  sql: string,
  o: { params?: Record<string, string>; signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<ChAnswer> {
  const qs = new URLSearchParams(o.params ?? {}).toString();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: to.host,
        port: to.port,
        method: 'POST',
        path: qs ? `/?${qs}` : '/',
        headers: {
          'X-ClickHouse-User': cred.user,
          'X-ClickHouse-Key': cred.password,
          'Content-Type': 'text/plain; charset=utf-8',
        },
        signal: o.signal,
        timeout: o.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER) {
            req.destroy(new TargetError('TARGET_UPSTREAM', 'clickhouse answer too large'));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new TargetError('TARGET_UPSTREAM', 'clickhouse did not answer in time')),
    );
    req.on('error', (e) =>
      reject(
        e instanceof TargetError
          ? e
          : new TargetError('TARGET_UPSTREAM', `clickhouse: ${e.message}`, { cause: e }),
      ),
    );
    req.end(sql);
  });
}
