// The access commands, talking to the coordinator's HTTPS API like `sallyport admin`:
//   request DEPLOYMENT --service S… --reason "…" --for 2h     requests [--status S] [--json]
//   approve ID [--extension]    deny ID --reason "…" [--extension]
//   grants [--status S] [--json]    revoke ID [--reason "…"]    extend ID --for 30m --reason "…"
//   cert [GRANT] [--out DIR]
// Each of src/cli/{request,requests,approve,deny,grants,revoke,cert}.ts is `run(argv)` + `help`
// over `runAccess(name, argv)`. Server and credentials: flags, else SALLYPORT_SERVER,
// SALLYPORT_TOKEN, SALLYPORT_CA or SALLYPORT_FINGERPRINT (as for `sallyport admin`). Flags and
// --help texts: access-help.ts; the certificate: access-cert.ts.
import type { AccessLevel, ApprovalRules, ExtensionPair, RequestState } from '../access/index.ts';
import type { ApiClient } from '../control/api-client.ts';
import { routes, type AccessStatus } from '../control/routes/index.ts';
import { cert, certViaAgent } from './access-cert.ts';
import { ACCESS_FLAGS, HELP, type AccessCommand } from './access-help.ts';
import { requireApiClient } from './api-connection.ts';
import { apiErrors } from './exit.ts';
import { Failed, UsageError, processIo, runCommand, type CommandIo, type FlagValues } from './kit/index.ts';
import { isoTime, table } from './table.ts';

export { HELP, type AccessCommand } from './access-help.ts';

export type AccessIo = CommandIo;

type Values = FlagValues<typeof ACCESS_FLAGS>;

/** One access command's work, once the command line is read and the API client made. */
type Action = (a: Values, args: string[], api: ApiClient, io: AccessIo) => Promise<number>;

const approvers = (r: RequestState): string => r.approvals.map((a) => a.by).join(',') || '-';

function describeRules({ rules }: { rules: ApprovalRules }): string {
  const parts = [`${rules.approval.threshold} of ${rules.approval.group}`];
  if (rules.customer) parts.push(`${rules.customer.threshold} of ${rules.customer.group} (customer)`);
  return parts.join(' and ');
}

const need = (v: string | undefined, what: string): string => {
  if (!v) throw new UsageError(`missing ${what}`);
  return v;
};

/** Exactly one positional argument, named `what` in the message. */
const one = (args: string[], what: string): string => {
  if (args.length !== 1) throw new UsageError(`give exactly one ${what}`);
  return args[0];
};

const json = (io: AccessIo, v: unknown): void => io.stdout(JSON.stringify(v, null, 2) + '\n');

/** --status as the list routes' query (the server's schema names the statuses it takes). */
const statusQuery = (a: Values) => ({ status: (a.status || undefined) as AccessStatus | undefined });

const request: Action = async (a, args, api, io) => {
  const deployment = one(args, 'DEPLOYMENT');
  if (!a.service?.length) throw new UsageError('missing --service NAME');
  const r = await api.route(routes.requestsCreate, {
    body: {
      deployment,
      services: a.service,
      reason: need(a.reason, '--reason "TICKET"'),
      duration: need(a.for, '--for DURATION'),
      ...(a.access ? { access: a.access as AccessLevel } : {}),
    },
  });
  if (a.wait) return await waitForDecision(api, r, a, io);
  if (a.json) json(io, r);
  else
    io.stdout(
      `request ${r.id} is pending until ${isoTime(r.pendingUntil)}: needs approval by ${describeRules(r)}\n` +
        `  sallyport approve ${r.id}    (by an approver)\n`,
    );
  return 0;
};

const requests: Action = async (a, _args, api, io) => {
  const rows = await api.route(routes.requestsList, { query: statusQuery(a) });
  if (a.json) json(io, rows);
  else
    io.stdout(
      table(rows, [
        ['ID', (r) => r.id],
        ['REQUESTER', (r) => r.requester],
        ['DEPLOYMENT', (r) => r.deployment],
        ['SERVICES', (r) => r.services.join(',')],
        ['FOR', (r) => `${Math.round(r.durationMs / 60_000)}m`],
        ['STATUS', (r) => r.status],
        ['APPROVED BY', approvers],
        ['REASON', (r) => r.reason.slice(0, 40)],
      ]),
    );
  return 0;
};

/** approve or deny a request (or, with --extension, an extension request). */
const decide =
  (cmd: 'approve' | 'deny'): Action =>
  async (a, args, api, io) => {
    const id = one(args, 'ID');
    const what = a.extension ? 'extension' : 'request';
    const reason = cmd === 'deny' ? need(a.reason, '--reason "…"') : undefined;
    const r = await decision(api, what, id, reason);
    if (a.json) json(io, r);
    else if (!('status' in r))
      // an extension answers its pair { extension, grant }: the extension's own state
      io.stdout(`${what} ${id} ${r.extension.status}\n`);
    else if (r.status === 'approved')
      io.stdout(
        `${what} ${id} approved; ${r.grantId ? `grant ${r.grantId} is active` : 'the grant end moved'}\n`,
      );
    else if (r.status === 'pending')
      io.stdout(`approval recorded; request ${id} still needs ${describeRules(r)} in all\n`);
    else io.stdout(`${what} ${id} ${r.status}\n`);
    return 0;
  };

