import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { createServer } from 'node:net';
import fc from 'fast-check';
import { cidrContains, formatIp, isPrivateIp, parseCidr, parseIp } from './address.ts';
import { parseAllowList } from './allow-list.ts';
import { parseClientHello } from './client-hello.ts';
import { encodeProxyV2, parseProxyV2 } from './proxy-v2.ts';
import { Routes, parseRoute } from './routes.ts';

/** A real ClientHello, as Node's TLS client sends it. */
async function realHello(opts: { servername?: string; ALPNProtocols?: string[] }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const srv = createServer((s) => {
      const parts: Buffer[] = [];
      s.on('data', (d: Buffer) => {
        parts.push(d);
        const all = Buffer.concat(parts);
        if (parseClientHello(all).ok || all.length > 4000) {
          resolve(all);
          s.destroy();
          srv.close();
        }
      });
    });
    srv.listen(0, '127.0.0.1', () => {
      const c = connect({
        port: (srv.address() as { port: number }).port,
        host: '127.0.0.1',
        rejectUnauthorized: false,
        ...opts,
      });
      c.on('error', () => {});
    });
    srv.on('error', reject);
  });
}

describe('ClientHello', () => {
  test('SNI and ALPN from a real client; byte by byte it asks for more, never throws', async () => {
    const b = await realHello({
      servername: 'CH.Acme.Example.com',
      ALPNProtocols: ['acme-tls/1', 'http/1.1'],
    });
    const r = parseClientHello(b);
    assert.deepEqual(r, {
      ok: true,
      hello: { serverName: 'ch.acme.example.com', alpn: ['acme-tls/1', 'http/1.1'] },
    });
    for (let i = 0; i < b.length; i++)
      assert.deepEqual(parseClientHello(b.subarray(0, i)), { ok: false, need: true });
  });

  test('no SNI, no ALPN', async () => {
    const r = parseClientHello(await realHello({}));
    assert.deepEqual(r, { ok: true, hello: { serverName: undefined, alpn: [] } });
  });

  test('not TLS, garbage and mutations: an error or a need, never a throw', async () => {
    assert.match(
      (parseClientHello(Buffer.from('GET / HTTP/1.1\r\n')) as { error: string }).error,
      /not a TLS handshake/,
    );
    const real = await realHello({ servername: 'a.example' });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const r = parseClientHello(Buffer.from(bytes));
        assert.ok('ok' in r);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.nat(real.length - 1), fc.nat(255), (at, v) => {
        const m = Buffer.from(real);
        m[at] = v;
        const r = parseClientHello(m);
        assert.ok('ok' in r);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('PROXY protocol v2', () => {
  test('IPv4 and IPv6 round trip; LOCAL; incremental', () => {
    const h4 = encodeProxyV2({
      command: 'proxy',
      source: { address: '203.0.113.7', port: 51000 },
      destination: { address: '10.0.0.1', port: 8443 },
    });
    const r4 = parseProxyV2(Buffer.concat([h4, Buffer.from('rest')]));
    assert.ok(r4.ok && r4.header.command === 'proxy');
    assert.deepEqual(r4.header, {
      command: 'proxy',
      length: h4.length,
      family: 'inet',
      source: { address: '203.0.113.7', port: 51000 },
      destination: { address: '10.0.0.1', port: 8443 },
    });
    const h6 = encodeProxyV2({
      command: 'proxy',
      source: { address: '2001:db8::7', port: 1 },
      destination: { address: 'fd00::1', port: 2 },
    });
    const r6 = parseProxyV2(h6);
    assert.ok(r6.ok && r6.header.command === 'proxy' && r6.header.source.address === '2001:db8::7');
    assert.deepEqual(parseProxyV2(encodeProxyV2({ command: 'local' })), {
      ok: true,
      header: { command: 'local', length: 16 },
    });
    for (let i = 1; i < h4.length; i++)
      assert.ok(!parseProxyV2(h4.subarray(0, i)).ok && 'need' in parseProxyV2(h4.subarray(0, i)));
  });

  test('a v1 text header, a bad version, a huge length: errors; random bytes never throw', () => {
    assert.match(
      (parseProxyV2(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n')) as { error: string }).error,
      /signature/,
    );
    const bad = encodeProxyV2({ command: 'local' });
    bad[12] = 0x10;
    assert.match((parseProxyV2(bad) as { error: string }).error, /version 1/);
    const big = Buffer.from(encodeProxyV2({ command: 'local' }));
    big.writeUInt16BE(60000, 14);
    assert.match((parseProxyV2(big) as { error: string }).error, /too long/);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const sig = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
        assert.ok('ok' in parseProxyV2(Buffer.concat([sig, Buffer.from(bytes)])));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('addresses, CIDRs and the allow list', () => {
  test('parse and format; IPv4-mapped folds to IPv4', () => {
    assert.equal(formatIp(parseIp('2001:DB8:0:0:0:0:0:1')!), '2001:db8::1');
    assert.equal(formatIp(parseIp('::ffff:10.1.2.3')!), '10.1.2.3');
    assert.equal(parseIp('10.1.2'), undefined);
    assert.equal(parseCidr('10.1.2.3/8')!.text, '10.0.0.0/8');
    assert.equal(parseCidr('2001:db8::/129'), undefined);
    assert.ok(cidrContains(parseCidr('2001:db8::/32')!, parseIp('2001:db8:ffff::1')!));
    assert.ok(!cidrContains(parseCidr('10.0.0.0/8')!, parseIp('2001:db8::1')!));
    assert.ok(cidrContains(parseCidr('0.0.0.0/0')!, parseIp('::ffff:8.8.8.8')!));
    assert.ok(
      isPrivateIp(parseIp('fd12::1')!) &&
        isPrivateIp(parseIp('172.31.1.1')!) &&
        !isPrivateIp(parseIp('8.8.8.8')!),
    );
  });

  test('a file with bad lines is refused whole, each bad line named', () => {
    assert.deepEqual(
      parseAllowList('# office\n203.0.113.0/24\n\n2001:db8::/32  # v6\n', 'f').map((c) => c.text),
      ['203.0.113.0/24', '2001:db8::/32'],
    );
    assert.throws(() => parseAllowList('10.0.0.0/8\n10.0.0.0/33\nexample.com\n', 'allow.txt'), {
      code: 'INGRESS_ALLOWLIST',
      message: /allow\.txt: line 2: '10\.0\.0\.0\/33' .*; line 3: 'example\.com'/,
    });
  });
});

describe('routes', () => {
  test('exact beats wildcard beats *; a port-specific route beats a global one', () => {
    const r = new Routes(
      [
        '*=127.0.0.1:1',
        '*.acme.example=127.0.0.1:2',
        'ch.acme.example=127.0.0.1:3',
        '9440/ch.acme.example=127.0.0.1:4',
      ].map(parseRoute),
    );
    assert.equal(r.find(8443, 'ch.acme.example')!.backend.port, 3);
    assert.equal(r.find(9440, 'ch.acme.example')!.backend.port, 4);
    assert.equal(r.find(8443, 'other.acme.example')!.backend.port, 2);
    assert.equal(r.find(8443, 'a.b.acme.example')!.backend.port, 1, 'a wildcard covers one label');
    assert.equal(r.find(8443, undefined)!.backend.port, 1);
    const strict = new Routes([parseRoute('ch.acme.example=[::1]:9000')]);
    assert.equal(strict.find(8443, 'evil.example'), undefined);
    assert.equal(strict.find(8443, undefined), undefined);
    assert.equal(strict.all()[0].backend.host, '::1');
  });

  test('bad routes are refused with what to write', () => {
    assert.throws(() => parseRoute('ch.acme.example'), /wants \[PORT\/\]NAME=HOST:PORT/);
    assert.throws(() => parseRoute('ch_acme=1.2.3.4:5'), /not a DNS name/);
    assert.throws(() => parseRoute('x.example=1.2.3.4:99999'), /HOST:PORT/);
    assert.throws(() => new Routes([parseRoute('a.example=h:1'), parseRoute('A.example=h:2')]), /two routes/);
    assert.throws(() => new Routes([]), /no --route/);
  });
});
