// `sallyport agent`: runs a connector (with --serve / --config) or an engineer node until SIGINT or
// SIGTERM. It dials out only: to the coordinator (agent channel) and to relays.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { logDestination } from './log-output.ts';
import { realClock } from '../clock/index.ts';
import { PublicKey } from '../crypto/index.ts';
import {
  Agent,
  AgentError,
  parseHostPort,
  parseServe,
  readConfigFile,
  readSettings,
  type ServiceSpec,
} from '../agent/index.ts';
import { stateDir, untilStopped } from './agent-common.ts';
import { applyConfigFile } from './config-file.ts';

/** --direct-datagram-max's default (measured in bench/README.md, "paths"). */
const DEFAULT_DIRECT_DATAGRAM_MAX = 32_768;

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
  --state DIR            state directory: node key (created 0600 at first start), control socket
                         (env SALLYPORT_STATE; default ~/.sallyport)
  --coordinator URL      https://HOST:PORT of the coordinator (default: from 'sallyport login');
                         repeat it for coordinators sharing one PostgreSQL: the agent starts on
                         one picked from its key and moves to the next when one fails or drains
  --coordinator-key KEY  the coordinator's channel key to pin, base64 (default: from login)
  --ca FILE              PEM certificates to trust for the coordinator's and relays' TLS
  --preauth-key KEY      enroll with this pre-auth key at first start (env SALLYPORT_PREAUTH_KEY)
  --name NAME            node name (default: the host name)
  --kind KIND            connector or engineer (default: connector when services are given)
  --serve SPEC           a service: NAME=HOST:PORT, options kind=http|tcp|kubernetes|clickhouse|
                         prometheus (default tcp), tls=terminate|passthrough. kubernetes,
                         clickhouse, prometheus: always terminate (passthrough refused);
                         tcp, http: tls required, passthrough = unfiltered pipe; repeatable
  --config FILE          JSON { "services": [{ "name", "address", "kind"?, "tls"?, "target"? }] }
                         (a clickhouse service needs "target": { "usersDir": … } from a file),
                         and any of these flags by long name, e.g. "coordinator": "https://...";
                         flags win, then environment, then the file
  --socks5 HOST:PORT     engineer: SOCKS5 proxy address, e.g. 127.0.0.1:1055
  --udp-port N           the one UDP socket for direct paths (NAT traversal); 0 = any free port
                         (default). A connector's socket only ever sends first: it drops datagrams
                         from endpoints it has not sent to
  --stun HOST:PORT       an extra STUN server, asked after the relays' (repeatable)
  --nat-open-ttl N       IP TTL of the "open" sent before the first probe to a peer's address: it
                         must pass our own NAT (which then maps the flow) and die before the
                         peer's router, which a stray probe would spoil. Default 2 (the NAT is the
                         first router); 3 when the NAT is two routers away; 0 sends none
  --direct-datagram-max BYTES
                         largest datagram a direct path may prove and then use (PINGs padded to
                         BYTES, 8192 and 1400 are tried once the path is up; a size above the link
                         MTU travels as IP fragments, and is used only if the PONG proves they
                         pass). Default 32768; 1200 keeps every path at 1200 (no probing)
  --no-direct            no UDP socket: every peer stays on the relay
  --relay-address REGION=URL
                         reach REGION's relay at https://HOST:PORT instead of the relay map's URL
                         (a private endpoint, an egress proxy); its certificate is still checked
                         against the relay map's host name; repeatable
  --log-level LEVEL      fatal, error, warn, info (default), debug, trace, silent
  --help                 this text

examples:
  sallyport agent --state /var/lib/sallyport --coordinator https://coord.example.com:8443 \\
    --coordinator-key 3q2+7w... --preauth-key spk_... --serve web=10.0.0.5:8080,kind=http,tls=terminate
  sallyport agent --socks5 127.0.0.1:1055        (after 'sallyport login')

