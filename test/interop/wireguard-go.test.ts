// Interop with the reference: our SessionHost against wireguard-go, both ways, with and without a
// preshared key, and across a forced rekey; then the cookie (DoS) path both ways: (d) we are under
// load, (e) wireguard-go is. A wrong preshared key and two wireguard-go daemons back to back are
// the controls. The payloads are real IPv4/ICMP packets: wireguard-go
// hands them to its TUN device and the kernel in its namespace answers them (or, for its pings,
// expects our answers), so checksums and addresses must be right too.
//
//   root namespace (this process)                   namespace "wg"
//   SessionHost ── dgram on U:port ══ veth /30 ══ G:51820 wireguard-go ── TUN 198.19.0.1/24
//   (tunnel address 198.19.0.2)                                           ping, kernel ICMP
//   U, G: the two hosts of a free /30 of 198.18.0.0/16.
//
// Our end of the veth stays in the root namespace on a /30 of 198.18.0.0/16 that no root address
// or route overlaps (NetnsLab.freeSubnet). The SessionHost then runs in this test process, where
// the test watches its events, stats and drop counters directly and uses node:dgram unchanged; a
// second namespace would need a child process (`ip netns exec … node`) and an IPC channel for every
// assertion. The only root-namespace state is the veth end with its address and connected route,
// which lab.cleanup() removes with the link. The tunnel range 198.19.0.0/24 exists only inside the
// namespace, so it cannot clash with anything.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { realClock } from '../../src/clock/index.ts';
import { PrivateKey, hash, mac, randomBytes } from '../../src/crypto/index.ts';
import { SessionHost, directEndpoint, type PeerSession, type SessionEvent } from '../../src/session/index.ts';
import { needs } from '../../src/testing/require.ts';
import { NetnsLab, missingBinary, netnsMissing, sleep, waitFor } from '../../src/testing/netns.ts';
import {
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  buildPing,
  parsePing,
  pingReply,
} from '../../src/testing/packets.ts';
import { WgGo } from './wggo.ts';

const WG_PORT = 51820;
const WG_TUN = '198.19.0.1';
const OUR_TUN = '198.19.0.2';
/** wireguard-go's REKEY_TIMEOUT: a new initiation within 5 s of the last one is suppressed (both sides). */
const REKEY_TIMEOUT_MS = 5000;

/** Per case: a failing case ends with its diagnosis well before this. */
const T = { timeout: 25_000 };

const missing = () => netnsMissing() ?? missingBinary('wireguard-go', 'wg', 'ping');

interface Rig {
  lab: NetnsLab;
  wg: WgGo;
  host: SessionHost;
  peer: PeerSession;
  events: SessionEvent[];
  /** Lengths of every payload delivered to us (padding included). */
  payloadLengths: number[];
  /** Echo replies that reached us through the tunnel, as parsed packets. */
  replies: NonNullable<ReturnType<typeof parsePing>>[];
  /** Echo requests we received (and answered). */
  requests: NonNullable<ReturnType<typeof parsePing>>[];
  /** Payloads that were not valid ICMP echo packets. */
  garbage: Uint8Array[];
  ns: string;
  /** Our veth address. */
  ours: string;
}

/**
 * One wireguard-go in its namespace and one SessionHost here, each knowing the other. wireguard-go
 * knows our endpoint (so it can initiate); we know its endpoint (so we can).
 */
