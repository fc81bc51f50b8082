// The netlab: the overlay's real processes (`sallyport coordinator | relay | agent`, run as the
// CLI) in network namespaces shaped like the deployment picture of DESIGN.md §1 (used by
// `sallyport lab --netns` and the netlab tests):
//
//   vendor (coordinator, relay) ── wan ──┬── custrtr (NAT) ── customer (connector + services)
//                                         └── engrtr (NAT)  ── engineer (agent, curl)
//
// wan routes to the customer LAN through custrtr (as if the customer's router forwarded), so that
// inbound traffic could reach the connector if anything let it: what stops it is the customer
// namespace's own firewall (`inboundDrop`: nftables `ct state new` drop on input), the I1 test.
// Everything is created by one NetnsLab and removed by `cleanup()` (processes by PID first).
// `hostLink(site)` adds a veth from the root namespace to a site (the lab's console URL).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetnsLab, exec, type ExecOptions, type ExecResult, type LabProcess } from './netns.ts';

export type Site = 'vendor' | 'wan' | 'custrtr' | 'customer' | 'engrtr' | 'engineer';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(REPO, 'bin', 'sallyport.js');

/** argv that runs the real `sallyport <args>` command, as a user would. */
export function sallyportArgv(args: string[]): string[] {
  return [process.execPath, BIN, ...args];
}

/**
 * How a router namespace translates: nftables `masquerade` (endpoint-independent mapping, the
 * source port kept when free), `masquerade persistent` (the same, and a client keeps its address
 * across flows), or `masquerade fully-random` (a random port per connection: symmetric-like).
 */
export type NatMode = 'masquerade' | 'persistent' | 'fully-random';

export type Router = 'custrtr' | 'engrtr';

export interface NetlabOptions {
  /** NAT of the customer's and the engineer's router; default 'masquerade' both. */
  nat?: { custrtr?: NatMode; engrtr?: NatMode };
  /**
   * Route the customer LAN from the wan (default true: the I1 worst case, inbound could reach the
   * connector if anything let it). False: the customer is reachable only through its NAT, as on the
   * Internet (the direct-path tests).
   */
  routeCustomerLan?: boolean;
  /**
   * The routers drop unsolicited inbound traffic addressed to themselves on their WAN side
   * (nftables input: `ct state new` drop), as home NAT gateways do: true for both, or per router.
   * Without it ("bare masquerade", as on many self-built NAT instances) a stray datagram to a
   * router's mapped port makes Linux confirm a conntrack entry for it (the router's own input
   * accepted it), and that entry takes the tuple: the inside host's next connection to the same
   * remote is given another port (see test/netlab/paths.test.ts). Default false: bare.
   */
  routerInputDrop?: boolean | Partial<Record<Router, boolean>>;
  /** Name prefix of the namespaces and links (1–3 letters); default 'spn'. */
  prefix?: string;
  /** Working directory (files, state); default a fresh temporary one, removed by cleanup(). */
  dir?: string;
}

export class Netlab {
  readonly lab: NetnsLab;
  readonly dir: string;
  readonly ns = {} as Record<Site, string>;
  /** The address of each end site on its link (vendor's WAN address, the LAN addresses). */
  readonly addr = {} as Record<'vendor' | 'customer' | 'engineer' | 'custrtrWan' | 'engrtrWan', string>;

  readonly #ownDir: boolean;

  private constructor(lab: NetnsLab, dir: string | undefined) {
    this.lab = lab;
    this.#ownDir = dir === undefined;
    this.dir = dir ?? mkdtempSync(join(tmpdir(), 'sallyport-netlab-'));
  }

  static async create(o: NetlabOptions = {}): Promise<Netlab> {
    const lab = await NetnsLab.create({ prefix: o.prefix ?? 'spn' });
    const n = new Netlab(lab, o.dir);
    try {
      await n.#build(o);
    } catch (e) {
      await n.cleanup();
      throw e;
    }
    return n;
  }

