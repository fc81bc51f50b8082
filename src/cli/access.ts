// The access commands, talking to the coordinator's HTTPS API like `sallyport admin`:
//   request DEPLOYMENT --service S… --reason "…" --for 2h     requests [--status S] [--json]
//   approve ID [--extension]    deny ID --reason "…" [--extension]
//   grants [--status S] [--json]    revoke ID [--reason "…"]    extend ID --for 30m --reason "…"
//   cert [GRANT] [--out DIR]
// Each of src/cli/{request,requests,approve,deny,grants,revoke,cert}.ts is `run(argv)` + `help`
// over `runAccess(name, argv)`. Server and credentials: flags, else SALLYPORT_SERVER,
// SALLYPORT_TOKEN, SALLYPORT_CA or SALLYPORT_FINGERPRINT (as for `sallyport admin`). Flags and
// --help texts: access-help.ts; the certificate: access-cert.ts.
import type { ApiClient } from '../control/api-client.ts';
import { cert, certViaAgent } from './access-cert.ts';
import { ACCESS_FLAGS, HELP, type AccessCommand } from './access-help.ts';
import { requireApiClient } from './api-connection.ts';
import { apiErrors } from './exit.ts';
import { Failed, UsageError, processIo, runCommand, type CommandIo, type FlagValues } from './kit/index.ts';
import { isoTime, table } from './table.ts';

export { HELP, type AccessCommand } from './access-help.ts';

export type AccessIo = CommandIo;

type Values = FlagValues<typeof ACCESS_FLAGS>;
type Row = Record<string, unknown>;

/** One access command's work, once the command line is read and the API client made. */
type Action = (a: Values, args: string[], api: ApiClient, io: AccessIo) => Promise<number>;

const enc = encodeURIComponent;

const list = (v: unknown): string => (Array.isArray(v) ? v.join(',') : String(v ?? '-'));
const approvers = (r: Row): string =>
  (r.approvals as { by: string }[] | undefined)?.map((a) => a.by).join(',') || '-';

function describeRules(r: Row): string {
  const rules = r.rules as {
    approval: { group: string; threshold: number };
    customer: { group: string; threshold: number } | null;
  };
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

const statusQuery = (a: Values): string => (a.status ? `?status=${enc(a.status)}` : '');

const request: Action = async (a, args, api, io) => {
  const deployment = one(args, 'DEPLOYMENT');
  if (!a.service?.length) throw new UsageError('missing --service NAME');
  const r = await api.call<Row>('POST', '/api/v1/requests', {
    deployment,
    services: a.service,
    reason: need(a.reason, '--reason "TICKET"'),
    duration: need(a.for, '--for DURATION'),
    ...(a.access ? { access: a.access } : {}),
  });
  if (a.wait) return await waitForDecision(api, r, a, io);
  if (a.json) json(io, r);
  else
    io.stdout(
      `request ${String(r.id)} is pending until ${isoTime(r.pendingUntil)}: needs approval by ${describeRules(r)}\n` +
        `  sallyport approve ${String(r.id)}    (by an approver)\n`,
    );
  return 0;
};

const requests: Action = async (a, _args, api, io) => {
  const rows = await api.call<Row[]>('GET', `/api/v1/requests${statusQuery(a)}`);
  if (a.json) json(io, rows);
  else
    io.stdout(
      table(rows, [
        ['ID', (r) => String(r.id)],
        ['REQUESTER', (r) => String(r.requester)],
        ['DEPLOYMENT', (r) => String(r.deployment)],
        ['SERVICES', (r) => list(r.services)],
        ['FOR', (r) => `${Math.round(Number(r.durationMs) / 60_000)}m`],
        ['STATUS', (r) => String(r.status)],
        ['APPROVED BY', approvers],
        ['REASON', (r) => String(r.reason).slice(0, 40)],
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
    const r = await api.call<Row>(
      'POST',
      `/api/v1/${a.extension ? 'extensions' : 'requests'}/${enc(id)}/${cmd}`,
      cmd === 'deny' ? { reason: need(a.reason, '--reason "…"') } : undefined,
    );
    if (a.json) json(io, r);
    else if (r.status === 'approved')
      io.stdout(
        `${what} ${id} approved; ${r.grantId ? `grant ${String(r.grantId)} is active` : 'the grant end moved'}\n`,
      );
    else if (r.status === 'pending')
      io.stdout(`approval recorded; request ${id} still needs ${describeRules(r)} in all\n`);
    else io.stdout(`${what} ${id} ${String(r.status)}\n`);
    return 0;
  };

const grants: Action = async (a, _args, api, io) => {
  const rows = await api.call<Row[]>('GET', `/api/v1/access-grants${statusQuery(a)}`);
  if (a.json) json(io, rows);
  else
    io.stdout(
      table(rows, [
        ['ID', (r) => String(r.id)],
        ['HOLDER', (r) => String(r.subject)],
        ['DEPLOYMENT', (r) => String(r.deployment)],
        ['SERVICES', (r) => list(r.services)],
        ['ACCESS', (r) => String(r.access)],
        ['STATUS', (r) => String(r.status)],
        ['END', (r) => isoTime(r.end)],
      ]),
    );
  return 0;
};

const revoke: Action = async (a, args, api, io) => {
  const id = one(args, 'grant ID');
  const r = await api.call<Row>('POST', `/api/v1/access-grants/${enc(id)}/revoke`, {
    ...(a.reason ? { reason: a.reason } : {}),
  });
  if (a.json) json(io, r);
  else io.stdout(`grant ${id} ${String(r.status)}\n`);
  return 0;
};

const extend: Action = async (a, args, api, io) => {
  const id = one(args, 'grant ID');
  const r = await api.call<Row>('POST', `/api/v1/access-grants/${enc(id)}/extensions`, {
    duration: need(a.for, '--for DURATION'),
    reason: need(a.reason, '--reason "…"'),
  });
  if (a.json) json(io, r);
  else io.stdout(`extension ${String(r.id)} pending: sallyport approve --extension ${String(r.id)}\n`);
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
  first: Row,
  o: { out?: string; state?: string; json?: boolean },
  io: AccessIo,
): Promise<number> {
  const id = String(first.id);
  if (!o.json)
    io.stderr(
      `request ${id} is pending until ${isoTime(first.pendingUntil)}: needs approval by ${describeRules(first)}\n` +
        `waiting for the decision (Ctrl-C stops waiting; the request stays)...\n`,
    );
  let r = first;
  let seen = (first.approvals as unknown[] | undefined)?.length ?? 0;
  while (r.status === 'pending') {
    r = await api.call<Row>('GET', `/api/v1/requests/${encodeURIComponent(id)}/wait?timeout=25`);
    const n = (r.approvals as unknown[] | undefined)?.length ?? 0;
    if (n > seen && r.status === 'pending' && !o.json)
      io.stderr(`approved by ${approvers(r)}; still needs ${describeRules(r)} in all\n`);
    seen = n;
  }
  if (r.status !== 'approved' || typeof r.grantId !== 'string') {
    if (o.json) io.stdout(JSON.stringify(r, null, 2) + '\n');
    const by = typeof r.decidedBy === 'string' ? ` by ${r.decidedBy}` : '';
    const why = typeof r.note === 'string' ? `: ${r.note}` : '';
    throw new Failed(`request ${id} was ${String(r.status)}${by}${why}`);
  }
  if (!o.json) io.stderr(`approved by ${approvers(r)}: grant ${r.grantId} is active\n`);
  return cert(api, [r.grantId], o, io);
}
