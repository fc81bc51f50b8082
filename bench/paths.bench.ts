// Direct paths through real Linux NAT (netlab, root; both routers bare `masquerade`, no input
// firewall): time to a direct path, one stream's throughput on it (peer: wireguard-go between the
// same namespaces), and the same stream on the relay path in the same run (UDP then dropped by the
// customer's router, so the agents fall back to the relay).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { goals, type Bench } from './framework.ts';
import { PrivateKey } from '../src/crypto/index.ts';
import { missingBinary, type LabProcess } from '../src/testing/netns.ts';
import { fullRun, rootMissing } from '../src/testing/require.ts';
import { NAME, sha256, sleep, startOverlay, type Overlay } from '../test/netlab/overlay.ts';
import { WgGo } from '../test/interop/wggo.ts';

const MIB = fullRun ? 256 : 64;
const WG_PORT = 51820;
const TUN_C = '198.19.77.1';
const TUN_E = '198.19.77.2';

/** curl's own measure of one download, bytes/s; checks the bytes. */
async function download(ov: Overlay, url: string, socks: boolean): Promise<number> {
  const out = join(ov.lab.dir, `bench-${socks ? 'ours' : 'wg'}.bin`);
  const r = await ov.lab.exec(
    'engineer',
    [
      'curl',
      '-sS',
      '--max-time',
      '200',
      ...(socks ? ['--socks5-hostname', '127.0.0.1:1055'] : []),
      '-o',
      out,
      '-w',
      '%{speed_download}',
      url,
    ],
    { timeoutMs: 210_000 },
  );
  if (sha256(readFileSync(out)) !== sha256(ov.big)) throw new Error(`${url}: the bytes differ`);
  return Number(r.stdout.trim());
}

