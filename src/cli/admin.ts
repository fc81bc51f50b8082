// `sallyport admin …`: administration through the coordinator's HTTPS API (never the database).
// The verbs live in admin/, one file per group of resources; their flags in admin/flags.ts.
// The API client alone (not the control index): the admin command loads no server code.
import { requireApiClient } from './api-connection.ts';
import { DEPLOYMENT_VERBS } from './admin/deployments.ts';
import { ADMIN_FLAGS } from './admin/flags.ts';
import { NODE_VERBS } from './admin/nodes.ts';
import { PEOPLE_VERBS } from './admin/people.ts';
import { POLICY_VERBS } from './admin/policy.ts';
import { processIo, type AdminIo, type AdminVerb } from './admin/context.ts';
import { API_EXIT_CODES, apiErrors } from './exit.ts';
import { UsageError, optionLines, runCommand } from './kit/index.ts';

export type { AdminIo } from './admin/context.ts';

export const help = `usage: sallyport admin [global options] <resource> <verb> [arguments] [--json]

Administers a coordinator through its HTTPS API. The server and credentials come from flags, else
the environment: SALLYPORT_SERVER (https://host:port), SALLYPORT_TOKEN (from 'admin login'),
SALLYPORT_CA (PEM file to trust) or SALLYPORT_FINGERPRINT (the listener certificate's SHA-256,
as printed by 'sallyport coordinator').

global options:
${optionLines(ADMIN_FLAGS, 24, ['server', 'token', 'ca', 'fingerprint', 'json', 'help'])}
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

/** Every `RESOURCE VERB` (and lone `RESOURCE`) of `sallyport admin`. */
const VERBS: Record<string, AdminVerb> = {
  ...PEOPLE_VERBS,
  ...DEPLOYMENT_VERBS,
  ...NODE_VERBS,
  ...POLICY_VERBS,
};

const COMMAND = { name: 'admin', flags: ADMIN_FLAGS, help, positionals: { max: Infinity } };

export function run(argv: string[], io: AdminIo = processIo): Promise<number> {
  return runCommand(
    COMMAND,
    argv,
    io,
    ({ values: o, positionals: [resource, verb, ...args] }) => {
      if (!resource) {
        io.stdout(help);
        return 2;
      }
      const api = requireApiClient(o, io.env);
      const key = `${resource} ${verb ?? ''}`.trim();
      const handler = Object.hasOwn(VERBS, key) ? VERBS[key] : undefined;
      if (!handler)
        throw new UsageError(`unknown command 'admin ${[resource, verb].filter(Boolean).join(' ')}'`);
      return handler({ o, verb, args, api, io });
    },
    ({ values: o }) => apiErrors(o.server),
  );
}
