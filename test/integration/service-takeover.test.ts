// Two real connectors of one deployment register the same service: the second is refused, logs it
// and shows it in `sallyport status`; once the first connector's key is revoked, the second's next
// registration takes the service.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Agent } from '../../src/agent/index.ts';
import { PublicKey } from '../../src/crypto/index.ts';
import { formatStatus } from '../../src/cli/status.ts';
import { Harness, LogSink, waitFor } from '../../src/testing/harness.ts';
import { routes } from '../../src/control/index.ts';

describe('a connector cannot take over another connector’s service', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start();
    await h.deployment('acme-prod');
  });
  after(() => h.stop());

  test('refused, logged, in status; free once the holder is revoked', async () => {
    const svc = { name: 'echo', kind: 'tcp' as const, address: '127.0.0.1:7', tls: 'passthrough' as const };
    const a = await h.connector({ deployment: 'acme-prod', services: [svc], name: 'conn-a' });
    const logs = new LogSink('info');
    const b = new Agent({
      clock: h.clock,
      stateDir: join(h.dir, 'conn-b'),
      coordinator: h.coordinator.url,
      coordinatorKey: PublicKey.fromBase64(h.coordinator.publicKey),
      ca: h.ca,
      name: 'conn-b',
      logger: logs.logger,
      kind: 'connector',
      preauthKey: await h.preauthKey({ deployment: 'acme-prod' }),
      services: [{ ...svc, address: '127.0.0.1:9' }],
      serviceRetryMs: 200,
    });
    h.agents.push({ agent: b, logs, stateDir: join(h.dir, 'conn-b'), name: 'conn-b' });
    await b.start();
    await waitFor(() => b.status().serviceRefusals.length > 0, 10_000, 'the refusal in B’s status');
    const [r] = b.status().serviceRefusals;
    assert.equal(r.service, 'echo');
    assert.equal(r.code, 'SERVICE_TAKEN');
    assert.match(formatStatus(b.status()), /service echo NOT REGISTERED \(SERVICE_TAKEN\)/);
    assert.ok(
      logs.lines.some((l) => l.code === 'SERVICE_TAKEN' && l.service === 'echo'),
      'B logs the refusal',
    );
    const views = await h.api.route(routes.servicesList);
    assert.equal(views.find((v) => v.name === 'echo')!.connectorKey, a.agent.publicKey.base64());

    await h.api.route(routes.nodesRevoke, { body: { key: a.agent.publicKey.base64() } });
    await waitFor(
      () =>
        b.netmap?.services.some((s) => s.name === 'echo' && s.connectorKey === b.publicKey.base64()) ?? false,
      10_000,
      'B serving echo after A’s revocation',
    );
    assert.deepEqual(b.status().serviceRefusals, []);
  });
});