async function rig(t: TestContext, psk: boolean, opts: { theirPsk?: Uint8Array } = {}): Promise<Rig> {
  const signal = AbortSignal.timeout(30_000);
  const lab = await NetnsLab.create({ signal });
  // Everything started is stopped in one place, whatever step failed.
  const started: { sock?: Socket; host?: SessionHost; wg?: WgGo } = {};
  t.after(async () => {
    started.host?.stop();
    started.sock?.close();
    await started.wg?.stop();
    await lab.cleanup();
  });
  const ns = await lab.namespace('wg');
  const net = await lab.freeSubnet(30, { signal });
  const [ours, theirs] = net.hosts;
  await lab.veth({ label: 'u', cidr: `${ours}/30` }, { label: 'g', ns, cidr: `${theirs}/30` }, { signal });

  const sock = (started.sock = createSocket('udp4'));
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address: ours, port: 0 }, () => resolve());
  });
  const ourPort = sock.address().port;

  const presharedKey = psk ? randomBytes(32) : undefined;
  const ourKey = PrivateKey.generate();
  const wgKey = PrivateKey.generate();
  const wg = (started.wg = await WgGo.start(lab, {
    ns,
    label: 'wg',
    privateKey: wgKey,
    listenPort: WG_PORT,
    tunCidr: `${WG_TUN}/24`,
    peer: {
      publicKey: ourKey.publicKey,
      presharedKey: opts.theirPsk ?? presharedKey,
      allowedIps: `${OUR_TUN}/32`,
      endpoint: `${ours}:${ourPort}`,
    },
    signal,
  }));

  const r: Rig = {
    lab,
    wg,
    host: undefined!,
    peer: undefined!,
    events: [],
    replies: [],
    requests: [],
    garbage: [],
    payloadLengths: [],
    ns,
    ours,
  };
  const host = (started.host = new SessionHost({
    clock: realClock,
    privateKey: ourKey,
    send(datagram, to) {
      if (to.kind === 'direct') sock.send(datagram, to.port, to.addr);
    },
    onPayload(peer, payload) {
      r.payloadLengths.push(payload.length);
      const p = parsePing(payload);
      if (p?.echo.type === ICMP_ECHO_REPLY && p.dst === OUR_TUN) r.replies.push(p);
      else if (p?.echo.type === ICMP_ECHO_REQUEST && p.dst === OUR_TUN) {
        r.requests.push(p);
        peer.send(pingReply(payload)!);
      } else r.garbage.push(payload);
    },
    onEvent(ev) {
      r.events.push(ev);
    },
  }));
  sock.on('message', (msg, rinfo) =>
    host.receive(new Uint8Array(msg), directEndpoint(rinfo.address, rinfo.port)),
  );
  r.host = host;
  r.peer = host.addPeer(wgKey.publicKey, { presharedKey, endpoint: directEndpoint(theirs, WG_PORT) });
  return r;
}

/** A diagnosis for a failed wait: what each side saw. */
function state(r: Rig): string {
  return JSON.stringify(
    {
      drops: r.host.drops,
      stats: r.peer.stats,
      events: r.events.map((e) => ('role' in e ? `${e.type}/${e.role}` : e.type)),
      replies: r.replies.length,
      requests: r.requests.length,
      garbage: r.garbage.length,
      // The last lines, without the flood noise of case (e).
      wireguardGo: r.wg.proc
        .output()
        .split('\n')
        .filter((l) => !l.includes('for denied handshake'))
        .slice(-25),
    },
    undefined,
    1,
  );
}

/** The roles of our completed handshakes, in order. */
function completions(r: Rig): string[] {
  return r.events.flatMap((e) => (e.type === 'handshake-complete' ? [e.role] : []));
}

/** Nothing unexpected: no payload that was not an echo, no datagram dropped on either side. */
function clean(r: Rig): void {
  assert.deepEqual(r.garbage, []);
  assert.deepEqual(r.host.drops, {}, state(r));
  // wireguard-go's verbose log names every message it refuses ("invalid mac1", "invalid
  // initiation", "Failed to ...").
  const refused = r.wg.proc
    .output()
    .split('\n')
    .filter((l) => /invalid|failed|error/i.test(l));
  assert.deepEqual(refused, [], state(r));
}

/** We send an echo request to wireguard-go's tunnel address and wait for its reply. */
async function pingThem(r: Rig, seq: number): Promise<void> {
  const id = 0x5a00 + seq;
  const data = randomBytes(40 + seq);
  const before = r.replies.length;
  r.peer.send(buildPing({ src: OUR_TUN, dst: WG_TUN, type: ICMP_ECHO_REQUEST, id, seq, data }));
  const reply = await waitFor(
    `echo reply ${seq}`,
    () => r.replies.slice(before).find((p) => p.echo.seq === seq),
    {
      timeoutMs: 5000,
    },
  ).catch((e: Error) => assert.fail(`${e.message}\n${state(r)}`));
  assert.equal(reply.src, WG_TUN);
  assert.equal(reply.dst, OUR_TUN);
  assert.equal(reply.echo.id, id);
  assert.equal(Buffer.from(reply.echo.data).toString('hex'), Buffer.from(data).toString('hex'));
}

