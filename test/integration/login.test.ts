// `sallyport login URL`: the device flow enrolls an engineer machine's node key once a signed-in
// user approves the code it shows; the agent then connects with no pre-auth key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { Harness, withTimeout } from '../../src/testing/harness.ts';
import { ApiClient, routes } from '../../src/control/index.ts';
import { Agent, readSettings } from '../../src/agent/index.ts';
import { PublicKey } from '../../src/crypto/index.ts';
import { realClock } from '../../src/clock/index.ts';
import * as login from '../../src/cli/login.ts';

test('sallyport login: device code approved by a signed-in user, then the agent is admitted', async (t) => {
  const h = await Harness.start();
  t.after(() => h.stop());
  await h.api.route(routes.usersCreate, { body: { name: 'alice', password: 'alice-password-123' } });
  const caFile = join(h.dir, 'ca.pem');
  writeFileSync(caFile, h.ca);
  const state = join(h.dir, 'alice-state');

  // Capture what login prints to find the user code, as a person would read it.
  let printed = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    printed += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  let code: number;
  try {
    const running = login.run([
      h.coordinator.url,
      '--coordinator-key',
      h.coordinator.publicKey,
      '--ca',
      caFile,
      '--state',
      state,
      '--name',
      'alice-mbp',
      '--timeout',
      '30',
    ]);
    const userCode = await withTimeout(
      (async () => {
        for (;;) {
          const m = /user code: (\S+)/.exec(printed);
          if (m) return m[1];
          await new Promise((r) => setTimeout(r, 20));
        }
      })(),
      10_000,
      'user code printed',
    );
    const alice = await new ApiClient({ server: h.coordinator.url, ca: h.coordinator.tls.cert }).login(
      'alice',
      'alice-password-123',
    );
    await alice.route(routes.deviceApprove, { body: { userCode } });
    code = await running;
  } finally {
    process.stdout.write = write;
  }
  assert.equal(code, 0, printed);
  const s = readSettings(state);
  assert.equal(s.coordinator, h.coordinator.url);
  assert.equal(s.coordinatorKey, h.coordinator.publicKey);

  const agent = new Agent({
    clock: realClock,
    stateDir: state,
    coordinator: s.coordinator!,
    coordinatorKey: PublicKey.fromBase64(s.coordinatorKey!),
    ca: h.ca,
    kind: 'engineer',
    name: 'alice-mbp',
    controlSocket: false,
  });
  t.after(() => agent.stop());
  await agent.start();
  const nm = await withTimeout(agent.whenNetmap(), 10_000, 'netmap after device login');
  assert.equal(nm.self.kind, 'engineer');
  assert.equal(nm.self.user, 'alice');
});