export async function run(b: Bench): Promise<void> {
  const missing = rootMissing() ?? missingBinary('ip', 'nft', 'curl', 'python3', 'wireguard-go', 'wg');
  if (missing) {
    b.note(`paths: skipped (${missing})`);
    return;
  }
  // no I1 firewall in the customer namespace: wireguard-go delivers the TCP connection into it from outside
  const ov = await startOverlay({
    mib: MIB,
    routeCustomerLan: false,
    inboundDrop: false,
  });
  const procs: LabProcess[] = [];
  const wgs: WgGo[] = [];
  try {
    // ── time to a direct path, from the first stream ──
    const t0 = Date.now();
    const first = download(ov, `http://${NAME}/big.bin`, true);
    let p;
    for (const end = Date.now() + 15_000; Date.now() < end; await sleep(100)) {
      p = await ov.engPeer();
      if (p?.path.kind === 'direct') break;
    }
    await first;
    if (p?.path.kind !== 'direct' || !p.pathChange) throw new Error(`no direct path: ${JSON.stringify(p)}`);
    b.report({
      name: 'time to a direct path from the first stream, lower is better',
      value: Date.parse(p.pathChange.at) - t0,
      unit: 'ms',
    });

    // ── wireguard-go between the same namespaces, through the same NATs ──
    // wireguard-go has no NAT traversal of its own: its first handshake reaching the other bare
    // router is recorded there as a flow to the router and spoils the tuple (as the netlab tests
    // show for our agents with opens off), so its port alone gets an input firewall on both routers
    for (const site of ['custrtr', 'engrtr'] as const)
      await ov.lab.exec(site, ['nft', '-f', '-'], {
        input: [
          'table inet bench_wg {',
          '  chain input {',
          '    type filter hook input priority filter; policy accept;',
          `    udp dport ${WG_PORT} ct state new drop`,
          '  }',
          '}',
        ].join('\n'),
      });
    const kc = PrivateKey.generate();
    const ke = PrivateKey.generate();
    wgs.push(
      await WgGo.start(ov.lab.lab, {
        ns: ov.lab.ns.customer,
        label: 'wgc',
        privateKey: kc,
        listenPort: WG_PORT,
        tunCidr: `${TUN_C}/24`,
        peer: {
          publicKey: ke.publicKey,
          allowedIps: `${TUN_E}/32`,
          endpoint: `${ov.lab.addr.engrtrWan}:${WG_PORT}`,
        },
      }),
    );
    wgs.push(
      await WgGo.start(ov.lab.lab, {
        ns: ov.lab.ns.engineer,
        label: 'wge',
        privateKey: ke,
        listenPort: WG_PORT,
        tunCidr: `${TUN_E}/24`,
        peer: {
          publicKey: kc.publicKey,
          allowedIps: `${TUN_C}/32`,
          endpoint: `${ov.lab.addr.custrtrWan}:${WG_PORT}`,
        },
      }),
    );
    procs.push(
      ov.lab.spawn('customer', [
        'python3',
        '-m',
        'http.server',
        '8081',
        // every address of the namespace: binding the tunnel address could race its assignment
        '--bind',
        '0.0.0.0',
        '--directory',
        join(ov.lab.dir, 'www'),
      ]),
    );
    // both sides send, so both NATs map the WireGuard port before the other's handshake arrives
    for (let i = 0; ; i++) {
      await ov.lab.exec('customer', ['curl', '-s', '--max-time', '1', `http://${TUN_E}:9/`], {
        allowFailure: true,
      });
      const r = await ov.lab.exec(
        'engineer',
        ['curl', '-s', '--max-time', '2', '-o', '/dev/null', `http://${TUN_C}:8081/`],
        {
          allowFailure: true,
        },
      );
      if (r.code === 0) break;
      if (i > 8) {
        const show = async (w: WgGo) => JSON.stringify(await w.show('dump'));
        const ct = async (site: 'custrtr' | 'engrtr') =>
          (await ov.lab.exec(site, ['conntrack', '-L', '-p', 'udp'], { allowFailure: true })).stdout;
        throw new Error(
          `wireguard-go: no tunnel through the NATs\n${await show(wgs[0])}\n${await show(wgs[1])}\n${await ct('custrtr')}\n${await ct('engrtr')}\n${wgs[0].proc.output().slice(-1500)}\n${procs[0].output()}`,
        );
      }
    }

    // ── throughput, one stream, alternating ours and wireguard-go ──
    const ours: number[] = [];
    const wg: number[] = [];
    const sizes: (number | null)[] = [];
    // the connector sends the download: its stream layer's losses towards the engineer, running total
    const lost: string[] = [];
    for (let i = 0; i < 3; i++) {
      ours.push(await download(ov, `http://${NAME}/big.bin`, true));
      sizes.push((await ov.engPeer())?.pathDatagramSize ?? null);
      const l = (await ov.connStatus()).peers[0]?.lost;
      lost.push(l ? `${l.packets}/${(l.retransmittedBytes / 1e6).toFixed(1)} MB` : '?');
      wg.push(await download(ov, `http://${TUN_C}:8081/big.bin`, false));
    }
    const still = await ov.engPeer();
    if (still?.path.kind !== 'direct') throw new Error('the path left direct during the runs');
    const med = (xs: number[]) => [...xs].sort((a, c) => a - c)[Math.floor(xs.length / 2)];
    b.note(
      `paths: ours ${ours.map((x) => (x / 1e6).toFixed(0)).join(', ')} MB/s (datagram size after each: ${sizes.join(', ')}; connector's packets lost/bytes resent so far: ${lost.join(', ')}); wireguard-go ${wg.map((x) => (x / 1e6).toFixed(0)).join(', ')} MB/s`,
    );
    b.report(
      {
        name: `one stream on the direct path through NAT, ${MIB} MiB over SOCKS5 (peer: wireguard-go, curl over the tunnel)`,
        value: med(ours) / 1e6,
        unit: 'MB/s',
        baseline: med(wg) / 1e6,
      },
      goals.ratioAtLeast(1.0, '≥ 1.0×'),
    );

    // ── the same stream on the relay path: UDP dropped by the customer's router ──
    await ov.lab.dropUdp('custrtr');
    for (const end = Date.now() + 20_000; ; await sleep(200)) {
      const p = await ov.engPeer();
      if (p?.path.kind === 'relay') break;
      if (Date.now() > end) throw new Error(`the path did not fall back to the relay: ${JSON.stringify(p)}`);
    }
    const relayed: number[] = [];
    for (let i = 0; i < 3; i++) relayed.push(await download(ov, `http://${NAME}/big.bin`, true));
    if ((await ov.engPeer())?.path.kind !== 'relay')
      throw new Error('the path left the relay during the runs');
    b.note(`paths: relay ${relayed.map((x) => (x / 1e6).toFixed(0)).join(', ')} MB/s`);
    b.report(
      {
        name: `the same stream on the relay path, same host and run (peer: our direct path above)`,
        value: med(relayed) / 1e6,
        unit: 'MB/s',
        baseline: med(ours) / 1e6,
      },
      goals.ratioAtMost(1.0, '≤ 1.0× (direct not slower than the relay)'),
    );
  } finally {
    for (const w of wgs) await w.stop().catch(() => {});
    for (const p of procs) await p.stop().catch(() => {});
    await ov.lab.cleanup();
  }
}
