// Defence in depth (fail closed, issue 13): whatever the config says, the router never pipes raw
// bytes to a service whose kind has a target proxy. Config checks refuse these at start; this
// shows the router refuses them too, and counts it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { FakeClock } from '../clock/index.ts';
import type { Netmap } from '../proto/control/index.ts';
import type { TargetProxy } from '../targets/index.ts';
import type { ServiceSpec } from './config.ts';
import { AgentMetrics } from './metrics.ts';
import { REFUSE_NO_TARGET, Router } from './router.ts';

const SELF = 'c'.repeat(44);
const PEER = 'p'.repeat(44);

function netmap(kind: string, tlsMode: string): Netmap {
  return {
    self: { key: SELF, deployment: 'd' },
    services: [{ name: 's', kind, address: '127.0.0.1:1', tlsMode, connectorKey: SELF, tailnetName: 's.d' }],
    grants: [{ id: 'g1', peerKey: PEER, user: 'alice', services: ['s'], notBefore: 0, notAfter: null }],
    peers: [],
  } as unknown as Netmap;
}

test('a kind with a target proxy is never piped raw: passthrough or no proxy → refused no-target', async () => {
  const proxy: TargetProxy = { serve() {}, close: async () => {} };
  const rows: [ServiceSpec['kind'], ServiceSpec['tls'], boolean, string | undefined][] = [
    ['clickhouse', 'passthrough', false, 'no-target'],
    ['clickhouse', 'passthrough', true, 'no-target'],
    ['clickhouse', 'terminate', false, 'no-target'],
    ['prometheus', 'passthrough', true, 'no-target'],
    ['kubernetes', 'terminate', false, 'no-target'],
    // Not refused for a missing target: tcp/http have none (terminate then needs a certificate).
    ['tcp', 'terminate', false, 'no-certificate'],
  ];
  for (const [kind, tls, withProxy, want] of rows) {
    const metrics = new AgentMetrics();
    const nm = netmap(kind, tls);
    const r = new Router({
      clock: new FakeClock(),
      logger: pino({ level: 'silent' }),
      metrics,
      netmap: () => nm,
      services: () => new Map([['s', { name: 's', kind, address: '127.0.0.1:1', tls }]]),
      certificate: () => undefined,
      clientTrust: () => undefined,
      proxy: () => (withProxy ? proxy : undefined),
    });
    let refused: [number, string] | undefined;
    r.handle(
      {
        id: 1,
        service: 's',
        accept: () => assert.fail(`${kind}/${tls}: accepted`),
        refuse: (code, reason) => (refused = [code, reason]),
      },
      PEER,
      'eng',
    );
    const label = `${kind} tls=${tls} proxy=${withProxy}`;
    assert.equal(refused?.[1], want, label);
    if (want === 'no-target') {
      assert.equal(refused?.[0], REFUSE_NO_TARGET, label);
      assert.equal(await AgentMetrics.value(metrics.streamsRefused, { reason: 'no-target' }), 1, label);
    }
    r.stop();
  }
});
