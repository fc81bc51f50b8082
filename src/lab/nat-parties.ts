// `sallyport lab --netns`: the parties, each in its own network namespace behind real NAT, each
// the real CLI (netns/netlab.ts draws the topology):
//
//   host ── veth ── vendor (sallyport coordinator + console, sallyport relay + STUN)
//                     │ wan
//          custrtr (NAT, drops unsolicited inbound) ── customer (customer-host.ts: the services;
//                                                               sallyport agent: the connector)
//          engrtr  (NAT, drops unsolicited inbound) ── engineer (sallyport agent --socks5, curl)
//
// The customer namespace also drops every new inbound connection (I1): the connector only dials
// out. The host reaches the coordinator (the console, the lab's admin API calls) over its own
// veth to the vendor namespace; the agents reach it at the vendor's WAN address.
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ctlRequest, socketPath, type AgentStatus, type ServiceSpec } from '../agent/index.ts';
import type { Clock } from '../clock/index.ts';
import { ApiClient } from '../control/index.ts';
import { createSelfSigned } from '../pki/index.ts';
import type { HttpAnswer } from './client.ts';
import type { HostLine, HostedService, JudgeRequest } from './customer-host.ts';
import { Netlab, sallyportArgv, type ExecResult, type LabProcess, type Site } from './netns/index.ts';
import { LAB_REGION, LAB_SUFFIX, type LabUser } from './topology.ts';
import { sleep } from './wait.ts';

export const RELAY_PORT = 8444;
export const STUN_PORT = 3478;
export const SOCKS5 = '127.0.0.1:1055';
/** Namespace and link names start with this (then the lab's PID): `spl-<pid>-…`. */
export const NETNS_PREFIX = 'spl';
// The sources run through tsx in the repository; the published package runs the compiled .js.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const HOST_FILE = fileURLToPath(
  new URL(FROM_SOURCE ? './customer-host.ts' : './customer-host.js', import.meta.url),
);

export interface NatPartiesOptions {
  dir: string;
  /** The coordinator's HTTPS port inside the vendor namespace (0 = 8443). */
  port: number;
  clock: Clock;
  signal: AbortSignal;
  demo: boolean;
  /** Progress from the customer's side (a service started or skipped). */
  info(what: string, message: string): void;
}

export class NatParties {
  readonly o: NatPartiesOptions;
  net!: Netlab;
  /** The coordinator as agents dial it (the vendor's WAN address) and as the host does. */
  url = '';
  hostUrl = '';
  caFile = '';
  channelKey = '';
  admin!: ApiClient;
  adminUser: LabUser = { name: 'admin', password: '' };
  services: HostedService[] = [];
  customer?: LabProcess;
  readonly #verdicts = new Map<number, (v: { ok: boolean; summary: string }) => void>();
  #seq = 0;
  #coordinatorPem = '';

  private constructor(o: NatPartiesOptions) {
    this.o = o;
  }

  /** Builds the namespaces and starts the coordinator and the relay; removes everything on failure. */
  static async start(o: NatPartiesOptions): Promise<NatParties> {
    const p = new NatParties(o);
    try {
      p.net = await Netlab.create({
        prefix: NETNS_PREFIX,
        dir: o.dir,
        // bare masquerade (no input firewall on the routers), as on self-built NAT instances: the
        // agents' opens keep the direct path working there too (paths/path-choice.ts, "Opens")
        routeCustomerLan: false,
      });
      await p.net.inboundDrop('customer');
      o.signal.throwIfAborted();
      await p.#vendor();
    } catch (e) {
      await p.stop();
      throw e;
    }
    return p;
  }

  get port(): number {
    return this.o.port || 8443;
  }

  get consoleUrl(): string {
    return `${this.hostUrl}/console/`;
  }

  /** The namespaces, addresses and NAT of this run (for the setup event). */
  layout(): Record<string, unknown> {
    const { ns, addr } = this.net;
    return {
      namespaces: ns,
      vendor: addr.vendor,
      customer: { lan: addr.customer, nat: addr.custrtrWan },
      engineer: { lan: addr.engineer, nat: addr.engrtrWan },
      nat: 'nftables masquerade; routers and the customer drop unsolicited inbound',
    };
  }

