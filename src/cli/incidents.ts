// `sallyport incidents`: the incidents Alertmanager opened through the coordinator's webhook
// (GET /api/v1/incidents), newest first.
import { parseArgs } from 'node:util';
import { CONNECTION_OPTIONS, apiClientFrom } from './api-connection.ts';
import { API_EXIT_CODES, reportApiFailure } from './exit.ts';
import { UsageError, processIo, type CommandIo } from './io.ts';

export const help = `usage: sallyport incidents [--state open|closed|all] [--deployment NAME|global] [--json]

Lists incidents: alerts that Alertmanager sent to the coordinator's webhook, one per firing
episode, open until Alertmanager reports them resolved. --state defaults to open; --deployment
global shows alerts whose deployment label names no known deployment.

examples:
  sallyport incidents
  sallyport incidents --state all --deployment acme-prod --json

connection (flags, else the environment, as for 'sallyport admin'):
  --server URL          coordinator URL (env SALLYPORT_SERVER)
  --token TOKEN         bearer token (env SALLYPORT_TOKEN; get one with 'sallyport admin login')
  --ca FILE             PEM CA or self-signed certificate to trust (env SALLYPORT_CA)
  --fingerprint HEX     pin the listener certificate instead (env SALLYPORT_FINGERPRINT)
${API_EXIT_CODES}`;

type Row = Record<string, unknown>;

const time = (ms: unknown) =>
  typeof ms === 'number' ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';

export async function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  let o;
  try {
    o = parseArgs({
      args: argv,
      options: {
        ...CONNECTION_OPTIONS,
        json: { type: 'boolean' },
        help: { type: 'boolean' },
        state: { type: 'string' },
        deployment: { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (e) {
    io.stderr(`sallyport incidents: ${(e as Error).message}\nRun 'sallyport incidents --help'.\n`);
    return 2;
  }
  if (o.help) {
    io.stdout(help + '\n');
    return 0;
  }
  try {
    if (o.state && !['open', 'closed', 'all'].includes(o.state))
      throw new UsageError(`--state must be open, closed or all, not '${o.state}'`);
    const api = apiClientFrom(o, io.env, { requireToken: true });
    if (typeof api === 'string') throw new UsageError(api);
    const q = new URLSearchParams({
      state: o.state ?? 'open',
      ...(o.deployment ? { deployment: o.deployment } : {}),
    });
    const rows = await api.call<Row[]>('GET', `/api/v1/incidents?${q.toString()}`);
    if (o.json) {
      io.stdout(JSON.stringify(rows, null, 2) + '\n');
      return 0;
    }
    const cols: [string, (r: Row) => string][] = [
      ['ID', (r) => String(r.id)],
      ['STATE', (r) => String(r.state)],
      [
        'DEPLOYMENT',
        (r) => (r.deployment === null ? `global(${String(r.deploymentLabel ?? '-')})` : String(r.deployment)),
      ],
      ['ALERT', (r) => String(r.alertname)],
      ['SEVERITY', (r) => String(r.severity || '-')],
      ['OPENED', (r) => time(r.openedAt)],
      ['CLOSED', (r) => time(r.closedAt)],
      ['SUMMARY', (r) => String(r.summary).slice(0, 60)],
    ];
    const data = rows.map((r) => cols.map(([, f]) => f(r)));
    const widths = cols.map(([h], i) => Math.max(h.length, ...data.map((d) => d[i].length)));
    const line = (xs: string[]) =>
      xs
        .map((x, i) => x.padEnd(widths[i]))
        .join('  ')
        .trimEnd();
    io.stdout([line(cols.map(([h]) => h)), ...data.map(line)].join('\n') + '\n');
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`sallyport incidents: ${e.message}\nRun 'sallyport incidents --help'.\n`);
      return 2;
    }
    const code = reportApiFailure('incidents', e, io.stderr, o.server ?? io.env.SALLYPORT_SERVER);
    if (code !== undefined) return code;
    throw e;
  }
}
