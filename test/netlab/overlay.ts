// The overlay in the netlab, as the real CLI runs it: coordinator and relay (with its STUN port) in
// the vendor namespace, a connector serving a file over HTTP in the customer namespace, an engineer
// with a SOCKS5 proxy in the engineer namespace. Used by the direct-path tests and the paths
// benchmark.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSelfSigned } from '../../src/pki/index.ts';
import { Netlab, type NetlabOptions } from '../../src/testing/netlab.ts';
import type { LabProcess } from '../../src/testing/netns.ts';
import type { AgentStatus, PeerStatus } from '../../src/agent/index.ts';

export const NAME = 'web.acme-prod.us-east-1.aws.byoc.test';
export const RELAY_PORT = 8444;
export const RELAY_METRICS_PORT = 9464;
export const STUN_PORT = 3478;
export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitOutput(
  p: LabProcess,
  re: RegExp,
  ms: number,
  what: string,
): Promise<RegExpExecArray> {
  const end = Date.now() + ms;
  for (;;) {
    const m = re.exec(p.output());
    if (m) return m;
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}; output:\n${p.output().slice(-3000)}`);
    if (p.child.exitCode !== null)
      throw new Error(`${what}: process exited ${p.child.exitCode}:\n${p.output().slice(-3000)}`);
    await sleep(100);
  }
}

export interface Overlay {
  lab: Netlab;
  relay: LabProcess;
  connector: LabProcess;
  engineer: LabProcess;
  connState: string;
  engState: string;
  /** The file the connector serves, and its name under http://NAME/. */
  big: Buffer;
  /** The engineer's status (control socket, `sallyport status --json`). */
  engStatus(): Promise<AgentStatus>;
  connStatus(): Promise<AgentStatus>;
  /** The engineer's one peer (the connector). */
  engPeer(): Promise<PeerStatus | undefined>;
  /** The relay's sallyport_relay_bytes_forwarded_total. */
  relayBytes(): Promise<number>;
  /** The admin CLI's environment (server, CA, token) and the coordinator URL. */
  env: Record<string, string>;
  url: string;
  caFile: string;
  /** curl through the engineer's SOCKS5 proxy into a file; resolves with the file's bytes. */
  fetch(opts?: { limitRate?: string; out?: string }): Promise<Buffer>;
}

export interface OverlayOptions extends NetlabOptions {
  mib: number;
  /** Drop new inbound connections in the customer namespace (I1's firewall); default true. */
  inboundDrop?: boolean;
  /** Extra agent arguments for both agents. */
  agentArgs?: string[];
  /** Give alice a standing grant on acme-prod (default true); false: access only by request. */
  standingGrant?: boolean;
  /** The connector's --serve values (default: web, the file server over HTTP). */
  serve?: string[];
  /**
   * A second relay (no region of the map, STUN on SECOND_STUN_PORT) given to both agents with
   * --stun: two STUN servers, so that netcheck can tell whether a mapping varies by destination.
   */
  secondStun?: boolean;
}

export const SECOND_STUN_PORT = 3479;

export async function startOverlay(o: OverlayOptions): Promise<Overlay> {
  const lab = await Netlab.create(o);
  try {
    return await build(lab, o);
  } catch (e) {
    await lab.cleanup();
    throw e;
  }
}

async function build(lab: Netlab, o: OverlayOptions): Promise<Overlay> {
  const V = lab.addr.vendor;
  const url = `https://${V}:8443`;
  const relayCert = await createSelfSigned({ commonName: 'relay.netlab', ipAddresses: [V] });
  const relayCrt = lab.file('relay.crt', relayCert.certPem);
  const relayKey = lab.file('relay.key.pem', relayCert.keyPem);
  const coordDir = join(lab.dir, 'coordinator');
  const coord = await lab.spawnCli('vendor', [
    'coordinator',
    '--data',
    coordDir,
    '--listen',
    `${V}:8443`,
    '--suffix',
    'byoc.test',
    '--relay',
    `local-1=https://${V}:${RELAY_PORT},stun=${STUN_PORT}`,
    '--log-level',
    'warn',
  ]);
  const ck = (await waitOutput(coord, /channel key \(agents pin\):\s+(\S+)/, 60_000, 'coordinator keys'))[1];
  const trust = (
    await waitOutput(coord, /relay trust key \(Ed25519\):\s+(\S+)/, 5_000, 'relay trust key')
  )[1];
  const relay = await lab.spawnCli('vendor', [
    'relay',
    '--listen',
    `${V}:${RELAY_PORT}`,
    '--tls-cert',
    relayCrt,
    '--tls-key',
    relayKey,
    '--trust-key',
    trust,
    '--region',
    'local-1',
    '--key-file',
    join(lab.dir, 'relay-x25519.key'),
    '--stun-port',
    String(STUN_PORT),
    '--metrics-listen',
    `${V}:${RELAY_METRICS_PORT}`,
    '--log-level',
    'warn',
  ]);
  if (o.secondStun)
    await lab.spawnCli('vendor', [
      'relay',
      '--listen',
      `${V}:${RELAY_PORT + 1}`,
      '--tls-cert',
      relayCrt,
      '--tls-key',
      relayKey,
      '--trust-key',
      trust,
      '--region',
      'stun-only',
      '--key-file',
      join(lab.dir, 'relay2-x25519.key'),
      '--stun-port',
      String(SECOND_STUN_PORT),
      '--log-level',
      'warn',
    ]);
  const caFile = lab.file(
    'ca.pem',
    readFileSync(join(coordDir, 'tls', 'cert.pem'), 'utf8').trim() + '\n' + relayCert.certPem,
  );
  const password = readFileSync(join(coordDir, 'initial-admin-password'), 'utf8').trim();
  const base = { SALLYPORT_SERVER: url, SALLYPORT_CA: caFile };
  const token = (
    await lab.cli('vendor', ['admin', 'login', '--user', 'admin'], {
      env: { ...base, SALLYPORT_PASSWORD: password },
    })
  ).stdout.trim();
  const env = { ...base, SALLYPORT_TOKEN: token };
  const admin = async (...args: string[]) =>
    JSON.parse((await lab.cli('vendor', ['admin', ...args, '--json'], { env })).stdout) as Record<
      string,
      unknown
    >;
  await admin('deployments', 'create', 'acme-prod', '--region', 'us-east-1', '--cloud', 'aws');
  await lab.cli('vendor', ['admin', 'users', 'create', 'alice'], {
    env: { ...env, SALLYPORT_NEW_PASSWORD: 'alice-password-123' },
  });
  const connKey = String((await admin('keys', 'create', '--deployment', 'acme-prod')).key);
  const engKey = String((await admin('keys', 'create', '--user', 'alice')).key);
  if (o.standingGrant ?? true)
    await admin('grants', 'create', '--user', 'alice', '--deployment', 'acme-prod');

  if (o.inboundDrop ?? true) await lab.inboundDrop('customer');
  const www = join(lab.dir, 'www');
  mkdirSync(www);
  const big = randomBytes(o.mib * 1024 * 1024);
  writeFileSync(join(www, 'big.bin'), big);
  lab.spawn('customer', ['python3', '-m', 'http.server', '8080', '--bind', '127.0.0.1', '--directory', www]);
  const common = [
    '--coordinator',
    url,
    '--coordinator-key',
    ck,
    '--ca',
    caFile,
    '--log-level',
    'info',
    ...(o.secondStun ? ['--stun', `${V}:${SECOND_STUN_PORT}`] : []),
    ...(o.agentArgs ?? []),
  ];
  const connState = join(lab.dir, 'connector-state');
  const connector = await lab.spawnCli('customer', [
    'agent',
    '--state',
    connState,
    ...common,
    '--preauth-key',
    connKey,
    '--name',
    'acme-connector',
    ...(o.serve ?? ['web=127.0.0.1:8080,kind=http,tls=passthrough']).flatMap((v) => ['--serve', v]),
  ]);
  const engState = join(lab.dir, 'engineer-state');
  const engineer = await lab.spawnCli('engineer', [
    'agent',
    '--state',
    engState,
    ...common,
    '--preauth-key',
    engKey,
    '--name',
    'alice-laptop',
    '--socks5',
    '127.0.0.1:1055',
  ]);
  const status = async (site: 'engineer' | 'customer', state: string): Promise<AgentStatus | undefined> => {
    const r = await lab.cli(site, ['status', '--json', '--state', state], { allowFailure: true });
    return r.code === 0 ? (JSON.parse(r.stdout) as AgentStatus) : undefined;
  };
  const must = async (site: 'engineer' | 'customer', state: string): Promise<AgentStatus> => {
    const s = await status(site, state);
    if (!s) throw new Error(`no status from the ${site} agent`);
    return s;
  };
  // Ready: the engineer sees the connector with its STUN-discovered endpoint, both on the relay.
  const end = Date.now() + 90_000;
  for (;;) {
    const e = await status('engineer', engState);
    const c = await status('customer', connState);
    const ready =
      e &&
      c &&
      e.peers.length === ((o.standingGrant ?? true) ? 1 : 0) &&
      e.relays[0]?.state === 'connected' &&
      c.relays[0]?.state === 'connected' &&
      (e.udp === null || e.udp.mapped.length > 0) &&
      (c.udp === null || c.udp.mapped.length > 0);
    if (ready) break;
    if (Date.now() > end)
      throw new Error(
        `overlay not ready: ${JSON.stringify({ e, c })}\n${connector.output().slice(-2000)}\n${engineer.output().slice(-2000)}`,
      );
    await sleep(300);
  }
  // the endpoints reach the peer through the coordinator a moment after STUN answers
  await sleep(500);
  return {
    lab,
    env,
    url,
    caFile,
    relay,
    connector,
    engineer,
    connState,
    engState,
    big,
    engStatus: () => must('engineer', engState),
    connStatus: () => must('customer', connState),
    engPeer: async () => (await must('engineer', engState)).peers[0],
    relayBytes: async () => {
      const r = await lab.exec('vendor', [
        'curl',
        '-s',
        '--max-time',
        '5',
        `http://${V}:${RELAY_METRICS_PORT}/metrics`,
      ]);
      const m = /^sallyport_relay_bytes_forwarded_total (\d+)/m.exec(r.stdout);
      if (!m) throw new Error(`no forwarded-bytes counter in /metrics:\n${r.stdout.slice(0, 500)}`);
      return Number(m[1]);
    },
    fetch: async (f = {}) => {
      const out = f.out ?? join(lab.dir, `out-${Date.now()}-${Math.random().toString(36).slice(2)}.bin`);
      await lab.exec(
        'engineer',
        [
          'curl',
          '-sS',
          '--max-time',
          '100',
          ...(f.limitRate ? ['--limit-rate', f.limitRate] : []),
          '--socks5-hostname',
          '127.0.0.1:1055',
          `http://${NAME}/big.bin`,
          '-o',
          out,
        ],
        { timeoutMs: 110_000 },
      );
      return readFileSync(out);
    },
  };
}
