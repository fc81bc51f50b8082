// `--stun HOST:PORT` (AgentOptions.udp.stunServers): the agent also asks configured STUN servers,
// after the relays' STUN ports, and reports what each saw in `status`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { answerBinding } from '../../src/proto/stun/index.ts';
import { Harness } from '../../src/testing/harness.ts';

test('a configured STUN server is asked, and its answer shows in status', async (t) => {
  const stun = createSocket('udp4');
  stun.bind(0, '127.0.0.1');
  await once(stun, 'listening');
  let asked = 0;
  stun.on('message', (m, r) => {
    const reply = answerBinding(new Uint8Array(m), { family: 'IPv4', address: r.address, port: r.port });
    if (!reply) return;
    asked++;
    stun.send(reply, r.port, r.address);
  });
  const server = `127.0.0.1:${stun.address().port}`;
  const h = await Harness.start();
  t.after(async () => {
    await h.stop();
    stun.close();
  });
  await h.user('carol');
  const eng = await h.engineer({ user: 'carol', extra: { udp: { port: 0, stunServers: [server] } } });
  const deadline = Date.now() + 10_000;
  let udp = eng.agent.status().udp;
  while ((asked === 0 || !udp?.mapped.length) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    udp = eng.agent.status().udp;
  }
  assert.ok(udp, 'direct paths are on');
  assert.ok(asked >= 1, `the configured STUN server ${server} was never asked`);
  assert.ok(udp.stunServers.includes(server), `status lists ${server}: ${JSON.stringify(udp.stunServers)}`);
  assert.ok(udp.mapped.includes(`127.0.0.1:${udp.port}`), `mapped: ${JSON.stringify(udp.mapped)}`);
});
