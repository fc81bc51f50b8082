// `sallyport admin …`: administration through the coordinator's HTTPS API (never the database).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseJsonc } from '../util/index.ts';
// The API client alone (not the control index): the admin command loads no server code.
import { CONNECTION_OPTIONS, apiClientFrom } from './api-connection.ts';
import { API_EXIT_CODES, reportApiFailure } from './exit.ts';
import { UsageError, processIo as commandIo, type CommandIo } from './io.ts';
import { PromptAborted, readSecret } from './prompt.ts';

export const help = `usage: sallyport admin [global options] <resource> <verb> [arguments] [--json]

Administers a coordinator through its HTTPS API. The server and credentials come from flags, else
the environment: SALLYPORT_SERVER (https://host:port), SALLYPORT_TOKEN (from 'admin login'),
SALLYPORT_CA (PEM file to trust) or SALLYPORT_FINGERPRINT (the listener certificate's SHA-256,
as printed by 'sallyport coordinator').

global options:
  --server URL          coordinator URL (env SALLYPORT_SERVER)
  --token TOKEN         bearer token (env SALLYPORT_TOKEN)
  --ca FILE             PEM CA or self-signed certificate to trust (env SALLYPORT_CA)
  --fingerprint HEX     pin the listener certificate instead (env SALLYPORT_FINGERPRINT)
  --json                print data as JSON
  --help                this text

commands:
  login --user NAME                  a local (break-glass) password sign-in: the password is typed
                                     at a prompt with no echo (or SALLYPORT_PASSWORD, or the first
                                     line of stdin); prints the token. People use 'sallyport login'
  info                               the coordinator's public keys and suffix
  deployments list
  deployments create NAME --region REGION --cloud CLOUD
  deployments delete NAME
  deployments management NAME [--mode private|public|private-with-public-fallback]
                        [--public-server https://HOST:PORT] [--customer-webhook URL]
                                     show, or set, how the vendor's management services reach the
                                     deployment's Kubernetes API (docs/management-path.md); audited
  services list [--deployment NAME]
  services set DEPLOYMENT/NAME --kind KIND --address HOST:PORT [--tls terminate|passthrough] [--label K=V]…
                                     KIND: kubernetes, clickhouse, prometheus, http, tcp
  services delete DEPLOYMENT/NAME
  services bind DEPLOYMENT/NAME (--node KEY | --release)
                                     move a service to another live connector of its deployment (a
                                     connector cannot take over another's service itself), or free it
                                     for the next connector that registers it; audited service.bind
  keys list
  keys create (--deployment NAME | --user NAME) [--reusable] [--expires 1h]
                                     prints the pre-auth key once; deployment keys enroll connectors,
                                     user keys enroll engineer machines
  keys revoke ID
  users list
  users create NAME [--admin | --customer CUSTOMER]
                                     password typed at a prompt (no echo), SALLYPORT_NEW_PASSWORD,
                                     or the first line of stdin; --customer makes a customer's person
                                     (the customer portal: docs/customer-portal.md)
  customers list
  customers invite CUSTOMER USER [--group GROUP] [--also-group GROUP]… [--hours N]
                                     a one-time link (default 72 h) for a customer's person, who
                                     sets their own password and joins the groups
  customers create NAME --deployment NAME [--also-deployment NAME]… [--switch co-approval]
                        [--switch no-access] [--switch hours] [--webhook URL]
                                     a customer owning deployments; --switch: what its people may
                                     flip for them; --webhook: where its notifications go
  users disable NAME | users enable NAME
  groups list | groups create NAME | groups delete NAME
  groups add GROUP USER | groups remove GROUP USER
  grants list [--deployment NAME]
  grants create (--user NAME | --group NAME | --node KEY) --deployment NAME [--service NAME]… [--expires 8h]
                [--access read-only|read-write|admin]
                                     standing grant; no --service means every service of the deployment;
                                     --access defaults to read-only
  grants revoke ID
  nodes list | nodes revoke KEY
  policy get                         the access policy document (JSON)
  policy set FILE|-                  replace it (JSON; comments and trailing commas allowed);
                                     refused with every issue listed if it is invalid
  device approve CODE                approve an engineer machine's 'sallyport login' code
  alert-tokens list
  alert-tokens create NAME [--deployment NAME]
                                     prints once the bearer token Alertmanager's webhook sends to
                                     POST /api/v1/alerts/alertmanager (docs/alerts.md); with
                                     --deployment it reports for that deployment only
  alert-tokens revoke NAME
  audit [--after SEQ] [--limit N]

durations: 90s, 15m, 8h, 7d

examples:
  export SALLYPORT_SERVER=https://coordinator.example.com:8443 SALLYPORT_FINGERPRINT=ab:cd:…
  export SALLYPORT_TOKEN=$(SALLYPORT_PASSWORD=… sallyport admin login --user admin)
  sallyport admin deployments create acme-prod --region us-east-1 --cloud aws
  sallyport admin keys create --deployment acme-prod --expires 1h
  sallyport admin groups create oncall && sallyport admin groups add oncall alice
  sallyport admin grants create --group oncall --deployment acme-prod --service k8s --expires 8h
  sallyport admin grants list --json

${API_EXIT_CODES}
`;

