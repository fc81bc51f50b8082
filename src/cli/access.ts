// The access commands, talking to the coordinator's HTTPS API like `sallyport admin`:
//   request DEPLOYMENT --service S… --reason "…" --for 2h     requests [--status S] [--json]
//   approve ID [--extension]    deny ID --reason "…" [--extension]
//   grants [--status S] [--json]    revoke ID [--reason "…"]    extend ID --for 30m --reason "…"
//   cert [GRANT] [--out DIR]
// Each of src/cli/{request,requests,approve,deny,grants,revoke,cert}.ts is `run(argv)` + `help`
// over `runAccess(name, argv)`. Server and credentials: flags, else SALLYPORT_SERVER,
// SALLYPORT_TOKEN, SALLYPORT_CA or SALLYPORT_FINGERPRINT (as for `sallyport admin`).
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ApiClient } from '../control/api-client.ts';
import { CONNECTION_OPTIONS, apiClientFrom } from './api-connection.ts';
import { API_EXIT_CODES, reportApiFailure } from './exit.ts';
import { createKeyAndCsr } from '../pki/index.ts';
import { stateDir } from './agent-common.ts';
import { ctlRequest, socketPath, type AgentStatus, type CtlRequest } from '../agent/index.ts';
import { Failed, UsageError, processIo, type CommandIo } from './io.ts';

export type AccessCommand =
  'request' | 'requests' | 'approve' | 'deny' | 'grants' | 'revoke' | 'extend' | 'cert';

const CONNECTION = `options every access command takes:
  --json                print the server's answer as JSON (no progress lines)
  --help                this text
connection (flags, else the environment, as for 'sallyport admin'):
  --server URL          coordinator URL (env SALLYPORT_SERVER)
  --token TOKEN         bearer token (env SALLYPORT_TOKEN; get one with 'sallyport admin login')
  --ca FILE             PEM CA or self-signed certificate to trust (env SALLYPORT_CA)
  --fingerprint HEX     pin the listener certificate instead (env SALLYPORT_FINGERPRINT)
${API_EXIT_CODES}`;

export const HELP: Record<AccessCommand, string> = {
  request: `usage: sallyport request DEPLOYMENT --service NAME [--service NAME]… --reason "TICKET" --for DURATION
                         [--access read-only|read-write|admin] [--wait] [--out DIR] [--json]

Asks for just-in-time access to services of a deployment. The coordinator's policy decides whether
you may ask, for how long at most, and who must approve; the request then waits for approval.
Durations: 30m, 2h, 1h30m.

--wait stays until the request is decided (the coordinator answers the moment it is: no polling
interval), then, approved, fetches your client certificate for the grant (as 'sallyport cert',
into --out DIR or STATE/certs/GRANT) and exits 0; denied, cancelled or expired unanswered, it says
why and exits 1. Ctrl-C stops waiting; the request stays pending.

examples:
  sallyport request acme-prod --service k8s --reason "INC-4711 pods crash-looping" --for 2h
  sallyport request acme-prod --service clickhouse --reason "INC-4711 slow merges" --for 1h --wait

${CONNECTION}`,
  requests: `usage: sallyport requests [--status pending|approved|denied|cancelled|expired-unanswered] [--json]

Lists the access requests you made or may decide on (newest first).

examples:
  sallyport requests --status pending           # what waits for your approval
  sallyport requests --json | jq -r '.[].id'

${CONNECTION}`,
  approve: `usage: sallyport approve ID [--extension] [--json]

Approves an access request (or, with --extension, an extension request). No one approves their own
request; each approver counts once; the grant starts when the policy's approvals are complete.

examples:
  sallyport approve 01J9Z3K4XW5T8M2QH6B7C0D1EF
  sallyport approve --extension 01J9Z4A2B3C4D5E6F7G8H9J0KM

${CONNECTION}`,
  deny: `usage: sallyport deny ID --reason "…" [--extension] [--json]

Denies an access request (or an extension request).

example:
  sallyport deny 01J9Z3K4XW5T8M2QH6B7C0D1EF --reason "use staging; prod needs a change ticket"

${CONNECTION}`,
  grants: `usage: sallyport grants [--status active|expired|revoked] [--json]

Lists the access grants you hold or may decide on, with their end.

examples:
  sallyport grants --status active
  sallyport grants --json

${CONNECTION}`,
  revoke: `usage: sallyport revoke ID [--reason "…"] [--json]

Ends a grant now: its holder leaves the connector's netmap and open streams are cut.

example:
  sallyport revoke 01J9Z5QW8E7R6T5Y4U3I2O1P0A --reason "incident closed"

${CONNECTION}`,
  extend: `usage: sallyport extend GRANT --for DURATION --reason "…" [--json]

Asks for more time on a grant you hold; approved like a request.

example:
  sallyport extend 01J9Z5QW8E7R6T5Y4U3I2O1P0A --for 30m --reason "INC-4711 still rolling back"

${CONNECTION}`,
  cert: `usage: sallyport cert [GRANT] [--out DIR] [--state DIR] [--json]
       sallyport cert --agent [GRANT] [--out DIR] [--state DIR] [--json]

Fetches a client certificate for your active grant (the only one, or GRANT). The private key is
made here and never leaves this machine; the coordinator signs a CSR with notAfter = the grant's
end, your user name in the subject and sallyport:grant:<id> as SAN URI. Writes key.pem (0600),
cert.pem (chain) and ca.pem to DIR (default STATE/certs/GRANT).

--agent asks the running agent instead (its control socket in STATE): no API token needed, and it
works for every grant in the node's netmap — also standing grants of machine identities (e.g. the
metrics puller), which run it again before the certificate ends.

examples:
  sallyport cert                                # the one active grant you hold
  sallyport cert 01J9Z5QW8E7R6T5Y4U3I2O1P0A --out ./grant-certs --json
  sallyport cert --agent --state /var/lib/sallyport --out /etc/puller/certs

${CONNECTION}`,
};