  async #vendor(): Promise<void> {
    const { net, o } = this;
    const V = net.addr.vendor;
    const host = await net.hostLink('vendor');
    this.url = `https://${V}:${this.port}`;
    this.hostUrl = `https://${host.siteAddr}:${this.port}`;
    const coordDir = join(o.dir, 'coordinator');
    const coord = this.#spawn('vendor', 'coordinator', [
      'coordinator',
      ...['--data', coordDir, '--listen', `0.0.0.0:${this.port}`, '--suffix', LAB_SUFFIX],
      ...['--hostname', V, '--hostname', host.siteAddr],
      ...['--relay', `${LAB_REGION}=https://${V}:${RELAY_PORT},stun=${STUN_PORT}`],
    ]);
    this.channelKey = (
      await this.#waitOutput(coord, /channel key \(agents pin\):\s+(\S+)/, 'coordinator')
    )[1];
    const trust = (await this.#waitOutput(coord, /relay trust key \(Ed25519\):\s+(\S+)/, 'relay key'))[1];
    const relayCert = await createSelfSigned({ commonName: 'relay.lab', ipAddresses: [V] });
    const relayDir = join(o.dir, 'relay');
    mkdirSync(relayDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(relayDir, 'cert.pem'), relayCert.certPem);
    writeFileSync(join(relayDir, 'key.pem'), relayCert.keyPem, { mode: 0o600 });
    const relay = this.#spawn('vendor', 'relay', [
      'relay',
      ...['--listen', `${V}:${RELAY_PORT}`, '--stun-port', String(STUN_PORT), '--region', LAB_REGION],
      ...['--tls-cert', join(relayDir, 'cert.pem'), '--tls-key', join(relayDir, 'key.pem')],
      ...['--trust-key', trust, '--key-file', join(relayDir, 'x25519.key')],
    ]);
    this.#coordinatorPem = readFileSync(join(coordDir, 'tls', 'cert.pem'), 'utf8').trim() + '\n';
    this.caFile = join(o.dir, 'ca.pem');
    writeFileSync(this.caFile, this.#coordinatorPem + relayCert.certPem);
    this.adminUser.password = readFileSync(join(coordDir, 'initial-admin-password'), 'utf8').trim();
    this.admin = await this.anonymous().login(this.adminUser.name, this.adminUser.password);
    await this.#waitOutput(relay, /relay \S+ listening on/, 'the relay');
  }

  /** An API client from the host (through the host link), without a token. */
  anonymous(): ApiClient {
    return new ApiClient({ server: this.hostUrl, ca: this.#coordinatorPem });
  }

  /** Starts customer-host.ts in the customer namespace and waits for its services (stop() stops them). */
  async startCustomer(): Promise<void> {
    const loader = FROM_SOURCE ? ['--import', import.meta.resolve('tsx')] : [];
    const argv = [process.execPath, ...loader, HOST_FILE, this.o.dir];
    if (this.o.demo) argv.push('--demo');
    const p = this.net.spawn('customer', argv, undefined, { stdin: true });
    this.customer = p;
    p.child.stderr!.pipe(createWriteStream(join(this.o.dir, 'customer.stderr.log')));
    const ready = new Promise<HostedService[]>((resolve, reject) => {
      const lines = createInterface({ input: p.child.stdout! });
      lines.on('line', (line) => {
        let l: HostLine;
        try {
          l = JSON.parse(line) as HostLine;
        } catch {
          return;
        }
        if (l.type === 'info') this.o.info(l.what, l.message);
        else if (l.type === 'ready') resolve(l.services);
        else if (l.type === 'failed') reject(new Error(`the customer's services: ${l.message}`));
        else if (l.type === 'verdict') this.#verdicts.get(l.id)?.({ ok: l.ok, summary: l.summary });
      });
      void p.exited.then((code) => {
        reject(new Error(`the customer's services exited (${code}): ${p.output().slice(-500)}`));
        for (const answer of [...this.#verdicts.values()])
          answer({ ok: false, summary: "the customer's side exited before judging" });
      });
      this.o.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
    this.services = await ready;
  }

  /** Asks the customer's side whether `answer` is what probe `index` of `service` expects. */
  judge(service: string, index: number, answer: HttpAnswer): Promise<{ ok: boolean; summary: string }> {
    const id = ++this.#seq;
    const req: JudgeRequest = { type: 'judge', id, service, probe: index, answer };
    return new Promise((resolve) => {
      if (this.customer?.child.exitCode !== null)
        return resolve({ ok: false, summary: "the customer's side is not running" });
      this.#verdicts.set(id, (v) => {
        this.#verdicts.delete(id);
        resolve(v);
      });
      this.customer!.child.stdin!.write(JSON.stringify(req) + '\n');
    });
  }

  /** `sallyport agent` in `site`: a connector serving `services`, or the engineer's node with SOCKS5. */
  agent(
    site: 'customer' | 'engineer',
    o: { name: string; preauthKey: string; services?: ServiceSpec[] },
  ): { process: LabProcess; state: string } {
    const state = join(this.o.dir, o.name);
    mkdirSync(state, { recursive: true, mode: 0o700 });
    const role: string[] = [];
    if (o.services) {
      const config = join(this.o.dir, `${o.name}.json`);
      writeFileSync(config, JSON.stringify({ services: o.services }, null, 2), { mode: 0o600 });
      role.push('--config', config);
    } else role.push('--socks5', SOCKS5);
    const p = this.#spawn(site, o.name, [
      'agent',
      ...['--state', state, '--name', o.name, '--preauth-key', o.preauthKey],
      ...['--coordinator', this.url, '--coordinator-key', this.channelKey, '--ca', this.caFile],
      ...role,
    ]);
    return { process: p, state };
  }

  /** The agent's status as `sallyport status --json` prints it (the CLI, in its namespace). */
  async status(site: 'customer' | 'engineer', state: string): Promise<AgentStatus | undefined> {
    const r = await this.cli(site, ['status', '--json', '--state', state], {});
    return r.code === 0 ? (JSON.parse(r.stdout) as AgentStatus) : undefined;
  }

  /** The same status straight from the agent's control socket (fast: for sampling the path). */
  async quickStatus(state: string): Promise<AgentStatus | undefined> {
    try {
      const { reply, socket } = await ctlRequest(socketPath(state), { cmd: 'status' });
      socket.destroy();
      return reply.ok ? (reply.status as AgentStatus) : undefined;
    } catch {
      return undefined;
    }
  }

  /** `sallyport ARGS` to completion in `site`, with `env` (never throws for an exit code). */
  cli(site: Site, args: string[], env: Record<string, string>, input?: string): Promise<ExecResult> {
    const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    return this.net.exec(site, ['env', ...vars, ...sallyportArgv(args)], {
      allowFailure: true,
      timeoutMs: 60_000,
      signal: this.o.signal,
      ...(input !== undefined ? { input } : {}),
    });
  }

  /** The environment a CLI user of this coordinator has, signed in with `token`. */
  env(token?: string): Record<string, string> {
    return {
      SALLYPORT_SERVER: this.url,
      SALLYPORT_CA: this.caFile,
      ...(token ? { SALLYPORT_TOKEN: token } : {}),
    };
  }

  /** `sallyport admin login` in `site`: the user's API token. */
  async login(site: Site, user: LabUser): Promise<string> {
    const r = await this.cli(site, ['admin', 'login', '--user', user.name], {
      ...this.env(),
      SALLYPORT_PASSWORD: user.password,
    });
    if (r.code !== 0) throw new Error(`sallyport admin login --user ${user.name}: ${r.stderr.trim()}`);
    return r.stdout.trim();
  }

  /** curl in the engineer namespace through the SOCKS5 proxy, with the grant's certificate in `certDir`. */
  async curl(
    certDir: string,
    host: string,
    req: { method?: string; path: string; headers?: Record<string, string>; body?: string },
    maxSeconds = 10,
  ): Promise<HttpAnswer> {
    const out = join(this.o.dir, 'curl');
    mkdirSync(out, { recursive: true });
    const tag = `${++this.#seq}`;
    const [bodyFile, headFile] = [join(out, `${tag}.body`), join(out, `${tag}.head`)];
    const argv = [
      ...['curl', '-sS', '--max-time', String(maxSeconds), '--socks5-hostname', SOCKS5],
      ...['--cacert', join(certDir, 'ca.pem'), '--cert', join(certDir, 'cert.pem')],
      ...['--key', join(certDir, 'key.pem'), '-X', req.method ?? 'GET'],
      ...Object.entries(req.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
      ...(req.body !== undefined ? ['--data-binary', '@-'] : []),
      ...['-D', headFile, '-o', bodyFile, '-w', '%{http_code}', `https://${host}${req.path}`],
    ];
    const r = await this.net.exec('engineer', argv, {
      allowFailure: true,
      timeoutMs: (maxSeconds + 5) * 1000,
      signal: this.o.signal,
      ...(req.body !== undefined ? { input: req.body } : {}),
    });
    if (r.code !== 0) throw new Error(`curl exit ${r.code}: ${r.stderr.trim().split('\n')[0]}`);
    const headers: Record<string, string> = {};
    for (const l of readFileSync(headFile, 'utf8').split('\r\n').slice(1)) {
      const i = l.indexOf(':');
      if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    return { status: Number(r.stdout.trim()), headers, body: readFileSync(bodyFile, 'utf8') };
  }

  /** A CLI party in `site`, its output also in DIR/logs/NAME.log. */
  #spawn(site: Site, name: string, args: string[]): LabProcess {
    const p = this.net.spawn(site, sallyportArgv(args));
    const logs = join(this.o.dir, 'logs');
    mkdirSync(logs, { recursive: true });
    const log = createWriteStream(join(logs, `${name}.log`));
    p.child.stdout!.pipe(log, { end: false });
    p.child.stderr!.pipe(log, { end: false });
    void p.exited.then(() => log.end());
    return p;
  }

  async #waitOutput(p: LabProcess, re: RegExp, what: string, ms = 60_000): Promise<RegExpExecArray> {
    const end = this.o.clock.now() + ms;
    for (;;) {
      const m = re.exec(p.output());
      if (m) return m;
      if (p.child.exitCode !== null)
        throw new Error(`${what} exited ${p.child.exitCode}: ${p.output().slice(-1500)}`);
      if (this.o.clock.now() > end)
        throw new Error(`timed out waiting for ${what}: ${p.output().slice(-1500)}`);
      await sleep(this.o.clock, 100, this.o.signal);
    }
  }

  /** Stops every process (by PID; the customer's services stop their servers) and removes the namespaces. */
  async stop(): Promise<void> {
    if (this.customer) {
      // stdin closed: it stops its servers (ClickHouse takes a few seconds) and exits
      this.customer.child.stdin?.end();
      const grace = new AbortController();
      await Promise.race([this.customer.exited, sleep(this.o.clock, 8000, grace.signal).catch(() => {})]);
      grace.abort();
      await this.customer.stop().catch(() => {});
    }
    await this.net?.cleanup().catch(() => {});
  }
}
