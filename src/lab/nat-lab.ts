// `sallyport lab --netns` (root): the lab's parties each in its own network namespace behind real
// NAT (nat-parties.ts), the story told by the real CLI in each (nat-story.ts); the console reached
// from the host over a veth to the vendor namespace. Everything it creates is named `spl-<pid>-…`
// and removed when it stops (Ctrl-C, --once, a failure; a second Ctrl-C tears down synchronously).
import { join } from 'node:path';
import { missingBinary } from './netns/index.ts';
import { setupAccounts } from './accounts.ts';
import type { LabRun } from './index.ts';
import { NatParties, SOCKS5 } from './nat-parties.ts';
import { runNatStory, type NatState } from './nat-story.ts';
import { readyLines } from './ready.ts';
import { LAB_REGION } from './topology.ts';
import { untilSignal } from './wait.ts';

/** Why --netns cannot run here (not root, a missing program), or undefined. */
export function netnsLabMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (it creates network namespaces and nftables NAT)';
  const m = missingBinary('ip', 'nft', 'curl');
  return m ? `${m} (apt-get install iproute2 nftables curl)` : undefined;
}

export async function runNatLab(x: LabRun): Promise<void> {
  const { o, rep, clock, signal, dir } = x;
  rep.emit(
    'setup',
    0,
    'running',
    `lab directory ${dir}; network namespaces behind NAT; starting the coordinator and a relay (vendor namespace)`,
  );
  // (it removes what it created when it fails)
  const p = await NatParties.start({
    dir,
    port: o.port,
    clock,
    signal,
    demo: o.demo,
    info: (what, message) => rep.emit('services', 0, 'info', `${what}: ${message}`),
  });
  x.onStop(() => p.stop());
  const users = await setupAccounts(p.admin);
  rep.emit(
    'setup',
    0,
    'ok',
    `coordinator ${p.url} in namespace ${p.net.ns.vendor} (console from this host at ${p.consoleUrl}), relay ${LAB_REGION} with STUN`,
    { dir, coordinator: p.url, console: p.consoleUrl, log: join(dir, 'logs'), netns: p.layout() },
  );
  rep.emit('services', 0, 'running', `starting the customer's services in namespace ${p.net.ns.customer}`);
  await p.startCustomer();
  rep.emit('services', 0, 'ok', p.services.map((s) => s.spec.name).join(', '), {
    namespace: p.net.ns.customer,
    services: p.services.map((s) => ({
      name: s.spec.name,
      kind: s.spec.kind,
      serves: s.label,
      demo: s.demo,
    })),
  });
  const state: NatState = { tailnet: {} };
  await runNatStory({ rep, p, alice: users.alice, bob: users.bob, dir, signal, clock }, state);
  const consoleAnswers = await p
    .anonymous()
    .raw('GET', '/console/')
    .then((r) => r.status)
    .catch(() => 0);
  const creds = [users.alice, users.bob, p.adminUser].map((u) => ({ user: u.name, password: u.password }));
  rep.emit('ready', 6, 'ok', `the story is complete; console ${p.consoleUrl}`, {
    console: p.consoleUrl,
    consoleHttpStatus: consoleAnswers,
    users: creds,
    grant: state.grantId,
    pendingRequest: state.inboxRequestId ?? null,
    socks5: { namespace: p.net.ns.engineer, address: SOCKS5 },
    dir,
    netns: p.layout(),
  });
  if (o.once) return;
  const main = p.services[0];
  const [host, port] = SOCKS5.split(':');
  for (const l of readyLines({
    consoleUrl: p.consoleUrl,
    consoleStatus: consoleAnswers,
    dir,
    users: { ...users, admin: p.adminUser },
    socks5: { host, port: Number(port) },
    engineerNetns: p.net.ns.engineer,
    logs: `${join(dir, 'logs')}/ (each party's output), ${join(dir, 'customer.log')} (the services)`,
    pending: state.inboxRequestId,
    main:
      main && state.tailnet[main.spec.name]
        ? { service: main, tailnetName: state.tailnet[main.spec.name] }
        : undefined,
  }))
    rep.say(l);
  await untilSignal(signal);
}