export type AccessIo = CommandIo;

type Row = Record<string, unknown>;

const time = (ms: unknown): string =>
  typeof ms === 'number' ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';

function table(rows: Row[], cols: [string, (r: Row) => string][]): string {
  const data = rows.map((r) => cols.map(([, f]) => f(r)));
  const widths = cols.map(([h], i) => Math.max(h.length, ...data.map((d) => d[i].length)));
  const line = (xs: string[]) =>
    xs
      .map((x, i) => x.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(cols.map(([h]) => h)), ...data.map(line)].join('\n') + '\n';
}

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

/** Runs one access command; returns the exit code. */
export async function runAccess(
  cmd: AccessCommand,
  argv: string[],
  io: AccessIo = processIo,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        ...CONNECTION_OPTIONS,
        json: { type: 'boolean' },
        help: { type: 'boolean' },
        service: { type: 'string', multiple: true },
        reason: { type: 'string' },
        for: { type: 'string' },
        access: { type: 'string' },
        status: { type: 'string' },
        extension: { type: 'boolean' },
        out: { type: 'string' },
        state: { type: 'string' },
        agent: { type: 'boolean' },
        wait: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    io.stderr(`sallyport ${cmd}: ${(e as Error).message}\nRun 'sallyport ${cmd} --help'.\n`);
    return 2;
  }
  const o = parsed.values;
  const args = parsed.positionals;
  if (o.help) {
    io.stdout(HELP[cmd] + '\n');
    return 0;
  }
  const json = (v: unknown) => io.stdout(JSON.stringify(v, null, 2) + '\n');
  const enc = encodeURIComponent;
  try {
    const need = (v: string | undefined, what: string): string => {
      if (!v) throw new UsageError(`missing ${what}`);
      return v;
    };
    if (cmd === 'cert' && o.agent) return await certViaAgent(args, o, io);
    const api = apiClientFrom(o, io.env, { requireToken: true });
    if (typeof api === 'string') throw new UsageError(api);
    const q = o.status ? `?status=${enc(o.status)}` : '';
    const kind = o.extension ? 'extensions' : 'requests';
    switch (cmd) {
      case 'request': {
        if (args.length !== 1) throw new UsageError('give exactly one DEPLOYMENT');
        if (!o.service?.length) throw new UsageError('missing --service NAME');
        const r = await api.call<Row>('POST', '/api/v1/requests', {
          deployment: args[0],
          services: o.service,
          reason: need(o.reason, '--reason "TICKET"'),
          duration: need(o.for, '--for DURATION'),
          ...(o.access ? { access: o.access } : {}),
        });
        if (o.wait) return await waitForDecision(api, r, o, io);
        if (o.json) json(r);
        else
          io.stdout(
            `request ${String(r.id)} is pending until ${time(r.pendingUntil)}: needs approval by ${describeRules(r)}\n` +
              `  sallyport approve ${String(r.id)}    (by an approver)\n`,
          );
        return 0;
      }
      case 'requests': {
        const rows = await api.call<Row[]>('GET', `/api/v1/requests${q}`);
        if (o.json) json(rows);
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
      }
      case 'approve':
      case 'deny': {
        if (args.length !== 1) throw new UsageError('give exactly one ID');
        const path = `/api/v1/${kind}/${enc(args[0])}/${cmd}`;
        const r = await api.call<Row>(
          'POST',
          path,
          cmd === 'deny' ? { reason: need(o.reason, '--reason "…"') } : undefined,
        );
        if (o.json) json(r);
        else if (r.status === 'approved')
          io.stdout(
            `${o.extension ? 'extension' : 'request'} ${args[0]} approved; ${r.grantId ? `grant ${String(r.grantId)} is active` : 'the grant end moved'}\n`,
          );
        else if (r.status === 'pending')
          io.stdout(`approval recorded; request ${args[0]} still needs ${describeRules(r)} in all\n`);
        else io.stdout(`${o.extension ? 'extension' : 'request'} ${args[0]} ${String(r.status)}\n`);
        return 0;
      }
      case 'grants': {
        const rows = await api.call<Row[]>('GET', `/api/v1/access-grants${q}`);
        if (o.json) json(rows);
        else
          io.stdout(
            table(rows, [
              ['ID', (r) => String(r.id)],
              ['HOLDER', (r) => String(r.subject)],
              ['DEPLOYMENT', (r) => String(r.deployment)],
              ['SERVICES', (r) => list(r.services)],
              ['ACCESS', (r) => String(r.access)],
              ['STATUS', (r) => String(r.status)],
              ['END', (r) => time(r.end)],
            ]),
          );
        return 0;
      }
      case 'revoke': {
        if (args.length !== 1) throw new UsageError('give exactly one grant ID');
        const r = await api.call<Row>('POST', `/api/v1/access-grants/${enc(args[0])}/revoke`, {
          ...(o.reason ? { reason: o.reason } : {}),
        });
        if (o.json) json(r);
        else io.stdout(`grant ${args[0]} ${String(r.status)}\n`);
        return 0;
      }
      case 'extend': {
        if (args.length !== 1) throw new UsageError('give exactly one grant ID');
        const r = await api.call<Row>('POST', `/api/v1/access-grants/${enc(args[0])}/extensions`, {
          duration: need(o.for, '--for DURATION'),
          reason: need(o.reason, '--reason "…"'),
        });
        if (o.json) json(r);
        else io.stdout(`extension ${String(r.id)} pending: sallyport approve --extension ${String(r.id)}\n`);
        return 0;
      }
      case 'cert':
        return await cert(api, args, o, io);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`sallyport ${cmd}: ${e.message}\nRun 'sallyport ${cmd} --help'.\n`);
      return 2;
    }
    if (e instanceof Failed) {
      io.stderr(`sallyport ${cmd}: ${e.message}\n`);
      return 1;
    }
    const code = reportApiFailure(cmd, e, io.stderr, o.server ?? io.env.SALLYPORT_SERVER);
    if (code !== undefined) return code;
    throw e;
  }
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
      `request ${id} is pending until ${time(first.pendingUntil)}: needs approval by ${describeRules(first)}\n` +
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

