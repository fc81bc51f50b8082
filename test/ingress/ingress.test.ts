// `sallyport ingress` as its own process, on loopback: SNI routes to two backends, the allow list
// (flags and a followed file, hot reload, a bad file refused and the old list kept), refusals
// counted in /metrics, a certificate file swapped on SIGHUP while a connection stays open, and the
// configurations it refuses to start with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSelfSigned } from '../../src/pki/index.ts';
import { freePort, sleep } from '../../src/testing/ports.ts';
import { echoBackend, metric, runIngress, startIngress, tlsRequest } from './helpers.ts';

async function certFiles(dir: string, name: string, cn: string) {
  const c = await createSelfSigned({
    commonName: cn,
    dnsNames: [cn, 'other.acme.test'],
  });
  writeFileSync(join(dir, `${name}.crt`), c.certPem);
  writeFileSync(join(dir, `${name}.key`), c.keyPem, { mode: 0o600 });
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`), pem: c.certPem };
}

async function scrape(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  return r.text();
}

test(
  'SNI routes, the allow list from flags and a file (hot reload, bad file kept out), refusals in /metrics, SIGHUP cert swap',
  { timeout: 90_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sallyport-ingress-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const a = await echoBackend('A');
    const b = await echoBackend('B');
    t.after(() => {
      a.server.close();
      b.server.close();
    });
    const c1 = await certFiles(dir, 'one', 'ch.acme.test');
    const [port, mport] = [await freePort(), await freePort()];
    const allowFile = join(dir, 'allow.txt');
    writeFileSync(allowFile, '# nobody yet\n');
    const ing = await startIngress([
      '--data',
      join(dir, 'data'),
      '--listen',
      `127.0.0.1:${port}`,
      '--route',
      `ch.acme.test=127.0.0.1:${a.port}`,
      '--route',
      `*.acme.test=127.0.0.1:${b.port}`,
      '--allow',
      '127.0.0.2/32',
      '--allow-file',
      allowFile,
      '--tls-cert',
      c1.cert,
      '--tls-key',
      c1.key,
      '--metrics-listen',
      `127.0.0.1:${mport}`,
    ]);
    t.after(() => ing.stop());

    // 127.0.0.1 is not on the list yet; 127.0.0.2 is (a flag)
    const refused = await tlsRequest({ port, servername: 'ch.acme.test', ca: c1.pem });
    assert.equal(refused.ok, false, 'not on the allow list: no TLS at all');
    const viaFlag = await tlsRequest({
      port,
      servername: 'ch.acme.test',
      ca: c1.pem,
      localAddress: '127.0.0.2',
    });
    assert.deepEqual(viaFlag.ok && viaFlag.reply, 'A:hello');
    let m = await scrape(mport);
    assert.equal(
      metric(m, /sallyport_ingress_refused_total\{listener="[^"]+",reason="not-allowed"\} (\d+)/),
      1,
    );

    // the file gains 127.0.0.1: allowed within a poll (5 s); SNI picks the backend
    writeFileSync(allowFile, '# office\n127.0.0.1\n::1\n');
    process.kill(ing.proc.pid!, 'SIGHUP');
    await sleep(300);
    const exact = await tlsRequest({ port, servername: 'ch.acme.test', ca: c1.pem, msg: 'q1' });
    assert.deepEqual(exact.ok && exact.reply, 'A:q1');
    const wild = await tlsRequest({ port, servername: 'other.acme.test', ca: c1.pem, msg: 'q2' });
    assert.deepEqual(wild.ok && wild.reply, 'B:q2');
    const noRoute = await tlsRequest({ port, servername: 'evil.example', msg: 'q3' });
    assert.equal(noRoute.ok, false, 'no route for the name: refused');
    const noSni = await tlsRequest({ port, msg: 'q4' });
    assert.equal(noSni.ok, false, 'no SNI and no * route: refused');
    // not TLS at all
    const plain = await new Promise<string>((resolve) => {
      import('node:net').then(({ connect }) => {
        const s = connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
        s.on('data', () => resolve('answered'));
        s.on('close', () => resolve('closed'));
        s.on('error', () => resolve('closed'));
      });
    });
    assert.equal(plain, 'closed');

    // a bad file: refused whole, the list in force stays (127.0.0.1 still allowed), counted, logged
    writeFileSync(allowFile, '127.0.0.1\n10.0.0.0/33\n');
    process.kill(ing.proc.pid!, 'SIGHUP');
    await sleep(300);
    const still = await tlsRequest({ port, servername: 'ch.acme.test', ca: c1.pem, msg: 'q5' });
    assert.deepEqual(still.ok && still.reply, 'A:q5');
    m = await scrape(mport);
    assert.equal(metric(m, /sallyport_ingress_allowlist_reloads_total\{result="failed"\} (\d+)/), 1);
    assert.match(ing.out() + ing.err(), /line 2: '10\.0\.0\.0\/33'.*allow list NOT reloaded/);
    assert.ok(metric(m, /sallyport_ingress_refused_total\{listener="[^"]+",reason="no-route"\} (\d+)/) >= 2);
    assert.equal(
      metric(m, /sallyport_ingress_refused_total\{listener="[^"]+",reason="hello-malformed"\} (\d+)/),
      1,
    );
    assert.ok(metric(m, /sallyport_ingress_bytes_total\{direction="in"\} (\d+)/) > 0);
    assert.equal(metric(m, /sallyport_ingress_allowlist_entries (\d+)/), 3);

    // a new certificate pair on SIGHUP: new handshakes get it; an open connection keeps working
    const open = await tlsRequest({
      port,
      servername: 'ch.acme.test',
      ca: c1.pem,
      msg: 'before',
      keepOpen: true,
    });
    assert.ok(open.ok);
    const c2 = await certFiles(dir, 'two', 'ch.acme.test');
    writeFileSync(c1.cert, c2.pem);
    writeFileSync(c1.key, (await import('node:fs')).readFileSync(c2.key));
    process.kill(ing.proc.pid!, 'SIGHUP');
    await sleep(500);
    const fresh = await tlsRequest({ port, servername: 'ch.acme.test', ca: c2.pem, msg: 'after' });
    assert.deepEqual(fresh.ok && fresh.reply, 'A:after', 'a new handshake gets the new certificate');
    const oldTrust = await tlsRequest({ port, servername: 'ch.acme.test', ca: c1.pem, msg: 'x' });
    assert.equal(oldTrust.ok, false, 'the old certificate is no longer served');
    if (open.ok) {
      const again = await new Promise<string>((resolve) => {
        open.socket.once('data', (d) => resolve(String(d)));
        open.socket.write('still');
      });
      assert.equal(again, 'A:still', 'the connection open across the swap keeps its session');
      open.socket.destroy();
    }
    assert.equal(await ing.stop(), 0);
  },
);

test(
  'configurations that cannot be enforced refuse to start, saying how to fix them',
  { timeout: 60_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sallyport-ingress-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const c = await certFiles(dir, 'x', 'ch.acme.test');
    const base = ['--data', dir, '--tls-cert', c.cert, '--tls-key', c.key];
    const cases: [string[], RegExp][] = [
      [
        [...base, '--listen', '127.0.0.1:0', '--route', 'a.test=127.0.0.1:1'],
        /allow list is empty.*--allow 0\.0\.0\.0\/0 --allow ::\/0/,
      ],
      [[...base, '--listen', '127.0.0.1:0', '--allow', '127.0.0.1'], /no --route/],
      [
        [...base, '--listen', '127.0.0.1:0', '--allow', '10.0.0.0/33', '--route', 'a.test=h:1'],
        /--allow: line 1: '10\.0\.0\.0\/33'/,
      ],
      [
        [
          ...base,
          '--listen',
          '0.0.0.0:0',
          '--allow',
          '10.0.0.0/8',
          '--route',
          'a.test=h:1',
          '--private-only',
        ],
        /--private-only: the listener 0\.0\.0\.0:0 is not on a private address/,
      ],
      [
        [...base, '--listen', '127.0.0.1:8443', '--allow', '127.0.0.1', '--route', '9440/a.test=h:1'],
        /no --listen on port 9440/,
      ],
      [
        ['--data', dir, '--listen', '127.0.0.1:0', '--allow', '127.0.0.1', '--route', 'a.test=h:1'],
        /a certificate is required/,
      ],
      [
        [
          ...base,
          '--listen',
          '127.0.0.1:0',
          '--allow',
          '127.0.0.1',
          '--route',
          'a.test=h:1',
          '--acme-challenge',
          'dns-01',
        ],
        /--acme-challenge takes tls-alpn-01 or http-01/,
      ],
    ];
    for (const [args, re] of cases) {
      const r = await runIngress(args);
      assert.equal(r.code, 2, `${args.join(' ')}\n${r.stderr}`);
      assert.match(r.stderr, re);
    }
  },
);