/** wireguard-go's namespace pings our tunnel address; the kernel's ping must get every reply. */
async function pingUs(r: Rig, count: number): Promise<void> {
  const before = r.requests.length;
  const res = await r.lab.exec(r.ns, ['ping', '-n', '-c', String(count), '-i', '0.2', '-w', '6', OUR_TUN], {
    allowFailure: true,
    timeoutMs: 15_000,
  });
  assert.equal(
    res.code,
    0,
    `ping from wireguard-go's namespace failed:\n${res.stdout}${res.stderr}\n${state(r)}`,
  );
  assert.match(res.stdout, new RegExp(`${count} packets transmitted, ${count} received`));
  assert.ok(r.requests.length - before >= count, `we answered ${r.requests.length - before} echo requests`);
}

for (const psk of [false, true]) {
  const tag = psk ? ' (preshared key)' : '';
  describe(`wireguard-go interop${tag}`, () => {
    test(`(a) we initiate; our ICMP echo request is answered through the tunnel${tag}`, T, async (t) => {
      if (!needs(t, missing())) return;
      const r = await rig(t, psk);
      await pingThem(r, 1);
      await pingThem(r, 2);
      assert.ok(r.peer.stats.handshakeAttempts >= 1, 'we sent the initiation');
      assert.ok(r.peer.stats.lastHandshakeWallMs !== undefined);
      assert.ok((await r.wg.latestHandshake()) > 0, 'wireguard-go saw the handshake');
      assert.deepEqual(completions(r), ['initiator']);
      // wireguard-go pads to a multiple of 16 as we do; the IP header's length says where it ends.
      assert.ok(
        r.payloadLengths.every((n) => n % 16 === 0),
        `payload lengths ${r.payloadLengths}`,
      );
      clean(r);
    });

    test(`(b) wireguard-go initiates; its ping gets our answers${tag}`, T, async (t) => {
      if (!needs(t, missing())) return;
      const r = await rig(t, psk);
      await pingUs(r, 3);
      assert.equal(r.peer.stats.handshakeAttempts, 0, "the handshake was wireguard-go's, not ours");
      assert.ok(r.peer.stats.lastHandshakeWallMs !== undefined);
      for (const [i, p] of r.requests.entries()) assert.equal(p.echo.seq, i + 1);
      assert.deepEqual(completions(r), ['responder']);
      assert.ok(r.events.some((e) => e.type === 'handshake-responded'));
      clean(r);
    });

    test(`(c) traffic flows both ways across a forced rekey${tag}`, T, async (t) => {
      if (!needs(t, missing())) return;
      const r = await rig(t, psk);
      const started = realClock.now();
      await pingThem(r, 1);
      await pingUs(r, 2);
      const first = r.peer.stats.lastHandshakeWallMs!;
      const wgFirst = await r.wg.latestHandshake();
      const attempts = r.peer.stats.handshakeAttempts;
      const oldIndex = r.peer.keypairInfo().current!.localIndex;
      // Our last initiation must be REKEY_TIMEOUT old or it is (rightly) suppressed; the gap also
      // lets wireguard-go's whole-second handshake time move.
      await sleep(Math.max(0, started + REKEY_TIMEOUT_MS + 200 - realClock.now()));
      r.peer.initiateHandshake();
      await waitFor('a new handshake', () => (r.peer.stats.lastHandshakeWallMs ?? 0) > first, {
        timeoutMs: 5000,
      }).catch((e: Error) => assert.fail(`${e.message}\n${state(r)}`));
      assert.ok(r.peer.stats.handshakeAttempts > attempts);
      // The new keypair is current, the old one kept as previous for packets still in flight.
      const kp = r.peer.keypairInfo();
      assert.notEqual(kp.current!.localIndex, oldIndex);
      assert.equal(kp.previous?.localIndex, oldIndex);
      assert.deepEqual(completions(r), ['initiator', 'initiator']);
      // The new keypair is used both ways: wireguard-go confirms it on our first packet under it.
      await pingThem(r, 3);
      await pingUs(r, 2);
      await pingThem(r, 4);
      assert.ok((await r.wg.latestHandshake()) > wgFirst, 'wireguard-go saw a second handshake');
      clean(r);
    });
  });
}