/**
 * Approves (no reason) or denies a request or an extension: a request answers its state, an
 * extension its pair { extension, grant }.
 */
function decision(
  api: ApiClient,
  what: 'request' | 'extension',
  id: string,
  reason: string | undefined,
): Promise<RequestState | ExtensionPair> {
  const params = { id };
  if (what === 'request')
    return reason === undefined
      ? api.route(routes.requestsApprove, { params })
      : api.route(routes.requestsDeny, { params, body: { reason } });
  return reason === undefined
    ? api.route(routes.extensionsApprove, { params })
    : api.route(routes.extensionsDeny, { params, body: { reason } });
}

const grants: Action = async (a, _args, api, io) => {
  const rows = await api.route(routes.accessGrantsList, { query: statusQuery(a) });
  if (a.json) json(io, rows);
  else
    io.stdout(
      table(rows, [
        ['ID', (r) => r.id],
        ['HOLDER', (r) => r.subject],
        ['DEPLOYMENT', (r) => r.deployment],
        ['SERVICES', (r) => r.services.join(',')],
        ['ACCESS', (r) => r.access],
        ['STATUS', (r) => r.status],
        ['END', (r) => isoTime(r.end)],
      ]),
    );
  return 0;
};

const revoke: Action = async (a, args, api, io) => {
  const id = one(args, 'grant ID');
  const r = await api.route(routes.accessGrantsRevoke, {
    params: { id },
    body: { ...(a.reason ? { reason: a.reason } : {}) },
  });
  if (a.json) json(io, r);
  else io.stdout(`grant ${id} ${r.status}\n`);
  return 0;
};

const extend: Action = async (a, args, api, io) => {
  const id = one(args, 'grant ID');
  const r = await api.route(routes.accessGrantsExtend, {
    params: { id },
    body: { duration: need(a.for, '--for DURATION'), reason: need(a.reason, '--reason "…"') },
  });
  if (a.json) json(io, r);
  else io.stdout(`extension ${r.id} pending: sallyport approve --extension ${r.id}\n`);
  return 0;
};

const ACTIONS: Record<AccessCommand, Action> = {
  request,
  requests,
  approve: decide('approve'),
  deny: decide('deny'),
  grants,
  revoke,
  extend,
  cert: (a, args, api, io) => cert(api, args, a, io),
};

/** Runs one access command; returns the exit code. */
export function runAccess(cmd: AccessCommand, argv: string[], io: AccessIo = processIo): Promise<number> {
  // Positional arguments: each command checks its own (requests and grants ignore any).
  const command = { name: cmd, flags: ACCESS_FLAGS, help: HELP[cmd], positionals: { max: Infinity } };
  return runCommand(
    command,
    argv,
    io,
    ({ values: a, positionals: args }) => {
      if (cmd === 'cert' && a.agent) return certViaAgent(args, a, io);
      const api = requireApiClient(a, io.env, { requireToken: true });
      return ACTIONS[cmd](a, args, api, io);
    },
    ({ values: a }) => apiErrors(a.server),
  );
}

/** `request --wait`: long polls until the request is decided, then fetches the certificate. */
async function waitForDecision(
  api: ApiClient,
  first: RequestState,
  o: { out?: string; state?: string; json?: boolean },
  io: AccessIo,
): Promise<number> {
  const id = first.id;
  if (!o.json)
    io.stderr(
      `request ${id} is pending until ${isoTime(first.pendingUntil)}: needs approval by ${describeRules(first)}\n` +
        `waiting for the decision (Ctrl-C stops waiting; the request stays)...\n`,
    );
  let r = first;
  let seen = first.approvals.length;
  while (r.status === 'pending') {
    r = await api.route(routes.requestsWait, { params: { id }, query: { timeout: 25 } });
    const n = r.approvals.length;
    if (n > seen && r.status === 'pending' && !o.json)
      io.stderr(`approved by ${approvers(r)}; still needs ${describeRules(r)} in all\n`);
    seen = n;
  }
  if (r.status !== 'approved' || typeof r.grantId !== 'string') {
    if (o.json) io.stdout(JSON.stringify(r, null, 2) + '\n');
    const by = typeof r.decidedBy === 'string' ? ` by ${r.decidedBy}` : '';
    const why = typeof r.note === 'string' ? `: ${r.note}` : '';
    throw new Failed(`request ${id} was ${r.status}${by}${why}`);
  }
  if (!o.json) io.stderr(`approved by ${approvers(r)}: grant ${r.grantId} is active\n`);
  return cert(api, [r.grantId], o, io);
}
