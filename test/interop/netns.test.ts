// The namespace helper itself: what it creates works, cleanup() removes all of it, and the sweep
// removes what a killed run left behind (namespaces, root links, processes, wireguard sockets)
// without touching a live run's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { needs } from '../../src/testing/require.ts';
import {
  NetnsLab,
  WG_SOCKET_DIR,
  exec,
  missingBinary,
  netnsMissing,
  processStartTicks,
  sweepStale,
  waitFor,
} from '../../src/testing/netns.ts';

const alive = (pid: number) => processStartTicks(pid) !== undefined;
const namespaces = async () => (await exec(undefined, ['ip', 'netns', 'list'])).stdout;
const linkExists = async (name: string) =>
  (await exec(undefined, ['ip', 'link', 'show', name], { allowFailure: true })).code === 0;

test('a lab builds namespaces, veth pairs and processes, and cleanup() removes every one', async (t) => {
  if (!needs(t, netnsMissing() ?? missingBinary('ping', 'sleep'))) return;
  const lab = await NetnsLab.create();
  t.after(() => lab.cleanup());
  const a = await lab.namespace('a');
  const b = await lab.namespace('b');
  const inner = await lab.freeSubnet(30);
  await lab.veth(
    { label: 'ab', ns: a, cidr: `${inner.hosts[0]}/30` },
    { label: 'ba', ns: b, cidr: `${inner.hosts[1]}/30` },
  );
  const outer = await lab.freeSubnet(30);
  assert.notEqual(outer.cidr, inner.cidr);
  const [rootEnd] = await lab.veth(
    { label: 'r', cidr: `${outer.hosts[0]}/30` },
    { label: 'ra', ns: a, cidr: `${outer.hosts[1]}/30` },
  );
  assert.ok(rootEnd.length <= 15);

  await lab.exec(a, ['ping', '-c', '1', '-W', '2', inner.hosts[1]]);
  await lab.exec(undefined, ['ping', '-c', '1', '-W', '2', outer.hosts[1]]);
  const sleeper = lab.spawn(b, ['sleep', '300']);
  assert.ok(alive(sleeper.pid));
  // `ip netns exec` enters the namespace, then execs the program: wait until it has.
  await waitFor('the sleeper inside namespace b', async () =>
    (await lab.exec(undefined, ['ip', 'netns', 'pids', b])).stdout.split(/\s+/).includes(String(sleeper.pid)),
  );

  await lab.cleanup();
  assert.equal(await sleeper.exited, null, 'stopped by a signal');
  assert.ok(!alive(sleeper.pid));
  const left = await namespaces();
  assert.ok(!left.includes(a) && !left.includes(b), left);
  assert.ok(!(await linkExists(rootEnd)));
  await lab.cleanup(); // idempotent
});

test('sweepStale() clears a SIGKILLed run and spares a live one', { timeout: 20_000 }, async (t) => {
  if (!needs(t, netnsMissing() ?? missingBinary('sleep', 'wireguard-go'))) return;
  const prefix = 'spt';
  const live = await NetnsLab.create({ prefix });
  t.after(() => live.cleanup());
  const liveNs = await live.namespace('live');
  const [liveLink] = await live.veth({ label: 'l' }, { label: 'm', ns: liveNs });

  // A child run builds a namespace, a root link, a sleeper and a wireguard-go, then is SIGKILLed.
  const netnsUrl = new URL('../../src/testing/netns.ts', import.meta.url).href;
  const script = `
    import { existsSync } from 'node:fs';
    import { NetnsLab, exec, waitFor } from ${JSON.stringify(netnsUrl)};
    const lab = await NetnsLab.create({ prefix: ${JSON.stringify(prefix)} });
    const ns = await lab.namespace('crash');
    const [link] = await lab.veth({ label: 'c' }, { label: 'd', ns });
    const sleeper = lab.spawn(ns, ['sleep', '300']);
    const wgIf = lab.ifname('wg');
    const wg = lab.spawn(ns, ['wireguard-go', '-f', wgIf]);
    const sock = ${JSON.stringify(WG_SOCKET_DIR)} + '/' + wgIf + '.sock';
    await waitFor('the wireguard socket', () => existsSync(sock));
    await waitFor('both processes inside', async () => {
      const pids = (await exec(undefined, ['ip', 'netns', 'pids', ns])).stdout.split(/\\s+/);
      return pids.includes(String(sleeper.pid)) && pids.includes(String(wg.pid));
    });
    console.log(JSON.stringify({ ns, link, pids: [sleeper.pid, wg.pid], sock: wgIf + '.sock' }));
    await new Promise(() => {});
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => child.kill('SIGKILL'));
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(buf.split('\n')[0]);
    });
    child.once('exit', (code) => reject(new Error(`child exited ${code} before reporting`)));
  });
  const left = JSON.parse(line) as { ns: string; link: string; pids: number[]; sock: string };
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  // The crash left everything behind, including the processes started in the namespace.
  assert.ok((await namespaces()).includes(left.ns));
  assert.ok(await linkExists(left.link));
  assert.ok(left.pids.every(alive));
  const swept = await sweepStale(prefix);
  assert.ok(swept.namespaces.includes(left.ns), JSON.stringify(swept));
  assert.ok(swept.links.includes(left.link), JSON.stringify(swept));
  assert.deepEqual([...swept.killed].sort(), [...left.pids].sort());
  assert.ok(swept.sockets.includes(left.sock), JSON.stringify(swept));
  assert.ok(!existsSync(join(WG_SOCKET_DIR, left.sock)));
  assert.ok(!(await namespaces()).includes(left.ns));
  assert.ok(!(await linkExists(left.link)));
  // The live run is untouched.
  assert.ok((await namespaces()).includes(liveNs));
  assert.ok(await linkExists(liveLink));
});

test('a NAT router namespace: the server answers a client it has no route to', async (t) => {
  if (!needs(t, netnsMissing() ?? missingBinary('ping', 'nft'))) return;
  const lab = await NetnsLab.create();
  t.after(() => lab.cleanup());
  const [client, router, server] = [
    await lab.namespace('cli'),
    await lab.namespace('nat'),
    await lab.namespace('srv'),
  ];
  const lan = await lab.freeSubnet(30);
  const wan = await lab.freeSubnet(30);
  await lab.veth(
    { label: 'cl', ns: client, cidr: `${lan.hosts[0]}/30` },
    { label: 'nl', ns: router, cidr: `${lan.hosts[1]}/30` },
  );
  const [wanIf] = await lab.veth(
    { label: 'nw', ns: router, cidr: `${wan.hosts[0]}/30` },
    { label: 'sw', ns: server, cidr: `${wan.hosts[1]}/30` },
  );
  await lab.route(client, ['default', 'via', lan.hosts[1]]);
  await lab.forwarding(router);
  // Forwarding alone is not enough: the server cannot route its reply back to the LAN.
  const before = await lab.exec(client, ['ping', '-c', '1', '-W', '1', wan.hosts[1]], { allowFailure: true });
  assert.notEqual(before.code, 0, 'reached the server without NAT');
  await lab.masquerade(router, wanIf);
  await lab.exec(client, ['ping', '-c', '1', '-W', '2', wan.hosts[1]]);
  assert.match(
    (await lab.exec(router, ['nft', 'list', 'ruleset'])).stdout,
    new RegExp(`oifname "${wanIf}" masquerade`),
  );
});