test('(d) under load we answer with a cookie reply; wireguard-go retries with a valid mac2', T, async (t) => {
  // The DoS path against the reference: our cookie reply (XChaCha20-Poly1305 under
  // HASH("cookie--" ‖ our key), AD = its mac1) must open at wireguard-go, and the mac2 it then
  // computes from our cookie must check at our side. wireguard-go retries after REKEY_TIMEOUT.
  if (!needs(t, missing())) return;
  const r = await rig(t, false);
  r.host.forceUnderLoad(true);
  const res = await r.lab.exec(r.ns, ['ping', '-n', '-c', '2', '-i', '0.2', '-w', '12', OUR_TUN], {
    allowFailure: true,
    timeoutMs: 15_000,
  });
  assert.equal(
    res.code,
    0,
    `ping through the cookie exchange failed:\n${res.stdout}${res.stderr}\n${state(r)}`,
  );
  assert.deepEqual(r.host.drops, { 'cookie-sent': 1 }, state(r));
  assert.equal(r.events.filter((e) => e.type === 'cookie-sent').length, 1);
  assert.deepEqual(completions(r), ['responder']);
  assert.match(r.wg.proc.output(), /Receiving cookie response/);
  assert.equal(r.wg.proc.output().match(/Sending handshake initiation/g)?.length, 2, 'one retry, with mac2');
});

test('(e) wireguard-go under load sends us a cookie reply; our retry carries a valid mac2', T, async (t) => {
  // Bursts of initiations with a valid mac1 (garbage inside, no mac2) from a second socket keep
  // wireguard-go's handshake queue past its under-load mark (128 queued; the state lasts 1 s).
  // Our initiation then gets a cookie reply, and our retry 5 s later, sent while the bursts go on,
  // must carry a mac2 that wireguard-go accepts. (Its per-source rate limit counts only messages
  // whose mac2 is valid, so the bursts do not use up our address's allowance.)
  if (!needs(t, missing())) return;
  const r = await rig(t, false);
  const flood = createSocket('udp4');
  t.after(() => flood.close());
  const cookieRepliesAt: number[] = [];
  flood.on('message', (m) => m[0] === 3 && cookieRepliesAt.push(realClock.now()));
  await new Promise<void>((resolve) => flood.bind({ address: r.ours, port: 0 }, () => resolve()));
  const mac1Key = hash(new TextEncoder().encode('mac1----'), r.peer.publicKey.bytes);
  const ep = r.peer.endpoint!;
  assert.equal(ep.kind, 'direct');
  const [host, port] = ep.kind === 'direct' ? [ep.addr, ep.port] : ['', 0];
  const burst = (n: number) => {
    for (let i = 0; i < n; i++) {
      const m = randomBytes(148);
      m.set([1, 0, 0, 0], 0);
      m.set(mac(mac1Key, m.subarray(0, 116)), 116);
      m.fill(0, 132);
      flood.send(m, port, host);
    }
  };
  // Bursts until wireguard-go answers one with a cookie: from then on it is under load for 1 s.
  await waitFor(
    'wireguard-go under load',
    () => {
      if (cookieRepliesAt.length > 0) return true;
      burst(250);
      return false;
    },
    { timeoutMs: 3000, intervalMs: 50 },
  );
  const first = realClock.now();
  const data = randomBytes(32);
  r.peer.send(buildPing({ src: OUR_TUN, dst: WG_TUN, type: ICMP_ECHO_REQUEST, id: 7, seq: 1, data }));
  await waitFor(
    'a cookie reply to our initiation',
    () => r.events.some((e) => e.type === 'cookie-received'),
    {
      timeoutMs: 2000,
    },
  ).catch((e: Error) => assert.fail(`${e.message}\n${state(r)}`));
  // Keep it under load from just before our retry (5 s + up to 334 ms after the first; were the
  // retry lost in the burst, the next comes 5 s later) until the handshake is done.
  await sleep(first + 4700 - realClock.now());
  let done = false;
  const keepBusy = (async () => {
    while (!done && realClock.now() - first < 11_500) {
      burst(250);
      await sleep(100);
    }
  })();
  await waitFor('the echo reply after our retry', () => r.replies.length > 0, { timeoutMs: 7000 })
    .catch((e: Error) => assert.fail(`${e.message}\n${state(r)}`))
    .finally(() => (done = true));
  const completed = realClock.now();
  await keepBusy;
  assert.equal(Buffer.from(r.replies[0].echo.data).toString('hex'), Buffer.from(data).toString('hex'));
  assert.ok(r.events.filter((e) => e.type === 'handshake-initiated').length >= 2, 'completed on a retry');
  assert.deepEqual(completions(r), ['initiator']);
  // wireguard-go was answering the bursts with cookies right up to our handshake, i.e. it was
  // under load and checked our retry's mac2 (without a valid mac2 it sends another cookie).
  assert.ok(
    cookieRepliesAt.some((at) => at > completed - 600 && at <= completed),
    `cookie replies near the handshake: ${cookieRepliesAt.map((x) => Math.round(x - first)).slice(-5)}`,
  );
  assert.equal(r.events.filter((e) => e.type === 'cookie-received').length, 1, state(r));
  assert.deepEqual(r.host.drops, {}, state(r));
});