  async #build(o: NetlabOptions): Promise<void> {
    const lab = this.lab;
    for (const s of ['vendor', 'wan', 'custrtr', 'customer', 'engrtr', 'engineer'] as Site[])
      this.ns[s] = await lab.namespace(s);
    const { ns } = this;
    const link = async (a: Site, b: Site, la: string, lb: string) => {
      const sub = await lab.freeSubnet(30);
      await lab.veth(
        { label: la, ns: ns[a], cidr: `${sub.hosts[0]}/30` },
        { label: lb, ns: ns[b], cidr: `${sub.hosts[1]}/30` },
      );
      return { a: sub.hosts[0], b: sub.hosts[1], cidr: sub.cidr, ifA: lab.ifname(la), ifB: lab.ifname(lb) };
    };
    const vw = await link('vendor', 'wan', 'v', 'wv');
    const cw = await link('custrtr', 'wan', 'cw', 'wc');
    const cl = await link('customer', 'custrtr', 'c', 'cl');
    const ew = await link('engrtr', 'wan', 'ew', 'we');
    const el = await link('engineer', 'engrtr', 'e', 'el');
    this.addr.vendor = vw.a;
    this.addr.customer = cl.a;
    this.addr.engineer = el.a;
    this.addr.custrtrWan = cw.a;
    this.addr.engrtrWan = ew.a;
    await lab.forwarding(ns.wan);
    await lab.route(ns.vendor, ['default', 'via', vw.b]);
    await lab.route(ns.custrtr, ['default', 'via', cw.b]);
    await lab.route(ns.customer, ['default', 'via', cl.b]);
    await lab.route(ns.engrtr, ['default', 'via', ew.b]);
    await lab.route(ns.engineer, ['default', 'via', el.b]);
    // The customer LAN is routable from the wan (a worst case for I1: no NAT in the way inbound).
    if (o.routeCustomerLan ?? true) await lab.route(ns.wan, [cl.cidr, 'via', cw.a]);
    for (const [r, wan] of [
      ['custrtr', cw.ifA],
      ['engrtr', ew.ifA],
    ] as const)
      await lab.masquerade(ns[r], wan, {
        fullyRandom: o.nat?.[r] === 'fully-random',
        persistent: o.nat?.[r] === 'persistent',
      });
    this.wanIf = { custrtr: cw.ifA, engrtr: ew.ifA };
    const drop = (r: Router): boolean =>
      typeof o.routerInputDrop === 'boolean' ? o.routerInputDrop : (o.routerInputDrop?.[r] ?? false);
    for (const [site, wan] of [
      ['custrtr', cw.ifA],
      ['engrtr', ew.ifA],
    ] as const)
      if (drop(site)) {
        const script = [
          'table inet sallyport_rtr {',
          '  chain input {',
          '    type filter hook input priority filter; policy accept;',
          `    iifname "${wan}" ct state new counter drop`,
          '  }',
          '}',
        ].join('\n');
        await exec(ns[site], ['nft', '-f', '-'], { input: script });
      }
  }

  /**
   * A veth from the root namespace to `site` on a free /30: the host reaches `site` at `siteAddr`
   * (no route beyond that /30 either way: the host does not join the wan).
   */
  async hostLink(site: Site, label = 'h'): Promise<{ hostAddr: string; siteAddr: string }> {
    const sub = await this.lab.freeSubnet(30);
    await this.lab.veth(
      { label, cidr: `${sub.hosts[0]}/30` },
      { label: `${label}s`, ns: this.ns[site], cidr: `${sub.hosts[1]}/30` },
    );
    return { hostAddr: sub.hosts[0], siteAddr: sub.hosts[1] };
  }

  /** Each router's WAN interface. */
  wanIf = {} as Record<'custrtr' | 'engrtr', string>;

  /** A firewall on router `site` that drops every UDP datagram it would forward (TCP still passes). */
  async dropUdp(site: 'custrtr' | 'engrtr'): Promise<void> {
    const script = [
      'table inet sallyport_noudp {',
      '  chain forward {',
      '    type filter hook forward priority filter; policy accept;',
      '    meta l4proto udp counter drop',
      '  }',
      '}',
    ].join('\n');
    await exec(this.ns[site], ['nft', '-f', '-'], { input: script });
  }

  /** Flushes the connection-tracking table of router `site` (every NAT mapping is forgotten). */
  async flushConntrack(site: 'custrtr' | 'engrtr'): Promise<void> {
    await exec(this.ns[site], ['conntrack', '-F'], { allowFailure: true });
  }

  /**
   * nftables on the input hook of `site`: loopback and established/related traffic accepted, every
   * new inbound connection (TCP, UDP, anything) counted and dropped.
   */
  async inboundDrop(site: Site): Promise<void> {
    const script = [
      'table inet sallyport_i1 {',
      '  chain input {',
      '    type filter hook input priority filter; policy accept;',
      '    iif "lo" accept',
      '    ct state established,related accept',
      '    ct state new counter drop',
      '  }',
      '}',
    ].join('\n');
    await exec(this.ns[site], ['nft', '-f', '-'], { input: script });
  }

  /** Packets the inbound-drop rule of `site` has dropped so far. */
  async inboundDropped(site: Site): Promise<number> {
    const r = await exec(this.ns[site], ['nft', 'list', 'chain', 'inet', 'sallyport_i1', 'input']);
    const m = /ct state new counter packets (\d+)/.exec(r.stdout);
    return m ? Number(m[1]) : 0;
  }

  exec(site: Site, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return this.lab.exec(this.ns[site], argv, opts);
  }

  spawn(
    site: Site,
    argv: readonly string[],
    env?: NodeJS.ProcessEnv,
    opts: { stdin?: boolean } = {},
  ): LabProcess {
    return this.lab.spawn(this.ns[site], argv, {
      ...opts,
      ...(env ? { env: { ...process.env, ...env } } : {}),
    });
  }

  /** Runs `sallyport <args>` to completion in `site`. */
  async cli(
    site: Site,
    args: string[],
    opts: ExecOptions & { env?: NodeJS.ProcessEnv } = {},
  ): Promise<ExecResult> {
    const argv = sallyportArgv(args);
    const envArgs = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
    return this.lab.exec(this.ns[site], envArgs.length ? ['env', ...envArgs, ...argv] : argv, {
      timeoutMs: 60_000,
      ...opts,
    });
  }

  /** Starts a long-running `sallyport <args>` in `site` (stopped by PID on cleanup). */
  async spawnCli(site: Site, args: string[], env?: NodeJS.ProcessEnv): Promise<LabProcess> {
    return this.spawn(site, sallyportArgv(args), env);
  }

  file(name: string, content: string | Uint8Array): string {
    const p = join(this.dir, name);
    writeFileSync(p, content, { mode: 0o600 });
    return p;
  }

  async cleanup(): Promise<void> {
    try {
      await this.lab.cleanup();
    } finally {
      if (this.#ownDir && existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** Sockets (TCP and UDP, any state) that process `pid` holds in `ns`: protocol and local port. */
export async function socketsOf(
  ns: string,
  pid: number,
): Promise<{ proto: 'tcp' | 'udp'; port: number; state: string }[]> {
  const r = await exec(ns, ['ss', '-H', '-tuanp']);
  const out: { proto: 'tcp' | 'udp'; port: number; state: string }[] = [];
  for (const line of r.stdout.split('\n')) {
    if (!line.includes(`pid=${pid},`)) continue;
    const f = line.trim().split(/\s+/);
    const local = f[4] ?? '';
    const port = Number(local.slice(local.lastIndexOf(':') + 1));
    if (Number.isInteger(port) && port > 0)
      out.push({ proto: f[0] === 'udp' ? 'udp' : 'tcp', port, state: f[1] });
  }
  return out;
}
