// `sallyport incidents`: the incidents Alertmanager opened through the coordinator's webhook
// (GET /api/v1/incidents), newest first.
import type { Incident } from '../control/routes/alerts.ts';
import { routes } from '../control/routes/index.ts';
import { CONNECTION_FLAGS, TOKEN_HELP, requireApiClient } from './api-connection.ts';
import { API_EXIT_CODES, apiErrors } from './exit.ts';
import { optionLines, processIo, runCommand, type CommandIo, type FlagTable } from './kit/index.ts';
import { isoTime, table, type Column } from './table.ts';

const FLAGS = {
  ...CONNECTION_FLAGS,
  json: { type: 'boolean' },
  state: {
    type: 'string',
    value: 'open|closed|all',
    choices: ['open', 'closed', 'all'],
    invalid: (v) => `--state must be open, closed or all, not '${v}'`,
    default: 'open',
  },
  deployment: { type: 'string', value: 'NAME|global' },
} as const satisfies FlagTable;

export const help = `usage: sallyport incidents [--state open|closed|all] [--deployment NAME|global] [--json]

Lists incidents: alerts that Alertmanager sent to the coordinator's webhook, one per firing
episode, open until Alertmanager reports them resolved. --state defaults to open; --deployment
global shows alerts whose deployment label names no known deployment.

examples:
  sallyport incidents
  sallyport incidents --state all --deployment acme-prod --json

connection (flags, else the environment, as for 'sallyport admin'):
${optionLines(FLAGS, 24, ['server', { flag: 'token', help: TOKEN_HELP }, 'ca', 'fingerprint'])}${API_EXIT_CODES}`;

const COLUMNS: Column<Incident>[] = [
  ['ID', (r) => r.id],
  ['STATE', (r) => r.state],
  ['DEPLOYMENT', (r) => (r.deployment === null ? `global(${r.deploymentLabel ?? '-'})` : r.deployment)],
  ['ALERT', (r) => r.alertname],
  ['SEVERITY', (r) => r.severity || '-'],
  ['OPENED', (r) => isoTime(r.openedAt)],
  ['CLOSED', (r) => isoTime(r.closedAt)],
  ['SUMMARY', (r) => r.summary.slice(0, 60)],
];

export function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  return runCommand(
    { name: 'incidents', flags: FLAGS, help },
    argv,
    io,
    async ({ values: o }) => {
      const api = requireApiClient(o, io.env, { requireToken: true });
      // --state is one of its choices (the flag checks); --deployment goes as given.
      const state = o.state as 'open' | 'closed' | 'all';
      const query = { state, deployment: o.deployment || undefined };
      const rows = await api.route(routes.incidentsList, { query });
      io.stdout(o.json ? JSON.stringify(rows, null, 2) + '\n' : table(rows, COLUMNS));
      return 0;
    },
    ({ values: o }) => apiErrors(o.server),
  );
}