test("a preshared key that differs from wireguard-go's is refused: no handshake, no data", T, async (t) => {
  // Proves both sides really mix the psk in: were either to ignore it, the psk cases would pass
  // vacuously. wireguard-go answers our initiation (msg 1 does not depend on the psk); its
  // response cannot authenticate under our psk.
  if (!needs(t, missing())) return;
  const r = await rig(t, true, { theirPsk: randomBytes(32) });
  r.peer.send(
    buildPing({ src: OUR_TUN, dst: WG_TUN, type: ICMP_ECHO_REQUEST, id: 1, seq: 1, data: new Uint8Array(8) }),
  );
  await waitFor('a refused response', () => (r.host.drops['bad-response'] ?? 0) > 0, {
    timeoutMs: 3000,
  }).catch((e: Error) => assert.fail(`${e.message}\n${state(r)}`));
  assert.equal(r.peer.stats.lastHandshakeWallMs, undefined);
  assert.equal(r.replies.length, 0);
  assert.equal(await r.wg.latestHandshake(), 0);
});

test('control: two wireguard-go daemons reach each other through this rig', T, async (t) => {
  // If this passes and the cases above fail, the fault is in our session, not in the harness.
  if (!needs(t, missing())) return;
  const lab = await NetnsLab.create();
  t.after(() => lab.cleanup());
  const [a, b] = [await lab.namespace('ca'), await lab.namespace('cb')];
  const net = await lab.freeSubnet(30);
  await lab.veth(
    { label: 'ca', ns: a, cidr: `${net.hosts[0]}/30` },
    { label: 'cb', ns: b, cidr: `${net.hosts[1]}/30` },
  );
  const [ka, kb] = [PrivateKey.generate(), PrivateKey.generate()];
  const presharedKey = randomBytes(32);
  const wa = await WgGo.start(lab, {
    ns: a,
    label: 'wa',
    privateKey: ka,
    listenPort: WG_PORT,
    tunCidr: `${WG_TUN}/24`,
    peer: {
      publicKey: kb.publicKey,
      presharedKey,
      allowedIps: `${OUR_TUN}/32`,
      endpoint: `${net.hosts[1]}:${WG_PORT}`,
    },
  });
  const wb = await WgGo.start(lab, {
    ns: b,
    label: 'wb',
    privateKey: kb,
    listenPort: WG_PORT,
    tunCidr: `${OUR_TUN}/24`,
    peer: { publicKey: ka.publicKey, presharedKey, allowedIps: `${WG_TUN}/32` },
  });
  t.after(() => Promise.all([wa.stop(), wb.stop()]));
  const res = await lab.exec(a, ['ping', '-n', '-c', '2', '-i', '0.2', '-w', '5', OUR_TUN], {
    allowFailure: true,
  });
  assert.equal(res.code, 0, res.stdout + res.stderr);
});
