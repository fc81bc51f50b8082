// `sallyport agent`'s flags (each with its SALLYPORT_* variable where it has one) and --help.
import { HELP_FLAG, optionLines, type FlagTable, type FlagValues } from './kit/index.ts';

/** --direct-datagram-max's default (measured in bench/README.md, "paths"). */
export const DEFAULT_DIRECT_DATAGRAM_MAX = 32_768;

export const AGENT_FLAGS = {
  state: {
    type: 'string',
    value: 'DIR',
    env: 'SALLYPORT_STATE',
    help: `state directory: node key (created 0600 at first start), control socket
(env SALLYPORT_STATE; default ~/.sallyport)`,
  },
  coordinator: {
    type: 'repeatable',
    value: 'URL',
    help: `https://HOST:PORT of the coordinator (default: from 'sallyport login');
repeat it for coordinators sharing one PostgreSQL: the agent starts on
one picked from its key and moves to the next when one fails or drains`,
  },
  'coordinator-key': {
    type: 'string',
    value: 'KEY',
    help: "the coordinator's channel key to pin, base64 (default: from login)",
  },
  ca: {
    type: 'string',
    value: 'FILE',
    help: "PEM certificates to trust for the coordinator's and relays' TLS",
  },
  'preauth-key': {
    type: 'string',
    value: 'KEY',
    env: 'SALLYPORT_PREAUTH_KEY',
    help: 'enroll with this pre-auth key at first start (env SALLYPORT_PREAUTH_KEY)',
  },
  name: { type: 'string', value: 'NAME', help: 'node name (default: the host name)' },
  kind: {
    type: 'string',
    value: 'KIND',
    choices: ['connector', 'engineer'],
    invalid: () => '--kind must be connector or engineer',
    help: 'connector or engineer (default: connector when services are given)',
  },
  serve: {
    type: 'repeatable',
    value: 'SPEC',
    help: `a service: NAME=HOST:PORT, options kind=http|tcp|kubernetes|clickhouse|
prometheus (default tcp), tls=terminate|passthrough. kubernetes,
clickhouse, prometheus: always terminate (passthrough refused);
tcp, http: tls required, passthrough = unfiltered pipe; repeatable`,
  },
  config: {
    type: 'string',
    value: 'FILE',
    notInFile: true,
    help: `JSON { "services": [{ "name", "address", "kind"?, "tls"?, "target"? }] }
(a clickhouse service needs "target": { "usersDir": … } from a file),
and any of these flags by long name, e.g. "coordinator": "https://...";
flags win, then environment, then the file`,
  },
  socks5: { type: 'string', value: 'HOST:PORT', help: 'engineer: SOCKS5 proxy address, e.g. 127.0.0.1:1055' },
  'udp-port': {
    type: 'number',
    value: 'N',
    min: 0,
    max: 65535,
    invalid: () => '--udp-port must be 0..65535',
    help: `the one UDP socket for direct paths (NAT traversal); 0 = any free port
(default). A connector's socket only ever sends first: it drops datagrams
from endpoints it has not sent to`,
  },
  stun: {
    type: 'repeatable',
    value: 'HOST:PORT',
    help: "an extra STUN server, asked after the relays' (repeatable)",
  },
  'nat-open-ttl': {
    type: 'number',
    value: 'N',
    min: 0,
    max: 255,
    invalid: (v) => `--nat-open-ttl takes 0..255, got '${v}'`,
    help: `IP TTL of the "open" sent before the first probe to a peer's address: it
must pass our own NAT (which then maps the flow) and die before the
peer's router, which a stray probe would spoil. Default 2 (the NAT is the
first router); 3 when the NAT is two routers away; 0 sends none`,
  },
  'direct-datagram-max': {
    type: 'number',
    value: 'BYTES',
    min: 1200,
    max: 65_000,
    invalid: (v) => `--direct-datagram-max takes 1200..65000, got '${v}'`,
    help: `largest datagram a direct path may prove and then use (PINGs padded to
BYTES, 8192 and 1400 are tried once the path is up; a size above the link
MTU travels as IP fragments, and is used only if the PONG proves they
pass). Default 32768; 1200 keeps every path at 1200 (no probing)`,
  },
  'no-direct': { type: 'boolean', help: 'no UDP socket: every peer stays on the relay' },
  'relay-address': {
    type: 'repeatable',
    value: 'REGION=URL',
    help: `reach REGION's relay at https://HOST:PORT instead of the relay map's URL
(a private endpoint, an egress proxy); its certificate is still checked
against the relay map's host name; repeatable`,
  },
  'log-level': {
    type: 'string',
    value: 'LEVEL',
    env: 'SALLYPORT_LOG_LEVEL',
    default: 'info',
    help: 'fatal, error, warn, info (default), debug, trace, silent',
  },
  ...HELP_FLAG,
} as const satisfies FlagTable;

export type AgentFlags = FlagValues<typeof AGENT_FLAGS>;

export const help = `usage: sallyport agent [--state DIR] [--coordinator URL --coordinator-key KEY] [--ca FILE]
                       [--preauth-key KEY] [--name NAME] [--kind connector|engineer]
                       [--serve NAME=HOST:PORT[,kind=KIND][,tls=terminate|passthrough]]... [--config FILE]
                       [--socks5 HOST:PORT] [--udp-port N] [--stun HOST:PORT]... [--nat-open-ttl N]
                       [--direct-datagram-max BYTES] | [--no-direct]
                       [--log-level LEVEL]

Runs a node of the overlay. With --serve or --config it is a connector: it registers its services
with the coordinator and routes streams that an active grant covers to their internal addresses.
Otherwise it is an engineer node: --socks5 starts a SOCKS5 proxy that resolves tailnet names, and
'sallyport connect' adds local forwards. It listens on no network port of its own (the SOCKS5
proxy and forwards bind where you say, loopback normally); the local control socket is a unix
socket in the state directory.

options:
${optionLines(AGENT_FLAGS, 25)}
examples:
  sallyport agent --state /var/lib/sallyport --coordinator https://coord.example.com:8443 \\
    --coordinator-key 3q2+7w... --preauth-key spk_... --serve web=10.0.0.5:8080,kind=http,tls=terminate
  sallyport agent --socks5 127.0.0.1:1055        (after 'sallyport login')

exit codes: 0 stopped by a signal, 1 could not start (e.g. a target that cannot be enforced),
  2 bad usage (e.g. a service configuration that would not be enforced)
`;
