// `sallyport clickhouse DEPLOYMENT [-- QUERY]`: a query to a deployment's ClickHouse through the
// running agent, with no certificate flags: the agent names the service and its grant, makes the
// grant's client certificate (kept in STATE/certs/GRANT until it nears its end), and the query goes
// over TLS to the service's tailnet name through the agent's SOCKS5 proxy (the name the router's
// certificate carries, so nothing is disabled to make it pass).
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { X509Certificate } from 'node:crypto';
import { ctlRequest, socketPath, type AgentStatus, type CtlRequest } from '../agent/index.ts';
import { httpsViaSocks, type ClientCert } from '../lab/client.ts';
import { realClock } from '../clock/index.ts';
import { stateDir } from './agent-common.ts';
import { Failed, UsageError, processIo, type CommandIo } from './io.ts';

export const help = `usage: sallyport clickhouse DEPLOYMENT [--service NAME] [--state DIR] [--format FORMAT] [-- QUERY…]

Runs ClickHouse queries on a deployment through the overlay, as the ClickHouse user your grant got
(read-only, the system database): no certificate paths, no curl. The running agent (its control
socket in the state directory) says which clickhouse service of DEPLOYMENT your grants reach,
makes the grant's client certificate (its key never leaves this machine; kept in STATE/certs/GRANT
and made again near its end), and the query goes over TLS, checked against the service's tailnet
name, through the agent's SOCKS5 proxy.

The query is the words after --, else standard input: piped, it is one query; on a terminal, each
line is a query (an empty line or Ctrl-D ends). Results are ClickHouse's own output (TSV unless
--format or the query says otherwise). A refused query (another user's query text, customer data,
any write) prints ClickHouse's or the router's reason and exits 1.

options:
  --service NAME        the clickhouse service when DEPLOYMENT has several in your grants
  --state DIR           the agent's state directory (env SALLYPORT_STATE; default ~/.sallyport)
  --format FORMAT       ClickHouse output format, e.g. PrettyCompact, JSONEachRow (default: TSV)
  --help                this text

examples:
  sallyport clickhouse acme-prod -- SELECT name, engine FROM system.tables LIMIT 5
  sallyport clickhouse acme-prod --format PrettyCompact -- SELECT * FROM system.merges
  echo 'SELECT version()' | sallyport clickhouse acme-prod

exit codes: 0 every query answered, 1 a query refused or failed, or no grant, 2 bad usage
`;

const OPTIONS = {
  service: { type: 'string' },
  state: { type: 'string' },
  format: { type: 'string' },
  help: { type: 'boolean' },
} as const;

/** A certificate this close to its end is made again. */
const RENEW_BEFORE_MS = 60_000;

