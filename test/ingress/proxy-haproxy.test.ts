// The allow list decided on the real client address behind a load balancer: Debian's haproxy
// (`send-proxy-v2`) in front of `sallyport ingress`, both in a namespace "lb"; clients in their own
// namespaces — one allowed (IPv4 and IPv6), one refused — reach haproxy over veth links. The
// ingress also listens where clients could reach it directly: such a connection carries no PROXY
// header from a listed balancer and is refused, so the client address cannot be spoofed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSelfSigned } from '../../src/pki/index.ts';
import { needs, rootMissing } from '../../src/testing/require.ts';
import { NetnsLab, missingBinary } from '../../src/testing/netns.ts';
import { sallyportArgv } from '../../src/testing/netlab.ts';
import { sleep } from '../../src/testing/ports.ts';
import { metric } from './helpers.ts';

const NAME = 'ch.acme.test';
const HA = 8443; // haproxy, on the lb's link addresses
const ING = 9443; // the ingress, on every lb address
const BACKEND = 8123;
const MPORT = 9464;

test(
  'haproxy send-proxy-v2: allowed and refused clients from other namespaces, IPv6, no spoofing around the balancer',
  { timeout: 120_000 },
  async (t) => {
    if (!needs(t, rootMissing() ?? missingBinary('ip', 'haproxy', 'curl', 'python3'))) return;
    const dir = mkdtempSync(join(tmpdir(), 'sallyport-ingress-ha-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const lab = await NetnsLab.create({ prefix: 'spi' });
    t.after(() => lab.cleanup());
    const lb = await lab.namespace('lb');
    const good = await lab.namespace('good');
    const bad = await lab.namespace('bad');
    const s1 = await lab.freeSubnet(30);
    const s2 = await lab.freeSubnet(30);
    await lab.veth(
      { label: 'g', ns: good, cidr: `${s1.hosts[1]}/30` },
      { label: 'lg', ns: lb, cidr: `${s1.hosts[0]}/30` },
    );
    await lab.veth(
      { label: 'b', ns: bad, cidr: `${s2.hosts[1]}/30` },
      { label: 'lb', ns: lb, cidr: `${s2.hosts[0]}/30` },
    );
    // IPv6 on the good link (nodad: usable at once)
    await lab.exec(good, ['ip', '-6', 'addr', 'add', 'fd99:1::2/64', 'dev', lab.ifname('g'), 'nodad']);
    await lab.exec(lb, ['ip', '-6', 'addr', 'add', 'fd99:1::1/64', 'dev', lab.ifname('lg'), 'nodad']);

    const cert = await createSelfSigned({ commonName: NAME, dnsNames: [NAME] });
    writeFileSync(join(dir, 'ca.pem'), cert.certPem);
    writeFileSync(join(dir, 'tls.crt'), cert.certPem);
    writeFileSync(join(dir, 'tls.key'), cert.keyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'index.html'), 'the backend\n');
    writeFileSync(
      join(dir, 'haproxy.cfg'),
      [
        'global',
        '  maxconn 256',
        'defaults',
        '  mode tcp',
        '  timeout connect 5s',
        '  timeout client 30s',
        '  timeout server 30s',
        'frontend fe',
        `  bind ${s1.hosts[0]}:${HA}`,
        `  bind ${s2.hosts[0]}:${HA}`,
        `  bind [fd99:1::1]:${HA}`,
        '  default_backend ingress',
        'backend ingress',
        `  server ing 127.0.0.1:${ING} send-proxy-v2`,
        '',
      ].join('\n'),
    );
    lab.spawn(lb, [
      'python3',
      '-m',
      'http.server',
      String(BACKEND),
      '--bind',
      '127.0.0.1',
      '--directory',
      dir,
    ]);
    const ing = lab.spawn(
      lb,
      sallyportArgv([
        'ingress',
        '--data',
        join(dir, 'data'),
        '--listen',
        `0.0.0.0:${ING}`,
        '--route',
        `${NAME}=127.0.0.1:${BACKEND}`,
        '--allow',
        `${s1.hosts[1]}/32`,
        '--allow',
        'fd99:1::/64',
        '--proxy-from',
        '127.0.0.1',
        '--tls-cert',
        join(dir, 'tls.crt'),
        '--tls-key',
        join(dir, 'tls.key'),
        '--metrics-listen',
        `127.0.0.1:${MPORT}`,
      ]),
    );
    for (let i = 0; !/ingress listening/.test(ing.output()); i++) {
      assert.ok(i < 300 && ing.child.exitCode === null, `ingress did not start:\n${ing.output()}`);
      await sleep(100);
    }
    lab.spawn(lb, ['haproxy', '-db', '-f', join(dir, 'haproxy.cfg')]);
    await sleep(1000);

    const curl = (ns: string, host: string, port: number) =>
      lab.exec(
        ns,
        [
          'curl',
          '-sS',
          '--max-time',
          '5',
          '--cacert',
          join(dir, 'ca.pem'),
          '--resolve',
          `${NAME}:${port}:${host}`,
          `https://${NAME}:${port}/index.html`,
        ],
        { allowFailure: true },
      );
    // allowed, IPv4 and IPv6, through haproxy
    const v4 = await curl(good, s1.hosts[0], HA);
    assert.equal(v4.stdout, 'the backend\n', v4.stderr);
    const v6 = await curl(good, '[fd99:1::1]', HA);
    assert.equal(v6.stdout, 'the backend\n', v6.stderr);
    // refused: the other namespace's address is on no list
    const refused = await curl(bad, s2.hosts[0], HA);
    assert.notEqual(refused.code, 0);
    assert.equal(refused.stdout, '');
    // around the balancer, straight to the ingress: no PROXY header from a listed balancer
    const direct = await curl(good, s1.hosts[0], ING);
    assert.notEqual(direct.code, 0);
    const m = (await lab.exec(lb, ['curl', '-s', `http://127.0.0.1:${MPORT}/metrics`])).stdout;
    assert.equal(
      metric(m, /sallyport_ingress_refused_total\{listener="[^"]+",reason="not-allowed"\} (\d+)/),
      1,
    );
    assert.equal(
      metric(m, /sallyport_ingress_refused_total\{listener="[^"]+",reason="proxy-untrusted"\} (\d+)/),
      1,
    );
    assert.equal(metric(m, /sallyport_ingress_proxied_total\{route="[^"]+"\} (\d+)/), 2);
    // the refusal names the real client, not haproxy's address
    assert.match(
      ing.output(),
      new RegExp(`"reason":"not-allowed","client":"${s2.hosts[1].replace(/\./g, '\\.')}"`),
    );
  },
);
