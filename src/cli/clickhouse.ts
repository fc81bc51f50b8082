// `sallyport clickhouse DEPLOYMENT [-- QUERY]`: a query to a deployment's ClickHouse through the
// running agent, with no certificate flags: the agent names the service and its grant, makes the
// grant's client certificate (kept in STATE/certs/GRANT until it nears its end), and the query goes
// over TLS to the service's tailnet name through the agent's SOCKS5 proxy (the name the router's
// certificate carries, so nothing is disabled to make it pass).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { httpsViaSocks } from '../lab/client.ts';
import { STATE_FLAG, stateDir } from './agent-common.ts';
import { grantTarget, type GrantTarget } from './grant-target.ts';
import {
  HELP_FLAG,
  UsageError,
  optionLines,
  processIo,
  runCommand,
  type CommandIo,
  type FlagTable,
} from './kit/index.ts';

const FLAGS = {
  service: {
    type: 'string',
    value: 'NAME',
    help: 'the clickhouse service when DEPLOYMENT has several in your grants',
  },
  ...STATE_FLAG,
  format: {
    type: 'string',
    value: 'FORMAT',
    help: 'ClickHouse output format, e.g. PrettyCompact, JSONEachRow (default: TSV)',
  },
  ...HELP_FLAG,
} as const satisfies FlagTable;

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
${optionLines(FLAGS, 24)}
examples:
  sallyport clickhouse acme-prod -- SELECT name, engine FROM system.tables LIMIT 5
  sallyport clickhouse acme-prod --format PrettyCompact -- SELECT * FROM system.merges
  echo 'SELECT version()' | sallyport clickhouse acme-prod

exit codes: 0 every query answered, 1 a query refused or failed, or no grant, 2 bad usage
`;

const COMMAND = {
  name: 'clickhouse',
  flags: FLAGS,
  help,
  positionals: { min: 1, max: 1, usage: 'give exactly one DEPLOYMENT' },
  passThrough: true,
};

export function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  return runCommand(COMMAND, argv, io, async ({ values: o, positionals: [deployment], rest: words }) => {
    if (o.format !== undefined && !/^[A-Za-z]{1,40}$/.test(o.format))
      throw new UsageError(`--format wants a ClickHouse format name, got '${o.format}'`);
    const target = await grantTarget(deployment, o.service, stateDir(o.state), 'clickhouse');
    const ask = (sql: string) => query(target, sql, o.format, io);
    if (words.length) return (await ask(words.join(' '))) ? 0 : 1;
    if (!process.stdin.isTTY) {
      const sql = readFileSync(0, 'utf8').trim();
      if (!sql) throw new UsageError('no query: give it after --, or on standard input');
      return (await ask(sql)) ? 0 : 1;
    }
    return (await prompt(target, ask)) ? 0 : 1;
  });
}

/** On a terminal: a query per line until an empty line or Ctrl-D; whether every one was answered. */
async function prompt(target: GrantTarget, ask: (sql: string) => Promise<boolean>): Promise<boolean> {
  let ok = true;
  const rl = createInterface({ input: process.stdin, output: process.stderr, prompt: `${target.name}> ` });
  rl.prompt();
  for await (const line of rl) {
    if (!line.trim()) break;
    ok = (await ask(line)) && ok;
    rl.prompt();
  }
  rl.close();
  return ok;
}

async function query(
  t: GrantTarget,
  sql: string,
  format: string | undefined,
  io: CommandIo,
): Promise<boolean> {
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
