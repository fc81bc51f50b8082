// `sallyport agent`: runs a connector (with --serve / --config) or an engineer node until SIGINT or
// SIGTERM. It dials out only: to the coordinator (agent channel) and to relays. Its flags and
// --help: agent-flags.ts.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { pino } from 'pino';
import {
  Agent,
  parseHostPort,
  parseServe,
  readConfigFile,
  readSettings,
  type AgentOptions,
  type ServiceSpec,
} from '../agent/index.ts';
import { realClock } from '../clock/index.ts';
import { PublicKey } from '../crypto/index.ts';
import { AGENT_FLAGS, DEFAULT_DIRECT_DATAGRAM_MAX, help, type AgentFlags } from './agent-flags.ts';
import { stateDir } from './agent-common.ts';
import { Failed, UsageError, processIo, runCommand } from './kit/index.ts';
import { logDestination } from './log-output.ts';
import { untilStopped } from './signals.ts';

export { help } from './agent-flags.ts';

const STUN = /^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:.]+\]:\d{1,5}$/;
const RELAY_ADDRESS = /^([A-Za-z0-9][A-Za-z0-9._-]{0,62})=(https:\/\/[^/\s]+\/?)$/;

/** The UDP socket's options, or undefined with --no-direct (which the direct-path flags need off). */
function udpOptions(a: AgentFlags): AgentOptions['udp'] {
  for (const s of a.stun ?? []) if (!STUN.test(s)) throw new UsageError(`--stun takes HOST:PORT, got '${s}'`);
  const without = (flag: string) => new UsageError(`${flag} needs direct paths (drop --no-direct)`);
  if (a['no-direct'] && a.stun !== undefined) throw without('--stun');
  const openTtl = a['nat-open-ttl'];
  if (a['no-direct'] && openTtl !== undefined) throw without('--nat-open-ttl');
  const dmax = a['direct-datagram-max'] ?? DEFAULT_DIRECT_DATAGRAM_MAX;
  if (a['no-direct'] && a['direct-datagram-max'] !== undefined) throw without('--direct-datagram-max');
  if (a['no-direct'] && a['udp-port'] !== undefined)
    throw new UsageError('--udp-port and --no-direct exclude each other');
  if (a['no-direct']) return undefined;
  const datagramSizes = [dmax, 8192, 1400].filter(
    (n, i, all) => n > 1200 && n <= dmax && all.indexOf(n) === i,
  );
  return {
    port: a['udp-port'] ?? 0,
    stunServers: a.stun ?? [],
    ...(openTtl !== undefined ? { openTtl } : {}),
    datagramSizes,
  };
}

function relayAddresses(specs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of specs) {
    const m = RELAY_ADDRESS.exec(spec);
    if (!m) throw new UsageError(`--relay-address takes REGION=https://HOST:PORT, got '${spec}'`);
    if (out[m[1]]) throw new UsageError(`--relay-address gives region ${m[1]} twice`);
    out[m[1]] = m[2];
  }
  return out;
}

/** The coordinators and the key to pin: the flags, else what 'sallyport login' saved. */
function coordinatorOf(a: AgentFlags, saved: { coordinator?: string; coordinatorKey?: string }) {
  const coordinator = a.coordinator?.length ? a.coordinator : saved.coordinator ? [saved.coordinator] : [];
  const keyText = a['coordinator-key'] ?? saved.coordinatorKey;
  if (!coordinator.length || !keyText)
    throw new UsageError("--coordinator and --coordinator-key are required (or run 'sallyport login' first)");
  for (const u of coordinator)
    if (!/^https:\/\/[^/\s]+\/?$/.test(u))
      throw new UsageError(`--coordinator takes https://HOST:PORT, got '${u}'`);
  if (new Set(coordinator).size !== coordinator.length)
    throw new UsageError('--coordinator lists the same URL twice');
  try {
    return { coordinator, coordinatorKey: PublicKey.fromBase64(keyText) };
  } catch (e) {
    throw new UsageError('--coordinator-key is not a base64 X25519 key', { cause: e });
  }
}

function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Failed(`could not start: ${(e as Error).message}`, { cause: e });
  }
}

/** The Agent's options from the flags, checked together (UsageError names the fix). */
function agentOptions(a: AgentFlags, fileServices: boolean): Omit<AgentOptions, 'logger'> {
  const dir = stateDir(a.state);
  let saved;
  let services: ServiceSpec[];
  let socks5;
  try {
    saved = readSettings(dir);
    services = [
      ...(a.serve ?? []).map(parseServe),
      ...(a.config && fileServices ? readConfigFile(a.config) : []),
    ];
    if (a.socks5) socks5 = parseHostPort(a.socks5, '--socks5', true);
  } catch (e) {
    throw new UsageError((e as Error).message, { cause: e });
  }
  const udp = udpOptions(a);
  const relays = relayAddresses(a['relay-address'] ?? []);
  const kind = a.kind ?? (services.length ? 'connector' : 'engineer');
  if (kind === 'engineer' && services.length) throw new UsageError('an engineer node serves no services');
  const caFile = a.ca ?? saved.ca;
  return {
    clock: realClock,
    stateDir: dir,
    ...coordinatorOf(a, saved),
    ...(caFile ? { ca: readCa(caFile) } : {}),
    kind: kind as 'connector' | 'engineer',
    name: a.name ?? saved.name ?? hostname(),
    ...(a['preauth-key'] ? { preauthKey: a['preauth-key'] } : {}),
    services,
    ...(socks5 ? { socks5 } : {}),
    ...(udp ? { udp } : {}),
    ...(Object.keys(relays).length ? { relayAddresses: relays } : {}),
  };
}

/** Runs until a signal; exit 1 when the coordinator refuses the node for good. */
async function serve(agent: Agent, signal: AbortSignal | undefined): Promise<number> {
  let refused = false;
  await untilStopped(signal, (stop) => {
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

const COMMAND = {
  name: 'agent',
  flags: AGENT_FLAGS,
  help,
  config: { flag: 'config', extraKeys: ['services'] },
} as const;

export function run(argv: string[], opts: { signal?: AbortSignal } = {}): Promise<number> {
  return runCommand(COMMAND, argv, processIo, async ({ values: a, extra }) => {
    const options = agentOptions(a, 'services' in extra);
    const logger = pino({ level: a['log-level'], base: undefined, name: 'agent' }, logDestination(1));
    let agent: Agent;
    try {
      agent = new Agent({ ...options, logger });
      await agent.start();
    } catch (e) {
      throw new Failed(`could not start: ${String((e as Error).message ?? e)}`, { cause: e });
    }
    const { kind } = options;
    const key = agent.publicKey.fingerprint();
    const started = {
      kind,
      key,
      created: agent.keyCreated,
      state: options.stateDir,
      socks5: agent.socksAddress,
    };
    logger.info(started, 'agent started');
    return serve(agent, opts.signal);
  });
}
