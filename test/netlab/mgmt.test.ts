// The management path in the netlab, with the real CLI in namespaces: the customer's "public"
// Kubernetes endpoint is a TLS listener on the customer router's WAN address (an nftables counter
// on that router counts every new connection to it: the packet counter on the public route), and
// the private one is the connector's `k8s` service. The vendor's management machine is the
// engineer namespace's agent. The overlay is then cut (the relay stopped, UDP dropped at the
// customer router): `private` makes no public connection at all; the fallback, with a reason,
// records the break-glass (vendor audit, the customer's webhook) and only then connects publicly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createSelfSigned } from '../../src/pki/index.ts';
import { buildKubeconfig } from '../../src/cli/kubeconfig.ts';
import { needs, rootMissing } from '../../src/testing/require.ts';
import { missingBinary } from '../../src/testing/netns.ts';
import { sleep, startOverlay } from './overlay.ts';

const K8S = 'k8s.acme-prod.us-east-1.aws.byoc.test';
const HOOK_PORT = 8099;

test(
  'netlab: private never touches the public route; the fallback is a recorded break-glass',
  { timeout: 240_000 },
  async (t) => {
    if (!needs(t, rootMissing() ?? missingBinary('ip', 'nft', 'curl', 'python3', 'openssl', 'kubectl')))
      return;
    const ov = await startOverlay({
      mib: 1,
      routeCustomerLan: false,
      serve: ['k8s=127.0.0.1:6443,kind=tcp,tls=passthrough'],
    });
    t.after(() => ov.lab.cleanup());
    const lab = ov.lab;
    const wan = lab.addr.custrtrWan;
    const pair = await createSelfSigned({ commonName: 'k8s-api', dnsNames: ['k8s-api.acme.test'] });
    const crt = lab.file('api.crt', pair.certPem);
    const key = lab.file('api.key', pair.keyPem);
    // the private API server (behind the connector) and the public endpoint (on the router's WAN side)
    lab.spawn('customer', [
      'openssl',
      's_server',
      '-quiet',
      '-www',
      '-accept',
      '127.0.0.1:6443',
      '-cert',
      crt,
      '-key',
      key,
    ]);
    lab.spawn('custrtr', [
      'openssl',
      's_server',
      '-quiet',
      '-www',
      '-accept',
      `${wan}:6443`,
      '-cert',
      crt,
      '-key',
      key,
    ]);
    await lab.exec('custrtr', ['nft', '-f', '-'], {
      input: [
        'table inet mgmt_public {',
        '  chain input {',
        '    type filter hook input priority filter; policy accept;',
        '    tcp dport 6443 ct state new counter',
        '  }',
        '}',
      ].join('\n'),
    });
    const publicConnections = async () => {
      const r = await lab.exec('custrtr', ['nft', 'list', 'chain', 'inet', 'mgmt_public', 'input']);
      return Number(/counter packets (\d+)/.exec(r.stdout)?.[1] ?? NaN);
    };
    // the customer's webhook receiver, reachable from the coordinator
    const hookFile = join(lab.dir, 'hook.txt');
    const hook = lab.file(
      'hook.py',
      [
        'import http.server, sys',
        'class H(http.server.BaseHTTPRequestHandler):',
        '    def do_POST(self):',
        "        n = int(self.headers.get('content-length', 0))",
        `        open(${JSON.stringify(hookFile)}, 'ab').write(self.rfile.read(n) + b'\\n')`,
        '        self.send_response(200); self.end_headers()',
        '    def log_message(self, *a): pass',
        `http.server.HTTPServer(('${lab.addr.vendor}', ${HOOK_PORT}), H).serve_forever()`,
      ].join('\n'),
    );
    lab.spawn('vendor', ['python3', hook]);
    await sleep(500);

    // the management machine: the engineer's agent (alice, with a standing grant on acme-prod)
    const alice = (
      await lab.cli('engineer', ['admin', 'login', '--user', 'alice'], {
        env: { SALLYPORT_SERVER: ov.url, SALLYPORT_CA: ov.caFile, SALLYPORT_PASSWORD: 'alice-password-123' },
      })
    ).stdout.trim();
    const env = {
      SALLYPORT_SERVER: ov.url,
      SALLYPORT_CA: ov.caFile,
      SALLYPORT_TOKEN: alice,
      SALLYPORT_STATE: ov.engState,
    };
    const kc = (server: string, proxy?: string) =>
      buildKubeconfig({
        name: 'acme-prod',
        server,
        caPem: pair.certPem,
        certFile: crt,
        keyFile: key,
        ...(proxy ? { proxyUrl: proxy } : {}),
      });
    const overlayKc = lab.file('overlay.yaml', kc(`https://${K8S}`, 'socks5://127.0.0.1:1055'));
    const publicKc = lab.file('public.yaml', kc('https://203.0.113.1:6443'));
    const mgmt = (extra: string[] = []) =>
      lab.cli(
        'engineer',
        [
          'mgmt',
          'kubectl',
          'acme-prod',
          '--overlay-kubeconfig',
          overlayKc,
          '--public-kubeconfig',
          publicKc,
          '--probe-timeout',
          '3000',
          ...extra,
          '--',
          'get',
          '--raw',
          '/version',
          '--request-timeout=3s',
        ],
        { env, allowFailure: true },
      );

    // private (the default), overlay up
    const up = await mgmt();
    t.diagnostic(up.stderr.split('\n')[0]);
    assert.match(up.stderr, /acme-prod through the overlay/);
    assert.equal(await publicConnections(), 0);

    // cut the overlay: no relay, no UDP between the sites
    await ov.relay.stop();
    await lab.dropUdp('custrtr');
    await sleep(7500); // the direct path's trust period runs out
    const priv = await mgmt(['--reason', 'INC-9 the overlay is down']);
    t.diagnostic(priv.stderr.trim());
    assert.equal(priv.code, 1);
    assert.match(
      priv.stderr,
      /the overlay is down \(.+\) and acme-prod's management path is private: the public endpoint is never used/,
    );
    assert.equal(await publicConnections(), 0, 'private: not one connection on the public route');

    // the customer allows the fallback (the vendor's administrator records it)
    const set = await lab.cli(
      'vendor',
      [
        'admin',
        'deployments',
        'management',
        'acme-prod',
        '--mode',
        'private-with-public-fallback',
        '--public-server',
        `https://${wan}:6443`,
        '--customer-webhook',
        `http://${lab.addr.vendor}:${HOOK_PORT}/hook`,
      ],
      { env: ov.env },
    );
    assert.equal(set.code, 0, set.stderr);
    const noWhy = await mgmt();
    assert.equal(noWhy.code, 2);
    assert.equal(await publicConnections(), 0);
    const bg = await mgmt(['--reason', 'INC-9 pods crash-looping, overlay down']);
    t.diagnostic(bg.stderr.split('\n')[0]);
    assert.match(bg.stderr, /BREAK-GLASS recorded at .*through its PUBLIC endpoint https:\/\//);
    assert.ok((await publicConnections()) >= 1, 'the fallback used the public route');
    const audit = JSON.parse(
      (await lab.cli('vendor', ['audit', 'list', '--json'], { env: ov.env })).stdout,
    ) as {
      action: string;
      actor: string;
      details: { reason?: string };
    }[];
    const rec = audit.filter((a) => a.action === 'mgmt.break-glass');
    assert.equal(rec.length, 1);
    assert.equal(rec[0].actor, 'user:alice');
    assert.equal(rec[0].details.reason, 'INC-9 pods crash-looping, overlay down');
    let body = '';
    for (let i = 0; i < 50 && !body; i++) {
      body = (await lab.exec('vendor', ['cat', hookFile], { allowFailure: true })).stdout;
      if (!body) await sleep(100);
    }
    assert.match(body, /alice used the public management endpoint of acme-prod \(k8s\)/);
  },
);
