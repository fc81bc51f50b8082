// A node revoked at the coordinator loses the relay within seconds, not at its relay token's
// expiry: the coordinator pushes its signed revocation list to the relays, which close the node's
// live connection and refuse its still-valid token from then on.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RelayClient } from '../../src/paths/index.ts';
import { Harness, waitFor } from '../../src/testing/harness.ts';
import { routes } from '../../src/control/index.ts';

describe('relay admission of a revoked node', () => {
  let h: Harness;
  before(async () => {
    h = await Harness.start();
    await h.deployment('acme-prod');
  });
  after(() => h.stop());

  test('its live relay connection closes and its valid token is refused within seconds', async () => {
    const c = await h.connector({
      deployment: 'acme-prod',
      services: [{ name: 'echo', kind: 'tcp', address: '127.0.0.1:7', tls: 'passthrough' }],
    });
    await waitFor(() => h.relay.clients === 1, 10_000, 'the connector on the relay');
    const token = Buffer.from(c.agent.netmap!.relays[0].token, 'base64');
    assert.ok(c.agent.netmap!.relays[0].tokenExpiresAt > Date.now() + 30 * 60_000, 'the token is long-lived');

    await h.api.route(routes.nodesRevoke, { body: { key: c.agent.publicKey.base64() } });
    const t0 = Date.now();
    await waitFor(() => h.relay.clients === 0, 5_000, 'the revoked connector off the relay');
    assert.ok(Date.now() - t0 < 5_000);
    assert.equal(h.relay.stats.disconnects.get('revoked'), 1);

    // A new admission with the node's key and its still-valid token is refused.
    const client = new RelayClient({
      clock: h.clock,
      url: h.relayUrl,
      ca: h.ca,
      privateKey: c.agent.nodeKey,
      getToken: () => Promise.resolve(token),
      onPacket: () => {},
      backoff: { initialMs: 50, maxMs: 200 },
    });
    try {
      client.start();
      await waitFor(() => client.stats().refusals > 0, 5_000, 'the admission refused');
      assert.equal(client.stats().admissions, 0);
      assert.ok((h.relay.stats.refusals.get('revoked') ?? 0) >= 1);
    } finally {
      await client.stop();
    }
  });
});