exit codes: 0 stopped by a signal, 1 could not start (e.g. a target that cannot be enforced),
  2 bad usage (e.g. a service configuration that would not be enforced)
`;

const OPTIONS = {
  state: { type: 'string' },
  coordinator: { type: 'string', multiple: true },
  'coordinator-key': { type: 'string' },
  ca: { type: 'string' },
  'preauth-key': { type: 'string' },
  name: { type: 'string' },
  kind: { type: 'string' },
  serve: { type: 'string', multiple: true },
  config: { type: 'string' },
  socks5: { type: 'string' },
  'udp-port': { type: 'string' },
  'nat-open-ttl': { type: 'string' },
  'direct-datagram-max': { type: 'string' },
  'relay-address': { type: 'string', multiple: true },
  stun: { type: 'string', multiple: true },
  'no-direct': { type: 'boolean' },
  'log-level': { type: 'string' },
  help: { type: 'boolean' },
} as const;

/** Flag → the environment variable that overrides the --config file for it. */
const ENV = {
  state: 'SALLYPORT_STATE',
  'preauth-key': 'SALLYPORT_PREAUTH_KEY',
  'log-level': 'SALLYPORT_LOG_LEVEL',
};

export async function run(argv: string[], opts: { signal?: AbortSignal } = {}): Promise<number> {
  let a;
  let fileServices = false;
  try {
    a = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
    // --config: flag values, else SALLYPORT_* environment, else the file's (which may list "services").
    if (a.config && !a.help)
      fileServices =
        'services' in
        applyConfigFile(a, a.config, { options: OPTIONS, env: ENV, extraKeys: ['services'] }).extra;
  } catch (e) {
    process.stderr.write(`sallyport agent: ${(e as Error).message}\n\n${help}`);
    return 2;
  }
  if (a.help) {
    process.stdout.write(help);
    return 0;
  }
  const usage = (msg: string): number => {
    process.stderr.write(`sallyport agent: ${msg}\nRun 'sallyport agent --help' for the options.\n`);
    return 2;
  };
  const dir = stateDir(a.state);
  let services: ServiceSpec[] = [];
  let socks5: { host: string; port: number } | undefined;
  let settings;
  try {
    settings = readSettings(dir);
    services = [
      ...(a.serve ?? []).map(parseServe),
      ...(a.config && fileServices ? readConfigFile(a.config) : []),
    ];
    if (a.socks5) socks5 = parseHostPort(a.socks5, '--socks5', true);
  } catch (e) {
    return usage((e as Error).message);
  }
  const udpPort = Number(a['udp-port'] ?? 0);
  if (!Number.isInteger(udpPort) || udpPort < 0 || udpPort > 65535)
    return usage('--udp-port must be 0..65535');
  for (const s of a.stun ?? [])
    if (!/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:.]+\]:\d{1,5}$/.test(s))
      return usage(`--stun takes HOST:PORT, got '${s}'`);
  if (a['no-direct'] && a.stun !== undefined) return usage('--stun needs direct paths (drop --no-direct)');
  const relayAddresses: Record<string, string> = {};
  for (const spec of a['relay-address'] ?? []) {
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]{0,62})=(https:\/\/[^/\s]+\/?)$/.exec(spec);
    if (!m) return usage(`--relay-address takes REGION=https://HOST:PORT, got '${spec}'`);
    if (relayAddresses[m[1]!]) return usage(`--relay-address gives region ${m[1]} twice`);
    relayAddresses[m[1]!] = m[2]!;
  }
  const openTtl = a['nat-open-ttl'] === undefined ? undefined : Number(a['nat-open-ttl']);
  if (openTtl !== undefined && !(/^\d{1,3}$/.test(a['nat-open-ttl']!) && openTtl <= 255))
    return usage(`--nat-open-ttl takes 0..255, got '${a['nat-open-ttl']}'`);
  if (a['no-direct'] && openTtl !== undefined)
    return usage('--nat-open-ttl needs direct paths (drop --no-direct)');
  const dmax = Number(a['direct-datagram-max'] ?? DEFAULT_DIRECT_DATAGRAM_MAX);
  if (!Number.isInteger(dmax) || dmax < 1200 || dmax > 65_000)
    return usage(`--direct-datagram-max takes 1200..65000, got '${a['direct-datagram-max']}'`);
  if (a['no-direct'] && a['direct-datagram-max'] !== undefined)
    return usage('--direct-datagram-max needs direct paths (drop --no-direct)');
  const datagramSizes = [dmax, 8192, 1400].filter(
    (n, i, all) => n > 1200 && n <= dmax && all.indexOf(n) === i,
  );
  if (a['no-direct'] && a['udp-port'] !== undefined)
    return usage('--udp-port and --no-direct exclude each other');
  const kind = (a.kind ?? (services.length ? 'connector' : 'engineer')) as 'connector' | 'engineer';
  if (kind !== 'connector' && kind !== 'engineer') return usage(`--kind must be connector or engineer`);
  if (kind === 'engineer' && services.length) return usage('an engineer node serves no services');
  const coordinator = a.coordinator?.length
    ? a.coordinator
    : settings.coordinator
      ? [settings.coordinator]
      : [];
  const keyText = a['coordinator-key'] ?? settings.coordinatorKey;
  if (!coordinator.length || !keyText)
    return usage("--coordinator and --coordinator-key are required (or run 'sallyport login' first)");
  for (const u of coordinator)
    if (!/^https:\/\/[^/\s]+\/?$/.test(u)) return usage(`--coordinator takes https://HOST:PORT, got '${u}'`);
  if (new Set(coordinator).size !== coordinator.length)
    return usage('--coordinator lists the same URL twice');
  let coordinatorKey: PublicKey;
  try {
    coordinatorKey = PublicKey.fromBase64(keyText);
  } catch {
    return usage('--coordinator-key is not a base64 X25519 key');
  }
  const caFile = a.ca ?? settings.ca;
  const logger = pino(
    {
      level: a['log-level'] ?? process.env.SALLYPORT_LOG_LEVEL ?? 'info',
      base: undefined,
      name: 'agent',
    },
    logDestination(1),
  );
  let agent: Agent;
  try {
    agent = new Agent({
      clock: realClock,
      stateDir: dir,
      coordinator,
      coordinatorKey,
      ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}),
      kind,
      name: a.name ?? settings.name ?? hostname(),
      ...((a['preauth-key'] ?? process.env.SALLYPORT_PREAUTH_KEY)
        ? { preauthKey: a['preauth-key'] ?? process.env.SALLYPORT_PREAUTH_KEY }
        : {}),
      services,
      ...(socks5 ? { socks5 } : {}),
      ...(a['no-direct']
        ? {}
        : {
            udp: {
              port: udpPort,
              stunServers: a.stun ?? [],
              ...(openTtl !== undefined ? { openTtl } : {}),
              datagramSizes,
            },
          }),
      ...(Object.keys(relayAddresses).length ? { relayAddresses } : {}),
      logger,
    });
    await agent.start();
  } catch (e) {
    const msg = e instanceof AgentError ? e.message : String((e as Error).message ?? e);
    process.stderr.write(`sallyport agent: could not start: ${msg}\n`);
    return 1;
  }
  logger.info(
    {
      kind,
      key: agent.publicKey.fingerprint(),
      created: agent.keyCreated,
      state: dir,
      socks5: agent.socksAddress,
    },
    'agent started',
  );
  let refused = false;
  await untilStopped(opts.signal, (stop) => {
    agent.control.on('refused', (e: { refusal?: string }) => {
      // A node the coordinator will never admit (revoked, expired, bad pre-auth key) exits.
      if (e.refusal && e.refusal !== 'INTERNAL') {
        refused = true;
        stop();
      }
    });
  });
  await agent.stop();
  return refused ? 1 : 0;
}
