// The access commands' flags (one table: every access command takes them all) and --help texts.
import { CONNECTION_FLAGS, TOKEN_HELP } from './api-connection.ts';
import { API_EXIT_CODES } from './exit.ts';
import { HELP_FLAG, optionLines, type FlagTable } from './kit/index.ts';

export type AccessCommand =
  'request' | 'requests' | 'approve' | 'deny' | 'grants' | 'revoke' | 'extend' | 'cert';

export const ACCESS_FLAGS = {
  ...CONNECTION_FLAGS,
  json: { type: 'boolean', help: "print the server's answer as JSON (no progress lines)" },
  ...HELP_FLAG,
  service: { type: 'repeatable', value: 'NAME' },
  reason: { type: 'string', value: '"…"' },
  for: { type: 'string', value: 'DURATION' },
  access: { type: 'string', value: 'LEVEL' },
  status: { type: 'string', value: 'STATUS' },
  extension: { type: 'boolean' },
  out: { type: 'string', value: 'DIR' },
  state: { type: 'string', value: 'DIR', env: 'SALLYPORT_STATE' },
  agent: { type: 'boolean' },
  wait: { type: 'boolean' },
} as const satisfies FlagTable;

const CONNECTION = `options every access command takes:
${optionLines(ACCESS_FLAGS, 24, ['json', 'help'])}connection (flags, else the environment, as for 'sallyport admin'):
${optionLines(ACCESS_FLAGS, 24, ['server', { flag: 'token', help: TOKEN_HELP }, 'ca', 'fingerprint'])}${API_EXIT_CODES}`;

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