export async function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const words = dash < 0 ? [] : argv.slice(dash + 1);
  let p;
  try {
    p = parseArgs({ args: own, options: OPTIONS, strict: true, allowPositionals: true });
  } catch (e) {
    io.stderr(`sallyport clickhouse: ${(e as Error).message}\nRun 'sallyport clickhouse --help'.\n`);
    return 2;
  }
  if (p.values.help) {
    io.stdout(help);
    return 0;
  }
  try {
    if (p.positionals.length !== 1) throw new UsageError('give exactly one DEPLOYMENT');
    if (p.values.format !== undefined && !/^[A-Za-z]{1,40}$/.test(p.values.format))
      throw new UsageError(`--format wants a ClickHouse format name, got '${p.values.format}'`);
    const target = await connect(
      p.positionals[0],
      p.values.service,
      stateDir(p.values.state ?? io.env.SALLYPORT_STATE),
    );
    const ask = (sql: string) => query(target, sql, p.values.format, io);
    if (words.length) return (await ask(words.join(' '))) ? 0 : 1;
    if (!process.stdin.isTTY) {
      const sql = readFileSync(0, 'utf8').trim();
      if (!sql) throw new UsageError('no query: give it after --, or on standard input');
      return (await ask(sql)) ? 0 : 1;
    }
    let ok = true;
    const rl = createInterface({ input: process.stdin, output: process.stderr, prompt: `${target.name}> ` });
    rl.prompt();
    for await (const line of rl) {
      if (!line.trim()) break;
      ok = (await ask(line)) && ok;
      rl.prompt();
    }
    rl.close();
    return ok ? 0 : 1;
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`sallyport clickhouse: ${e.message}\nRun 'sallyport clickhouse --help'.\n`);
      return 2;
    }
    if (e instanceof Failed) {
      io.stderr(`sallyport clickhouse: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

interface Target {
  name: string;
  proxy: { host: string; port: number };
  cert: ClientCert;
}

async function connect(deployment: string, service: string | undefined, state: string): Promise<Target> {
  const ask = async (req: CtlRequest) => {
    let r;
    try {
      r = await ctlRequest(socketPath(state), req);
    } catch (e) {
      throw new Failed(
        `${(e as Error).message}: is 'sallyport agent --state ${state} --socks5 127.0.0.1:1055' running?`,
      );
    }
    r.socket.destroy();
    if (!r.reply.ok) throw new Failed(`the agent refused: ${r.reply.code}: ${r.reply.message}`);
    return r.reply;
  };
  const st = (await ask({ cmd: 'status' })).status as AgentStatus;
  const mine = st.services.filter(
    (s) => s.deployment === deployment && s.kind === 'clickhouse' && (!service || s.name === service),
  );
  if (mine.length === 0)
    throw new Failed(
      `no clickhouse service of ${deployment}${service ? ` named ${service}` : ''} in this node's netmap: ` +
        `ask with 'sallyport request ${deployment} --service ${service ?? 'clickhouse'} --reason "…" --for 1h --wait'`,
    );
  if (mine.length > 1)
    throw new UsageError(
      `${deployment} has ${mine.length} clickhouse services in your grants: pick one with --service (${mine.map((s) => s.name).join(', ')})`,
    );
  const svc = mine[0];
  const grant = st.grants.find((g) => g.services.includes(svc.name));
  if (!grant) throw new Failed(`no grant in this node's netmap covers ${svc.name}`);
  if (!st.socks5) throw new Failed(`the agent runs no SOCKS5 proxy: start it with --socks5 127.0.0.1:1055`);
  const i = st.socks5.lastIndexOf(':');
  const proxy = { host: st.socks5.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(st.socks5.slice(i + 1)) };
  const dir = join(state, 'certs', grant.id);
  let cert = cached(dir);
  if (!cert) {
    const c = (await ask({ cmd: 'cert', grant: grant.id })).cert as {
      keyPem: string;
      chainPem: string;
      rootPem: string;
    };
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'key.pem'), c.keyPem, { mode: 0o600 });
    chmodSync(join(dir, 'key.pem'), 0o600);
    writeFileSync(join(dir, 'cert.pem'), c.chainPem);
    writeFileSync(join(dir, 'ca.pem'), c.rootPem);
    cert = { keyPem: c.keyPem, certPem: c.chainPem, caPem: c.rootPem };
  }
  return { name: svc.tailnetName, proxy, cert };
}

/** The grant's certificate already on disk, when it is not near its end. */
function cached(dir: string): ClientCert | undefined {
  const files = ['key.pem', 'cert.pem', 'ca.pem'].map((f) => join(dir, f));
  if (!files.every((f) => existsSync(f))) return undefined;
  try {
    const [keyPem, certPem, caPem] = files.map((f) => readFileSync(f, 'utf8'));
    const end = Date.parse(new X509Certificate(certPem).validTo);
    if (!(end - realClock.wallMs() > RENEW_BEFORE_MS)) return undefined;
    return { keyPem, certPem, caPem };
  } catch {
    return undefined;
  }
}

async function query(t: Target, sql: string, format: string | undefined, io: CommandIo): Promise<boolean> {
  const body = format ? `${sql.replace(/;\s*$/, '')} FORMAT ${format}` : sql;
  let r;
  try {
    r = await httpsViaSocks({
      proxy: t.proxy,
      host: t.name,
      cert: t.cert,
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'text/plain' },
      body,
      signal: AbortSignal.timeout(120_000),
    });
  } catch (e) {
    io.stderr(`sallyport clickhouse: ${t.name}: ${(e as Error).message}\n`);
    return false;
  }
  if (r.status === 200) {
    io.stdout(r.body);
    return true;
  }
  io.stderr(`sallyport clickhouse: HTTP ${r.status}: ${r.body.trim()}\n`);
  return false;
}
