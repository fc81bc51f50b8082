// Just-in-time access in the netlab (issue 6, "End to end … in the netlab"): every party in its own
// namespace behind real NAT, the real CLI in each. alice (engineer namespace) has no standing grant:
// the engineer and the connector do not see each other. She requests; bob (vendor namespace)
// approves; she fetches a certificate (key made in her namespace) and curl through her SOCKS5
// proxy reaches a TLS-terminating service with it. An extension moves the grant's end: her first
// certificate, past its notAfter, is refused over the same valid session, a new one works. At the
// grant's end an open stream (a server that writes a line every 100 ms, like `logs -f`) dies
// within 1 s at curl, the connector stops sending, a new stream is refused, and the connector's
// netmap no longer lists her. (A bulk download is not the measure: what the kernel already
// delivered into curl's socket buffer before the end stays readable after it.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { needs, rootMissing } from '../../src/testing/require.ts';
import { missingBinary } from '../../src/testing/netns.ts';
import { sha256, sleep, startOverlay, type Overlay } from './overlay.ts';

const SECURE = 'secure.acme-prod.us-east-1.aws.byoc.test';
const DRIP = 'drip.acme-prod.us-east-1.aws.byoc.test';
/** An HTTP server that writes a line every 100 ms until the client goes away. */
const DRIP_SERVER = [
  'import http.server, time',
  'class H(http.server.BaseHTTPRequestHandler):',
  '    def do_GET(self):',
  '        self.send_response(200)',
  "        self.send_header('content-type', 'text/plain')",
  '        self.end_headers()',
  '        try:',
  '            while True:',
  "                self.wfile.write(b'tick\\n')",
  '                self.wfile.flush()',
  '                time.sleep(0.1)',
  '        except Exception:',
  '            pass',
  '    def log_message(self, *a):',
  '        pass',
  "http.server.ThreadingHTTPServer(('127.0.0.1', 8081), H).serve_forever()",
].join('\n');