async function cert(
  api: ApiClient,
  args: string[],
  o: { out?: string; state?: string; json?: boolean },
  io: AccessIo,
): Promise<number> {
  const me = await api.call<{ name: string }>('GET', '/api/v1/whoami');
  let id = args[0];
  if (id === undefined) {
    const mine = (await api.call<Row[]>('GET', '/api/v1/access-grants?status=active')).filter(
      (g) => g.subject === me.name,
    );
    if (mine.length === 0)
      throw new Failed(
        `you (${me.name}) hold no active grant: ask with 'sallyport request DEPLOYMENT --service NAME --reason "…" --for 1h', ` +
          "then see it approved with 'sallyport grants --status active'",
      );
    if (mine.length > 1)
      throw new UsageError(
        `you hold ${mine.length} active grants: name one (${mine.map((g) => String(g.id)).join(', ')})`,
      );
    id = String(mine[0].id);
  }
  const progress = (s: string): void => {
    if (!o.json) io.stderr(`${s}\n`);
  };
  progress(`making a private key for grant ${id} on this machine (it never leaves it)…`);
  const { keyPem, csrPem } = await createKeyAndCsr({ commonName: me.name });
  progress('asking the coordinator to sign the certificate request…');
  const r = await api.call<{ chainPem: string; rootPem: string; notAfter: number; serial: string }>(
    'POST',
    `/api/v1/access-grants/${encodeURIComponent(id)}/certificate`,
    { csr: csrPem },
  );
  const dir = o.out ?? join(stateDir(o.state ?? io.env.SALLYPORT_STATE), 'certs', id);
  return writeCert(dir, id, { keyPem, ...r }, o, io);
}

