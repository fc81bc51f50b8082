// wireguard-go (the reference userspace implementation) in a network namespace, configured with
// `wg set` through its control socket. The socket directory is shared by every namespace
// (COMPONENTS.md), so each daemon gets an interface name unique to this run: NetnsLab.ifname().
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  NetnsError,
  WG_SOCKET_DIR,
  waitFor,
  type LabProcess,
  type NetnsLab,
} from '../../src/testing/netns.ts';
import type { PrivateKey, PublicKey } from '../../src/crypto/index.ts';

export interface WgGoPeer {
  publicKey: PublicKey;
  presharedKey?: Uint8Array;
  /** Comma-separated CIDRs routed to this peer and accepted from it. */
  allowedIps: string;
  /** "ip:port"; without it wireguard-go learns the endpoint from the peer's first handshake. */
  endpoint?: string;
}

export interface WgGoOptions {
  ns: string;
  /** Interface label (see NetnsLab.ifname). */
  label: string;
  privateKey: PrivateKey;
  listenPort: number;
  /** Address of the TUN interface, e.g. "198.19.0.1/24" (the /24 routes the rest to the tunnel). */
  tunCidr: string;
  peer: WgGoPeer;
  signal?: AbortSignal;
}

export class WgGo {
  readonly ifname: string;
  readonly ns: string;
  readonly proc: LabProcess;
  readonly #lab: NetnsLab;
  readonly #dir: string;

  private constructor(lab: NetnsLab, ns: string, ifname: string, proc: LabProcess, dir: string) {
    this.#lab = lab;
    this.ns = ns;
    this.ifname = ifname;
    this.proc = proc;
    this.#dir = dir;
  }

  static async start(lab: NetnsLab, o: WgGoOptions): Promise<WgGo> {
    const ifname = lab.ifname(o.label);
    const sock = join(WG_SOCKET_DIR, `${ifname}.sock`);
    if (existsSync(sock)) throw new NetnsError('NETNS_BUSY', `${sock} exists: another daemon owns ${ifname}`);
    const dir = await mkdtemp(join(tmpdir(), 'sallyport-wggo-'));
    // Verbose logs name every handshake and drop: proc.output() is the diagnosis when a case fails.
    const env = { ...process.env, LOG_LEVEL: 'verbose' };
    const proc = lab.spawn(o.ns, ['wireguard-go', '-f', ifname], { signal: o.signal, env });
    const wg = new WgGo(lab, o.ns, ifname, proc, dir);
    try {
      await waitFor(`${ifname} control socket`, () => existsSync(sock) || proc.child.exitCode !== null, {
        signal: o.signal,
        timeoutMs: 5000,
      });
      if (proc.child.exitCode !== null)
        throw new NetnsError('NETNS_SPAWN_FAILED', `wireguard-go exited: ${proc.output()}`);
      const keyFile = join(dir, 'private.key');
      await writeFile(keyFile, Buffer.from(o.privateKey.unsafeBytes()).toString('base64') + '\n', {
        mode: 0o600,
      });
      const args = ['set', ifname, 'listen-port', String(o.listenPort), 'private-key', keyFile];
      args.push('peer', o.peer.publicKey.base64(), 'allowed-ips', o.peer.allowedIps);
      if (o.peer.endpoint) args.push('endpoint', o.peer.endpoint);
      if (o.peer.presharedKey) {
        const pskFile = join(dir, 'psk.key');
        await writeFile(pskFile, Buffer.from(o.peer.presharedKey).toString('base64') + '\n', { mode: 0o600 });
        args.push('preshared-key', pskFile);
      }
      await lab.exec(o.ns, ['wg', ...args], { signal: o.signal });
      // wg has read the keys: remove them now, so that not even a crashed run leaves them behind.
      await rm(dir, { recursive: true, force: true });
      await lab.address(o.ns, ifname, o.tunCidr, o);
      await lab.up(o.ns, ifname, o);
    } catch (e) {
      await wg.stop();
      throw e;
    }
    return wg;
  }

  /** `wg show <if> <what>` parsed as lines of tab-separated fields. */
  async show(what: string, opts: { signal?: AbortSignal } = {}): Promise<string[][]> {
    const r = await this.#lab.exec(this.ns, ['wg', 'show', this.ifname, what], opts);
    return r.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'));
  }

  /** Epoch seconds of the peer's latest handshake as wireguard-go reports it (0 = none yet). */
  async latestHandshake(opts: { signal?: AbortSignal } = {}): Promise<number> {
    const rows = await this.show('latest-handshakes', opts);
    return rows.length ? Number(rows[0][1]) : 0;
  }

  /** [rx, tx] bytes wireguard-go counts for the peer. */
  async transfer(opts: { signal?: AbortSignal } = {}): Promise<[number, number]> {
    const rows = await this.show('transfer', opts);
    return rows.length ? [Number(rows[0][1]), Number(rows[0][2])] : [0, 0];
  }

  async stop(): Promise<void> {
    await this.proc.stop();
    await rm(this.#dir, { recursive: true, force: true });
  }
}
