// The customer's ClickHouse in the lab: a private server (src/lab/servers/clickhouse.ts) with a
// table of customer data, behind the connector's ClickHouse target in router-auth mode (a
// read-only, system-only user per grant; the engineer's queries go through the target's SQL gate).
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import { startClickHouse } from './servers/clickhouse.ts';
import { clickhouseCode, firstLine, type LabService, type Probe } from './service.ts';

/** A row only the customer may read; the lab checks it never reaches the engineer. */
export const SECRET_EMAIL = 'jane.doe@customer.example';

function adminQuery(port: number, user: { user: string; password: string }, sql: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        headers: { 'x-clickhouse-user': user.user, 'x-clickhouse-key': user.password },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(body) : reject(new Error(`ClickHouse: ${firstLine(body)}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(sql);
  });
}

export async function clickhouseService(o: {
  dir: string;
  clock: Clock;
  logger: Logger;
  signal: AbortSignal;
}): Promise<LabService> {
  const ch = await startClickHouse({
    dir: join(o.dir, 'clickhouse'),
    clock: o.clock,
    logger: o.logger,
    signal: o.signal,
  });
  try {
    const admin = ch.adminUser;
    await adminQuery(
      ch.httpPort,
      admin,
      'CREATE TABLE IF NOT EXISTS default.customer_data (id UInt32, email String, plan String) ENGINE = Memory',
    );
    await adminQuery(
      ch.httpPort,
      admin,
      `INSERT INTO default.customer_data VALUES (1, '${SECRET_EMAIL}', 'enterprise'), (2, 'max@customer.example', 'team')`,
    );
  } catch (e) {
    await ch.stop();
    throw e;
  }
  const passwordFile = join(o.dir, 'clickhouse', 'admin-password');
  writeFileSync(passwordFile, ch.adminUser.password + '\n', { mode: 0o600 });
  return {
    label: `ClickHouse (private server, 127.0.0.1:${ch.httpPort})`,
    demo: false,
    spec: {
      name: 'clickhouse',
      kind: 'clickhouse',
      address: `127.0.0.1:${ch.httpPort}`,
      tls: 'terminate',
      target: {
        mode: 'router-auth',
        usersDir: ch.usersDir,
        // the connector's own ClickHouse user: reads query_log for the customer-side audit
        admin: { user: ch.adminUser.user, passwordFile },
      },
    },
    probes: clickhouseProbes(),
    pid: ch.pid,
    stop: () => ch.stop(),
  };
}

const query = (sql: string): Probe['request'] => ({
  method: 'POST',
  path: '/',
  headers: { 'content-type': 'text/plain; charset=utf-8' },
  body: sql,
});

/** Chapter 4 on ClickHouse: system tables answer; customer data is refused with error 291. */
export function clickhouseProbes(): Probe[] {
  return [
    {
      step: 'query',
      what: 'SELECT count() FROM system.tables',
      request: query('SELECT count() FROM system.tables'),
      // the grant's ClickHouse user appears within ~2 s of the approval (users.d hot reload)
      retryMs: 15_000,
      judge: (a) => {
        const n = Number(a.body.trim());
        return a.status === 200 && a.body.trim() !== '' && Number.isInteger(n) && n > 0
          ? { ok: true, summary: `${n} tables` }
          : { ok: false, summary: `HTTP ${a.status}: ${firstLine(a.body)}` };
      },
    },
    {
      step: 'refused',
      what: 'SELECT * FROM default.customer_data',
      request: query('SELECT * FROM default.customer_data'),
      judge: (a) => {
        if (a.body.includes(SECRET_EMAIL))
          return { ok: false, summary: 'customer data reached the engineer' };
        const code = clickhouseCode(a.body);
        return a.status !== 200 && code === 291
          ? { ok: true, summary: `refused by ClickHouse, error 291 (${firstLine(a.body, 90)})` }
          : { ok: false, summary: `expected error 291, got HTTP ${a.status}: ${firstLine(a.body)}` };
      },
    },
  ];
}