/** Writes key.pem (0600), cert.pem (chain) and ca.pem to `dir` and says so. */
function writeCert(
  dir: string,
  grant: string,
  c: { keyPem: string; chainPem: string; rootPem: string; notAfter: number; serial?: string },
  o: { json?: boolean },
  io: AccessIo,
): number {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyFile = join(dir, 'key.pem');
  writeFileSync(keyFile, c.keyPem, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  writeFileSync(join(dir, 'cert.pem'), c.chainPem);
  writeFileSync(join(dir, 'ca.pem'), c.rootPem);
  if (o.json)
    io.stdout(
      JSON.stringify(
        { grant, dir, ...(c.serial !== undefined ? { serial: c.serial } : {}), notAfter: c.notAfter },
        null,
        2,
      ) + '\n',
    );
  else
    io.stdout(
      `certificate for grant ${grant} in ${dir} (key.pem, cert.pem, ca.pem), valid until ${time(c.notAfter)}\n`,
    );
  return 0;
}

/** `cert --agent`: the running agent makes the key and asks over its agent channel. */
async function certViaAgent(
  args: string[],
  o: { out?: string; state?: string; json?: boolean },
  io: AccessIo,
): Promise<number> {
  const state = stateDir(o.state ?? io.env.SALLYPORT_STATE);
  const ask = async (req: CtlRequest) => {
    let r;
    try {
      r = await ctlRequest(socketPath(state), req);
    } catch (e) {
      throw new Failed(`${(e as Error).message}: is 'sallyport agent --state ${state}' running?`);
    }
    r.socket.destroy();
    if (!r.reply.ok) throw new Failed(`the agent refused: ${r.reply.code}: ${r.reply.message}`);
    return r.reply;
  };
  let id = args[0];
  if (id === undefined) {
    const st = (await ask({ cmd: 'status' })).status as AgentStatus;
    const ids = [...new Set(st.grants.map((g) => g.id))];
    if (ids.length !== 1)
      throw new UsageError(
        ids.length === 0
          ? "this node's netmap holds no grant: request one, or ask for a standing grant"
          : `this node holds ${ids.length} grants: name one (${ids.join(', ')})`,
      );
    id = ids[0];
  }
  if (!o.json) io.stderr(`asking the agent for a certificate for grant ${id} (key made by the agent)…\n`);
  const c = (await ask({ cmd: 'cert', grant: id })).cert as {
    keyPem: string;
    chainPem: string;
    rootPem: string;
    notAfter: number;
  };
  const dir = o.out ?? join(state, 'certs', id);
  return writeCert(dir, id, c, o, io);
}
