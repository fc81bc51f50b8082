// The ingress's certificate from a real ACME CA (Debian's Pebble, with pebble-challtestsrv as its
// DNS answering 127.0.0.1): issued by tls-alpn-01 on the ingress's own listener — with an allow
// list that does not name the CA — and by http-01; then renewed under a client load that runs the
// whole time, with zero failed requests, new handshakes seeing the new certificate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { needs } from '../../src/testing/require.ts';
import { pebbleMissing, startPebble } from '../../src/testing/pebble.ts';
import { freePort, sleep } from '../../src/testing/ports.ts';
import { echoBackend, metric, startIngress } from './helpers.ts';

const NAME = 'ch.acme.test';

/** One request through the ingress, trusting Pebble's root; resolves with the served certificate's serial. */
function request(port: number, ca: string, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername: NAME, ca }, () => s.write(msg));
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('timeout'));
    }, 5000);
    s.on('data', (d) => {
      clearTimeout(t);
      if (String(d) !== `A:${msg}`) reject(new Error(`reply ${String(d)}`));
      else resolve(new X509Certificate(s.getPeerX509Certificate()!.raw).serialNumber);
      s.destroy();
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

for (const challenge of ['tls-alpn-01', 'http-01'] as const) {
  test(
    `ACME ${challenge}: issued, then renewed under load with no failed request`,
    { timeout: 120_000 },
    async (t) => {
      if (!needs(t, pebbleMissing())) return;
      const port = await freePort();
      const httpPort = await freePort();
      const pebble = await startPebble({ validitySeconds: 24, tlsPort: port, httpPort });
      t.after(() => pebble.stop());
      const dir = mkdtempSync(join(tmpdir(), 'sallyport-ingress-acme-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(join(dir, 'pebble-ca.pem'), pebble.listenerCa);
      const a = await echoBackend('A');
      t.after(() => a.server.close());
      const mport = await freePort();
      const ing = await startIngress(
        [
          '--data',
          dir,
          '--listen',
          `127.0.0.1:${port}`,
          '--route',
          `${NAME}=127.0.0.1:${a.port}`,
          // only 127.0.0.2: the CA's validation from 127.0.0.1 is not on the list, our clients use .2
          '--allow',
          '127.0.0.2',
          '--acme-directory',
          pebble.directoryUrl,
          '--acme-domain',
          NAME,
          '--acme-agree-tos',
          '--acme-ca',
          join(dir, 'pebble-ca.pem'),
          '--metrics-listen',
          `127.0.0.1:${mport}`,
          ...(challenge === 'http-01'
            ? ['--acme-challenge', 'http-01', '--acme-http-listen', `127.0.0.1:${httpPort}`]
            : []),
        ],
        60_000,
      );
      t.after(() => ing.stop());
      const root = await pebble.roots();
      const viaAllowed = (msg: string) =>
        new Promise<string>((resolve, reject) => {
          const s = connect(
            // localAddress is passed down to net.connect (not in ConnectionOptions' type)
            { host: '127.0.0.1', port, servername: NAME, ca: root, ...{ localAddress: '127.0.0.2' } },
            () => s.write(msg),
          );
          s.on('data', (d) => {
            if (String(d) !== `A:${msg}`) reject(new Error(`reply ${String(d)}`));
            else resolve(new X509Certificate(s.getPeerX509Certificate()!.raw).serialNumber);
            s.destroy();
          });
          s.on('error', reject);
        });
      const first = await viaAllowed('first');
      // the allow list still holds for everyone else
      await assert.rejects(request(port, root, 'x'));
      // load for up to 40 s: a request every 20 ms, until two renewals have been seen
      const serials = new Set([first]);
      let ok = 0;
      const failures: string[] = [];
      const end = Date.now() + 40_000;
      while (Date.now() < end && serials.size < 3) {
        try {
          serials.add(await viaAllowed(`r${ok}`));
          ok++;
        } catch (e) {
          failures.push((e as Error).message);
        }
        await sleep(20);
      }
      t.diagnostic(
        `${challenge}: ${ok} requests, ${failures.length} failed, ${serials.size} certificates seen`,
      );
      assert.deepEqual(failures, [], 'no request failed across renewals');
      assert.ok(serials.size >= 2, `renewed under load (certificates seen: ${serials.size})`);
      const m = await (await fetch(`http://127.0.0.1:${mport}/metrics`)).text();
      assert.ok(metric(m, /sallyport_ingress_certificate_renewals_total\{result="ok"\} (\d+)/) >= 2);
      if (challenge === 'tls-alpn-01')
        assert.ok(
          metric(m, /sallyport_ingress_acme_tls_alpn_validations_total (\d+)/) >= 2,
          'validations answered on the listener',
        );
      assert.equal(await ing.stop(), 0);
    },
  );
}
