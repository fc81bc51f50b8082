import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../clock/index.ts';
import type { DatagramSocket } from '../paths/index.ts';
import { DirectUdp, SENT_TO_TTL_MS } from './direct.ts';

function fakeSocket() {
  const sent: { to: string; d: Uint8Array }[] = [];
  let rx: (d: Uint8Array, address: string, port: number) => void = () => {};
  const socket: DatagramSocket = {
    type: 'udp4',
    port: 41641,
    send: (d, address, port, done) => {
      sent.push({ to: `${address}:${port}`, d });
      done();
    },
    onMessage: (cb) => void (rx = cb),
    close: () => {},
  };
  return { socket, sent, deliver: (d: Uint8Array, a: string, p: number) => rx(d, a, p) };
}

const wg = (): Uint8Array => new Uint8Array([4, 0, 0, 0, 9, 9, 9, 9]);

async function open(sendFirst: boolean) {
  const clock = new FakeClock();
  const s = fakeSocket();
  const got: string[] = [];
  const cands: string[][] = [];
  const d = await DirectUdp.open({
    clock,
    sendFirst,
    socket: s.socket,
    onWireGuard: (_d, from) => void got.push(from.name),
    onCandidates: (c) => void cands.push(c),
  });
  return { clock, s, got, cands, d };
}

test('a connector (send first) admits only endpoints it sent to, for SENT_TO_TTL_MS', async () => {
  const { clock, s, got, d } = await open(true);
  s.deliver(wg(), '198.51.100.7', 4000);
  assert.deepEqual(got, [], 'an unsolicited datagram is dropped');
  assert.equal(d.stats().notSentTo, 1);
  assert.equal(d.sendTo(wg(), '198.51.100.7:4000'), true);
  s.deliver(wg(), '198.51.100.7', 4000);
  s.deliver(wg(), '198.51.100.7', 4001);
  assert.deepEqual(got, ['198.51.100.7:4000'], 'only the exact endpoint gets in');
  clock.advance(SENT_TO_TTL_MS + 1);
  s.deliver(wg(), '198.51.100.7', 4000);
  assert.equal(got.length, 1, 'forgotten after the TTL');
  assert.equal(d.stats().notSentTo, 3);
  d.stop();
});

test('an engineer accepts any source; STUN servers must resolve to IP literals', async () => {
  const { s, got, d } = await open(false);
  s.deliver(wg(), '198.51.100.7', 4000);
  assert.deepEqual(got, ['198.51.100.7:4000']);
  const ok = await d.setStunServers(['192.0.2.1:3478', '[2001:db8::1]:3478', 'no-such-host.invalid:3478']);
  assert.deepEqual(ok, ['192.0.2.1:3478', '[2001:db8::1]:3478']);
  assert.deepEqual(d.stats().stunServers, ok);
  // the STUN client asks the IPv4 server at once (an IPv6 one is not reachable from a udp4 socket)
  assert.ok(s.sent.some((x) => x.to === '192.0.2.1:3478'));
  d.stop();
});