test(
  'request, approval, certificate, extension and expiry across real NAT',
  { timeout: 240_000 },
  async (t) => {
    if (!needs(t, rootMissing() ?? missingBinary('ip', 'nft', 'curl', 'python3'))) return;
    const ov: Overlay = await startOverlay({
      mib: 16,
      standingGrant: false,
      serve: [
        'web=127.0.0.1:8080,kind=http,tls=passthrough',
        'secure=127.0.0.1:8080,kind=http,tls=terminate',
        'drip=127.0.0.1:8081,kind=http,tls=terminate',
      ],
    });
    t.after(() => ov.lab.cleanup());
    const { lab } = ov;
    lab.spawn('customer', ['python3', '-c', DRIP_SERVER]);
    const admin = (...a: string[]) => lab.cli('vendor', ['admin', ...a], { env: ov.env });
    await lab.cli('vendor', ['admin', 'users', 'create', 'bob'], {
      env: { ...ov.env, SALLYPORT_NEW_PASSWORD: 'bob-password-1234' },
    });
    await admin('groups', 'create', 'oncall');
    await admin('groups', 'add', 'oncall', 'alice');
    await admin('groups', 'create', 'sre-leads');
    await admin('groups', 'add', 'sre-leads', 'bob');
    const policy = lab.file(
      'policy.json',
      JSON.stringify({
        version: 1,
        policies: [
          {
            id: 'oncall',
            requesters: ['oncall'],
            deployments: '*',
            services: '*',
            access: 'read-only',
            maxDuration: '2h',
            pendingFor: '10m',
            approval: { group: 'sre-leads', threshold: 1 },
          },
        ],
      }),
    );
    await admin('policy', 'set', policy);
    const login = async (site: 'engineer' | 'vendor', user: string, password: string) =>
      (
        await lab.cli(site, ['admin', 'login', '--user', user], {
          env: { SALLYPORT_SERVER: ov.url, SALLYPORT_CA: ov.caFile, SALLYPORT_PASSWORD: password },
        })
      ).stdout.trim();
    const alice = {
      SALLYPORT_SERVER: ov.url,
      SALLYPORT_CA: ov.caFile,
      SALLYPORT_TOKEN: await login('engineer', 'alice', 'alice-password-123'),
    };
    const bob = { ...alice, SALLYPORT_TOKEN: await login('vendor', 'bob', 'bob-password-1234') };
    const as = (env: Record<string, string>, site: 'engineer' | 'vendor', ...a: string[]) =>
      lab.cli(site, a, { env, allowFailure: true });

    // Without a grant: neither side lists the other, and the tailnet name does not resolve.
    assert.equal((await ov.engStatus()).peers.length, 0);
    assert.equal((await ov.connStatus()).peers.length, 0);
    const socks = ['--socks5-hostname', '127.0.0.1:1055'];
    const none = await lab.exec(
      'engineer',
      ['curl', '-sS', '--max-time', '5', ...socks, `https://${SECURE}/`],
      {
        allowFailure: true,
      },
    );
    assert.notEqual(none.code, 0);

    // Request (alice) → approve (bob); the connector appears.
    const req = await as(
      alice,
      'engineer',
      'request',
      'acme-prod',
      '--service',
      'secure',
      '--service',
      'drip',
      '--reason',
      'INC-42 netlab',
      '--for',
      '25s',
      '--json',
    );
    assert.equal(req.code, 0, req.stderr);
    const r = JSON.parse(req.stdout) as { id: string; grantId: string };
    assert.equal((await as(alice, 'engineer', 'approve', r.id)).code, 1, 'no self-approval');
    const ok = await as(bob, 'vendor', 'approve', r.id);
    assert.equal(ok.code, 0, ok.stderr);
    for (let i = 0; (await ov.engStatus()).peers.length !== 1; i++) {
      assert.ok(i < 100, 'the connector appears in the engineer netmap');
      await sleep(100);
    }

    // Certificate A (key made here, in the engineer namespace); curl with it works.
    const dirA = join(lab.dir, 'cert-a');
    assert.equal((await as(alice, 'engineer', 'cert', r.grantId, '--out', dirA)).code, 0);
    const mtls = (dir: string) => [
      '--cert',
      join(dir, 'cert.pem'),
      '--key',
      join(dir, 'key.pem'),
      '--cacert',
      join(dir, 'ca.pem'),
    ];
    const get = (dir: string, extra: string[] = [], out = join(lab.dir, `o-${Math.random()}`)) =>
      lab
        .exec(
          'engineer',
          [
            'curl',
            '-sS',
            '--max-time',
            '60',
            ...extra,
            ...mtls(dir),
            ...socks,
            `https://${SECURE}/big.bin`,
            '-o',
            out,
          ],
          {
            allowFailure: true,
            timeoutMs: 70_000,
          },
        )
        .then((x) => ({ ...x, out }));
    const a1 = await get(dirA);
    assert.equal(a1.code, 0, a1.stderr);
    const { readFileSync } = await import('node:fs');
    assert.equal(sha256(readFileSync(a1.out)), sha256(ov.big));

    // Extension (approved by bob): the grant outlives certificate A.
    const x = await as(alice, 'engineer', 'extend', r.grantId, '--for', '20s', '--reason', 'more time');
    assert.equal(x.code, 0, x.stderr);
    const xid = /extension (\S+) pending/.exec(x.stdout)![1];
    assert.equal((await as(bob, 'vendor', 'approve', '--extension', xid)).code, 0);
    const grantEnd = async () =>
      (
        JSON.parse((await as(alice, 'engineer', 'grants', '--json')).stdout) as { id: string; end: number }[]
      ).find((g) => g.id === r.grantId)!.end;
    const certAEnd = Date.parse(
      (
        await lab.exec('engineer', ['openssl', 'x509', '-noout', '-enddate', '-in', join(dirA, 'cert.pem')])
      ).stdout
        .trim()
        .replace('notAfter=', ''),
    );
    const end = await grantEnd();
    assert.ok(end > certAEnd + 10_000, 'the extension moved the end past certificate A');
    await sleep(Math.max(0, certAEnd - Date.now()) + 500);
    const a2 = await get(dirA);
    assert.notEqual(a2.code, 0, 'certificate A past its notAfter is refused over the same session');
    assert.equal((await ov.engStatus()).peers.length, 1, 'the session and the peer are still there');
    const dirB = join(lab.dir, 'cert-b');
    assert.equal((await as(alice, 'engineer', 'cert', r.grantId, '--out', dirB)).code, 0);
    const b1 = await get(dirB);
    assert.equal(b1.code, 0, b1.stderr);

    // An open stream across the end dies within 1 s of it, at curl.
    const dripOut = join(lab.dir, 'drip.txt');
    const drip = lab
      .exec(
        'engineer',
        ['curl', '-sS', '-N', '--max-time', '60', ...mtls(dirB), ...socks, `https://${DRIP}/`, '-o', dripOut],
        { allowFailure: true, timeoutMs: 70_000 },
      )
      .then((res) => ({ ...res, at: Date.now() }));
    const res = await drip;
    assert.notEqual(res.code, 0, 'the open stream was cut');
    assert.match(readFileSync(dripOut, 'utf8'), /^(tick\n){5,}/, 'it was flowing before the end');
    const late = res.at - end;
    t.diagnostic(`stream cut ${late} ms after the grant end (curl exit)`);
    assert.ok(
      late > -1100 && late < 1000,
      `cut within 1 s of the end (${late} ms)\n${ov.connector.output().slice(-3000)}\n${ov.engineer.output().slice(-3000)}`,
    );

    // After the end: a new stream is refused and the connector's netmap no longer lists alice.
    const after = await get(dirB);
    assert.notEqual(after.code, 0);
    for (let i = 0; (await ov.connStatus()).peers.length !== 0; i++) {
      assert.ok(i < 50, 'the engineer leaves the connector netmap');
      await sleep(100);
    }
  },
);
