// /metrics is not public: on the main listener it needs the metrics token (Bearer), and otherwise
// it is served only on a listener of its own (--metrics-listen, a private address).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { METRICS_TOKEN, startFixture } from './fixture.ts';
import { routes } from '../../src/control/index.ts';

test('/metrics on the main listener: 403 without a configured token, 401 with a wrong one, 200 with it', async () => {
  const f = await startFixture();
  try {
    assert.equal((await f.anon.raw('GET', '/metrics')).status, 401);
    const wrong = await f.anon.raw('GET', '/metrics', undefined, {
      authorization: `Bearer ${METRICS_TOKEN}x`,
    });
    assert.equal(wrong.status, 401);
    assert.doesNotMatch(wrong.text, /sallyport_coordinator_/);
    assert.match(
      await f.metricsText(),
      /sallyport_coordinator_api_refusals_total\{code="METRICS_REFUSED"\} 2/,
    );
  } finally {
    await f.stop();
  }
  const g = await startFixture({ metrics: { listen: { host: '127.0.0.1', port: 0 } } });
  try {
    const r = await g.anon.raw('GET', '/metrics', undefined, { authorization: `Bearer ${METRICS_TOKEN}` });
    assert.equal(r.status, 403, 'no token configured: no token opens it');
    assert.match(r.text, /--metrics-listen/);
    const port = g.coord.metricsPort!;
    assert.ok(port > 0);
    const m = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(m.status, 200);
    assert.match(await m.text(), /sallyport_coordinator_tls_certificate_expiry_timestamp_seconds \d+/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/api/v1/deployments`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 404);
  } finally {
    await g.stop();
  }
  const closed = await fetch(`http://127.0.0.1:${g.coord.metricsPort}/metrics`).catch((e: Error) => e);
  assert.ok(closed instanceof Error, 'the metrics listener closes with the coordinator');
});

test('/health names the listener certificate: source, fingerprint, notAfter', async () => {
  const f = await startFixture();
  try {
    const h = (await f.anon.routeRaw(routes.health, {})).body as {
      tls: { source: string; fingerprint: string; notAfter: string };
    };
    assert.equal(h.tls.source, 'self-signed');
    assert.equal(h.tls.fingerprint, f.coord.tls.fingerprint);
    assert.ok(Date.parse(h.tls.notAfter) > Date.now() + 300 * 86_400_000);
  } finally {
    await f.stop();
  }
});

test('a metrics token shorter than 16 characters refuses the start', async () => {
  await assert.rejects(startFixture({ metrics: { token: 'short' } }), /at least 16 characters/);
});