export function parseDuration(s: string): number {
  const m = /^(\d{1,6})(s|m|h|d)$/.exec(s);
  if (!m) throw new UsageError(`bad duration '${s}': use e.g. 90s, 15m, 8h, 7d`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/** Where a run reads its environment and writes its output (tests pass their own). */
export interface AdminIo extends CommandIo {
  /** A password: typed at a prompt with no echo on a terminal, else the first line of stdin. */
  stdinLine: (prompt: string) => string | Promise<string>;
}

const processIo: AdminIo = {
  ...commandIo,
  stdinLine: async (prompt) => {
    try {
      return await readSecret(prompt);
    } catch (e) {
      if (e instanceof PromptAborted) return '';
      throw e;
    }
  },
};

async function secretFrom(io: AdminIo, env: string, prompt: string): Promise<string> {
  const v = io.env[env];
  if (v) return v;
  const line = await io.stdinLine(prompt);
  if (!line) throw new UsageError(`no password: type it at the prompt, pipe it on stdin, or set ${env}`);
  return line;
}

type Row = Record<string, unknown>;

function table(rows: Row[], cols: string[]): string {
  const cell = (v: unknown) =>
    v === null || v === undefined
      ? '-'
      : Array.isArray(v)
        ? v.join(',') || '*'
        : typeof v === 'object'
          ? JSON.stringify(v)
          : String(v);
  const data = rows.map((r) =>
    cols.map((c) => cell(c.split('.').reduce<unknown>((o, k) => (o as Row | undefined)?.[k], r))),
  );
  const widths = cols.map((c, i) => Math.max(c.length, ...data.map((d) => d[i].length)));
  const line = (xs: string[]) =>
    xs
      .map((x, i) => x.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(cols.map((c) => c.toUpperCase())), ...data.map(line)].join('\n') + '\n';
}

const time = (ms: unknown) =>
  typeof ms === 'number' ? new Date(ms).toISOString().replace('.000Z', 'Z') : ms;

export async function run(argv: string[], io: AdminIo = processIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        ...CONNECTION_OPTIONS,
        json: { type: 'boolean' },
        help: { type: 'boolean' },
        user: { type: 'string' },
        group: { type: 'string' },
        node: { type: 'string' },
        region: { type: 'string' },
        cloud: { type: 'string' },
        mode: { type: 'string' },
        'public-server': { type: 'string' },
        'customer-webhook': { type: 'string' },
        deployment: { type: 'string' },
        kind: { type: 'string' },
        address: { type: 'string' },
        tls: { type: 'string' },
        label: { type: 'string', multiple: true },
        service: { type: 'string', multiple: true },
        reusable: { type: 'boolean' },
        release: { type: 'boolean' },
        admin: { type: 'boolean' },
        customer: { type: 'string' },
        switch: { type: 'string', multiple: true },
        webhook: { type: 'string' },
        'also-deployment': { type: 'string', multiple: true },
        'also-group': { type: 'string', multiple: true },
        hours: { type: 'string' },
        expires: { type: 'string' },
        access: { type: 'string' },
        after: { type: 'string' },
        limit: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    io.stderr(`sallyport admin: ${(e as Error).message}\nRun 'sallyport admin --help'.\n`);
    return 2;
  }
  const o = parsed.values;
  const [resource, verb, ...args] = parsed.positionals;
  if (o.help || !resource) {
    io.stdout(help);
    return o.help ? 0 : 2;
  }
  /** What a command with no data to show did: a line for people, {"ok":true,…} with --json. */
  const done = (what: string, data: Record<string, unknown>) => {
    io.stdout(o.json ? JSON.stringify({ ok: true, ...data }) + '\n' : `${what}\n`);
  };
  const out = (data: unknown, cols?: string[]) => {
    if (o.json || !cols) io.stdout(JSON.stringify(data, null, o.json ? 2 : undefined) + '\n');
    else io.stdout(table((Array.isArray(data) ? data : [data]) as Row[], cols));
  };
  try {
    const api = apiClientFrom(o, io.env);
    if (typeof api === 'string') throw new UsageError(api);
    const need = (v: string | undefined, what: string): string => {
      if (!v) throw new UsageError(`missing ${what}`);
      return v;
    };
    const split = (s: string) => {
      const m = /^([^/]+)\/([^/]+)$/.exec(s);
      if (!m) throw new UsageError(`expected DEPLOYMENT/NAME, got '${s}'`);
      return [m[1], m[2]];
    };
    const enc = encodeURIComponent;
    const expires = o.expires ? parseDuration(o.expires) : undefined;
    switch (`${resource} ${verb ?? ''}`.trim()) {
      case 'login': {
        const r = await api.call<{ token: string }>('POST', '/api/v1/login', {
          user: need(o.user, '--user NAME'),
          password: await secretFrom(io, 'SALLYPORT_PASSWORD', 'Password: '),
        });
        if (o.json) out(r);
        else io.stdout(`${r.token}\n`);
        return 0;
      }
      case 'info':
        out(await api.call('GET', '/api/v1/info'), ['publicKey', 'signingKey', 'suffix']);
        return 0;
      case 'deployments list':
        out(await api.call('GET', '/api/v1/deployments'), ['name', 'region', 'cloud']);
        return 0;
      case 'deployments create':
        out(
          await api.call('POST', '/api/v1/deployments', {
            name: need(args[0], 'NAME'),
            region: need(o.region, '--region'),
            cloud: need(o.cloud, '--cloud'),
          }),
          ['name', 'region', 'cloud'],
        );
        return 0;
      case 'deployments management': {
        const path = `/api/v1/deployments/${enc(need(args[0], 'NAME'))}/management`;
        const cols = ['deployment', 'mode', 'publicServer', 'customerWebhook'];
        if (!o.mode) {
          if (o['public-server'] || o['customer-webhook'])
            throw new UsageError('--mode is required to change it');
          out(await api.call('GET', path), cols);
          return 0;
        }
        out(
          await api.call('PUT', path, {
            mode: o.mode,
            ...(o['public-server'] ? { publicServer: o['public-server'] } : {}),
            ...(o['customer-webhook'] ? { customerWebhook: o['customer-webhook'] } : {}),
          }),
          cols,
        );
        return 0;
      }
      case 'deployments delete':
        await api.call('DELETE', `/api/v1/deployments/${enc(need(args[0], 'NAME'))}`);
        done(`deleted deployment ${args[0]}`, { deleted: args[0] });
        return 0;
      case 'services list': {
        const q = o.deployment ? `?deployment=${enc(o.deployment)}` : '';
        out(await api.call('GET', `/api/v1/services${q}`), [
          'deployment',
          'name',
          'kind',
          'address',
          'tlsMode',
          'tailnetName',
          'connectorKey',
        ]);
        return 0;
      }
      case 'services set': {
        const [d, n] = split(need(args[0], 'DEPLOYMENT/NAME'));
        const labels = Object.fromEntries(
          (o.label ?? []).map((l) => {
            const i = l.indexOf('=');
            if (i < 1) throw new UsageError(`--label wants K=V, got '${l}'`);
            return [l.slice(0, i), l.slice(i + 1)];
          }),
        );
        const body = {
          kind: need(o.kind, '--kind'),
          address: need(o.address, '--address HOST:PORT'),
          ...(o.tls ? { tlsMode: o.tls } : {}),
          ...(o.label ? { labels } : {}),
        };
        out(await api.call('PUT', `/api/v1/deployments/${enc(d)}/services/${enc(n)}`, body), [
          'deployment',
          'name',
          'kind',
          'address',
          'tailnetName',
        ]);
        return 0;
      }
      case 'services delete': {
        const [d, n] = split(need(args[0], 'DEPLOYMENT/NAME'));
        await api.call('DELETE', `/api/v1/deployments/${enc(d)}/services/${enc(n)}`);
        done(`deleted service ${d}/${n}`, { deleted: `${d}/${n}` });
        return 0;
      }
      case 'services bind': {
        const [d, n] = split(need(args[0], 'DEPLOYMENT/NAME'));
        if ((o.node === undefined) === !o.release)
          throw new UsageError('give one of --node KEY or --release');
        const r = await api.call('PUT', `/api/v1/deployments/${enc(d)}/services/${enc(n)}/connector`, {
          key: o.release ? null : o.node,
        });
        out(r, ['deployment', 'name', 'connectorKey']);
        return 0;
      }
      case 'keys list': {
        const rows = await api.call<Row[]>('GET', '/api/v1/preauth-keys');
        out(o.json ? rows : rows.map((r) => ({ ...r, expiresAt: time(r.expiresAt) })), [
          'id',
          'deployment',
          'user',
          'reusable',
          'usedCount',
          'expiresAt',
          'revokedAt',
        ]);
        return 0;
      }
      case 'keys create': {
        if (!!o.deployment === !!o.user)
          throw new UsageError('give exactly one of --deployment NAME or --user NAME');
        const r = await api.call<Row>('POST', '/api/v1/preauth-keys', {
          ...(o.deployment ? { deployment: o.deployment } : { user: o.user }),
          reusable: !!o.reusable,
          ...(expires !== undefined ? { expiresInSeconds: expires } : {}),
        });
        if (o.json) out(r);
        else io.stdout(`${String(r.key)}\n`);
        return 0;
      }
      case 'keys revoke':
        await api.call('DELETE', `/api/v1/preauth-keys/${enc(need(args[0], 'ID'))}`);
        done(`revoked pre-auth key ${args[0]}`, { revoked: args[0] });
        return 0;
      case 'users list':
        out(await api.call('GET', '/api/v1/users'), ['name', 'isAdmin', 'disabled']);
        return 0;
      case 'users create':
        out(
          await api.call('POST', '/api/v1/users', {
            name: need(args[0], 'NAME'),
            password: await secretFrom(
              io,
              'SALLYPORT_NEW_PASSWORD',
              `New password for ${args[0] ?? 'the user'}: `,
            ),
            admin: !!o.admin,
            ...(o.customer ? { customer: o.customer } : {}),
          }),
          ['name', 'isAdmin'],
        );
        return 0;
      case 'customers list':
        out(await api.call('GET', '/api/v1/customers'), ['name', 'deployments', 'switches', 'webhook']);
        return 0;
      case 'customers invite': {
        const r = await api.call<{ user: string; url: string; expiresAt: number }>(
          'POST',
          `/api/v1/customers/${enc(need(args[0], 'CUSTOMER'))}/invites`,
          {
            user: need(args[1], 'USER'),
            ...(o.group ? { groups: [o.group, ...(o['also-group'] ?? [])] } : {}),
            ...(o.hours ? { hours: Number(o.hours) } : {}),
          },
        );
        if (o.json) out(r);
        else
          io.stdout(
            `send ${r.user} this link (it works once, until ${new Date(r.expiresAt).toISOString()}); they choose their own password:\n  ${r.url}\n`,
          );
        return 0;
      }
      case 'customers create':
        out(
          await api.call('POST', '/api/v1/customers', {
            name: need(args[0], 'NAME'),
            deployments: o.deployment ? [o.deployment, ...(o['also-deployment'] ?? [])] : [],
            ...(o.switch ? { switches: o.switch } : {}),
            ...(o.webhook ? { webhook: o.webhook } : {}),
          }),
          ['name', 'deployments', 'switches'],
        );
        return 0;
      case 'users disable':
      case 'users enable':
        out(await api.call('POST', `/api/v1/users/${enc(need(args[0], 'NAME'))}/${verb}`), [
          'name',
          'disabled',
        ]);
        return 0;
      case 'groups list':
        out(await api.call('GET', '/api/v1/groups'), ['name', 'members']);
        return 0;
      case 'groups create':
        out(await api.call('POST', '/api/v1/groups', { name: need(args[0], 'NAME') }), ['name']);
        return 0;
      case 'groups delete':
        await api.call('DELETE', `/api/v1/groups/${enc(need(args[0], 'NAME'))}`);
        done(`deleted group ${args[0]}`, { deleted: args[0] });
        return 0;
      case 'groups add':
      case 'groups remove':
        await api.call(
          verb === 'add' ? 'PUT' : 'DELETE',
          `/api/v1/groups/${enc(need(args[0], 'GROUP'))}/members/${enc(need(args[1], 'USER'))}`,
        );
        done(
          `${verb === 'add' ? 'added' : 'removed'} ${args[1]} ${verb === 'add' ? 'to' : 'from'} group ${args[0]}`,
          {
            group: args[0],
            user: args[1],
          },
        );
        return 0;
      case 'grants list': {
        const q = o.deployment ? `?deployment=${enc(o.deployment)}` : '';
        const rows = await api.call<Row[]>('GET', `/api/v1/grants${q}`);
        out(o.json ? rows : rows.map((r) => ({ ...r, expiresAt: time(r.expiresAt) })), [
          'id',
          'subject.type',
          'subject.name',
          'deployment',
          'services',
          'access',
          'expiresAt',
        ]);
        return 0;
      }
      case 'grants create': {
        const subjects = [
          o.user && { type: 'user', name: o.user },
          o.group && { type: 'group', name: o.group },
          o.node && { type: 'node', name: o.node },
        ].filter(Boolean);
        if (subjects.length !== 1) throw new UsageError('give exactly one of --user, --group or --node');
        const r = await api.call('POST', '/api/v1/grants', {
          subject: subjects[0],
          deployment: need(o.deployment, '--deployment'),
          services: o.service ?? [],
          ...(expires !== undefined ? { expiresInSeconds: expires } : {}),
          ...(o.access !== undefined ? { access: o.access } : {}),
        });
        out(r, ['id', 'subject.type', 'subject.name', 'deployment', 'services', 'access']);
        return 0;
      }
      case 'grants revoke':
        await api.call('DELETE', `/api/v1/grants/${enc(need(args[0], 'ID'))}`);
        done(`revoked standing grant ${args[0]}`, { revoked: args[0] });
        return 0;
      case 'nodes list':
        out(await api.call('GET', '/api/v1/nodes'), [
          'name',
          'kind',
          'deployment',
          'user',
          'online',
          'publicKey',
          'revokedAt',
        ]);
        return 0;
      case 'nodes revoke':
        out(await api.call('POST', '/api/v1/nodes/revoke', { key: need(args[0], 'KEY') }), [
          'name',
          'kind',
          'revokedAt',
        ]);
        return 0;
      case 'policy get':
        io.stdout(JSON.stringify(await api.call('GET', '/api/v1/policy'), null, 2) + '\n');
        return 0;
      case 'policy set': {
        const file = need(args[0], 'FILE (the policy document, JSON; comments allowed)');
        let doc: unknown;
        try {
          doc = parseJsonc(file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8'));
        } catch (e) {
          throw new UsageError(`cannot read a JSON policy document from ${file}: ${(e as Error).message}`);
        }
        io.stdout(JSON.stringify(await api.call('PUT', '/api/v1/policy', doc), null, 2) + '\n');
        return 0;
      }
      case 'device approve':
        out(await api.call('POST', '/api/v1/device/approve', { userCode: need(args[0], 'CODE') }), [
          'name',
          'user',
          'publicKey',
        ]);
        return 0;
      case 'alert-tokens list': {
        const rows = await api.call<Row[]>('GET', '/api/v1/alert-tokens');
        out(
          o.json
            ? rows
            : rows.map((r) => ({ ...r, createdAt: time(r.createdAt), revokedAt: time(r.revokedAt) })),
          ['name', 'deployment', 'createdBy', 'createdAt', 'revokedAt'],
        );
        return 0;
      }
      case 'alert-tokens create': {
        const r = await api.call<Row>('POST', '/api/v1/alert-tokens', {
          name: need(args[0], 'NAME'),
          ...(o.deployment ? { deployment: o.deployment } : {}),
        });
        if (o.json) out(r);
        else io.stdout(`${String(r.token)}\n`);
        return 0;
      }
      case 'alert-tokens revoke':
        await api.call('POST', `/api/v1/alert-tokens/${enc(need(args[0], 'NAME'))}/revoke`);
        done(`revoked alert token ${args[0]}`, { revoked: args[0] });
        return 0;
      case 'audit': {
        const q = new URLSearchParams({
          ...(o.after ? { after: o.after } : {}),
          ...(o.limit ? { limit: o.limit } : {}),
        }).toString();
        const rows = await api.call<Row[]>('GET', `/api/v1/audit${q ? `?${q}` : ''}`);
        out(o.json ? rows : rows.map((r) => ({ ...r, time: time(r.time) })), [
          'seq',
          'time',
          'actor',
          'action',
          'subject',
        ]);
        return 0;
      }
      default:
        throw new UsageError(`unknown command 'admin ${[resource, verb].filter(Boolean).join(' ')}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`sallyport admin: ${e.message}\nRun 'sallyport admin --help'.\n`);
      return 2;
    }
    const code = reportApiFailure('admin', e, io.stderr, o.server ?? io.env.SALLYPORT_SERVER);
    if (code !== undefined) return code;
    throw e;
  }
}
