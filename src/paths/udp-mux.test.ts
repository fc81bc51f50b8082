import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { RealClock } from '../clock/index.ts';
import { answerBinding, bindingRequest, newTransactionId } from '../proto/stun/index.ts';
import { PrivateKey } from '../crypto/index.ts';
import { relayEndpoint, type DirectEndpoint } from '../session/index.ts';
import { toDirectEndpoint } from './endpoint.ts';
import { StunClient } from './stun-client.ts';

const D = (s: string): DirectEndpoint => toDirectEndpoint(s)!;
import { bindUdp, UdpMux, type DatagramSocket } from './udp-mux.ts';

/** A socket that records sends and lets the test inject datagrams. */
function fakeSocket(type: 'udp4' | 'udp6' = 'udp4') {
  let rx: (d: Uint8Array, a: string, p: number) => void = () => {};
  const sent: { d: Uint8Array; address: string; port: number; done: (e?: Error) => void }[] = [];
  const s: DatagramSocket & { closed: boolean } = {
    type,
    port: 41641,
    closed: false,
    send: (d, address, port, done) => void sent.push({ d, address, port, done }),
    onMessage: (cb) => void (rx = cb),
    close: () => void (s.closed = true),
  };
  return { s, sent, inject: (d: Uint8Array, a: string, p: number) => rx(d, a, p) };
}

const wg = (type: number, n = 32): Uint8Array => {
  const d = new Uint8Array(n);
  d[0] = type;
  return d;
};

describe('UDP mux', () => {
  test('sorts WireGuard (types 1–4) from STUN; the rest is dropped and counted', () => {
    const f = fakeSocket();
    const got: string[] = [];
    const mux = new UdpMux({
      socket: f.s,
      onWireGuard: (d, from) => got.push(`wg${d[0]} ${from.name}`),
      onStun: (_d, from) => got.push(`stun ${from}`),
    });
    for (const t of [1, 2, 3, 4]) f.inject(wg(t), '198.51.100.1', 1000);
    f.inject(bindingRequest(newTransactionId()), '::ffff:192.0.2.1', 3478);
    f.inject(wg(5), '198.51.100.1', 1000);
    const bad = wg(4);
    bad[1] = 1; // reserved bytes must be zero
    f.inject(bad, '198.51.100.1', 1000);
    f.inject(new Uint8Array(3), '198.51.100.1', 1000);
    assert.deepEqual(got, [
      'wg1 198.51.100.1:1000',
      'wg2 198.51.100.1:1000',
      'wg3 198.51.100.1:1000',
      'wg4 198.51.100.1:1000',
      'stun 192.0.2.1:3478',
    ]);
    assert.equal(mux.stats.drops.unknown, 2);
    assert.equal(mux.stats.drops.short, 1);
    assert.equal(mux.stats.received.wireguard, 4);
    assert.equal(mux.stats.received.stun, 1);
  });

  test('a throwing handler is counted, not propagated', () => {
    const f = fakeSocket();
    const mux = new UdpMux({
      socket: f.s,
      onWireGuard: () => {
        throw new Error('boom');
      },
    });
    f.inject(wg(4), '198.51.100.1', 1);
    assert.equal(mux.stats.drops['handler-error'], 1);
  });

  test('sends are bounded in flight; bad endpoints and families are refused; udp6 maps IPv4', () => {
    const f = fakeSocket('udp4');
    const mux = new UdpMux({ socket: f.s, onWireGuard: () => {}, maxInFlight: 2 });
    assert.equal(mux.send(wg(4), D('198.51.100.1:9')), true);
    assert.equal(mux.send(wg(4), D('198.51.100.1:9')), true);
    assert.equal(mux.send(wg(4), D('198.51.100.1:9')), false);
    assert.equal(mux.stats.drops['in-flight-full'], 1);
    f.sent[0].done();
    f.sent[1].done(new Error('EPERM'));
    assert.equal(mux.stats.inFlight, 0);
    assert.equal(mux.stats.drops['send-error'], 1);
    assert.equal(
      mux.send(wg(4), relayEndpoint('us-east', PrivateKey.generate().publicKey) as unknown as DirectEndpoint),
      false,
    );
    assert.equal(mux.send(wg(4), D('[2001:db8::1]:9')), false);
    assert.deepEqual([mux.stats.drops['bad-endpoint'], mux.stats.drops['wrong-family']], [1, 1]);
    const f6 = fakeSocket('udp6');
    const mux6 = new UdpMux({ socket: f6.s, onWireGuard: () => {} });
    mux6.send(wg(4), D('198.51.100.1:9'));
    mux6.send(wg(4), D('[2001:db8::1]:9'));
    assert.deepEqual(
      f6.sent.map((x) => `${x.address} ${x.port}`),
      ['::ffff:198.51.100.1 9', '2001:db8::1 9'],
    );
  });

  test('an AbortSignal stops the mux and closes the socket; later traffic is dropped', () => {
    const f = fakeSocket();
    const ac = new AbortController();
    const mux = new UdpMux({ socket: f.s, onWireGuard: () => assert.fail('stopped'), signal: ac.signal });
    ac.abort();
    assert.equal(f.s.closed, true);
    f.inject(wg(4), '198.51.100.1', 1);
    assert.equal(mux.send(wg(4), D('198.51.100.1:1')), false);
    assert.equal(mux.stats.drops.stopped, 2);
  });

  test('real sockets on loopback: WireGuard both ways and a STUN exchange through one socket', async () => {
    const ac = new AbortController();
    const [sa, sb] = await Promise.all([
      bindUdp({ host: '127.0.0.1', signal: ac.signal }),
      bindUdp({ host: '127.0.0.1', signal: ac.signal }),
    ]);
    const clock = new RealClock();
    const ev = new EventEmitter();
    // b plays a STUN server on its socket (the relay's responder) and a WireGuard peer
    let stunB: UdpMux;
    const muxB = (stunB = new UdpMux({
      socket: sb,
      signal: ac.signal,
      onWireGuard: (d, from) => ev.emit('b', d[0], from.name),
      onStun: (d, from) => {
        const [address, port] = [
          from.slice(0, from.lastIndexOf(':')),
          Number(from.slice(from.lastIndexOf(':') + 1)),
        ];
        const ans = answerBinding(d, { family: 'IPv4', address, port });
        if (ans) stunB.send(ans, D(from));
      },
    }));
    let stun: StunClient | undefined = undefined;
    const muxA = new UdpMux({
      socket: sa,
      signal: ac.signal,
      onWireGuard: (d, from) => ev.emit('a', d[0], from.name),
      onStun: (d, from) => stun?.receive(d, from),
    });
    stun = new StunClient({ clock, send: (d, to) => muxA.send(d, D(to)) });
    try {
      const got = once(ev, 'b');
      muxA.send(wg(1, 148), D(`127.0.0.1:${muxB.port}`));
      assert.deepEqual(await got, [1, `127.0.0.1:${muxA.port}`]);
      const back = once(ev, 'a');
      muxB.send(wg(2, 92), D(`127.0.0.1:${muxA.port}`));
      assert.deepEqual(await back, [2, `127.0.0.1:${muxB.port}`]);
      const r = await stun.bind(`127.0.0.1:${muxB.port}`, { signal: AbortSignal.timeout(5000) });
      assert.equal(r.mapped, `127.0.0.1:${muxA.port}`);
    } finally {
      stun.stop();
      ac.abort();
    }
  });

  test('bindUdp refuses an aborted signal and reports a port in use', async () => {
    await assert.rejects(bindUdp({ signal: AbortSignal.abort() }), { code: 'PATHS_STOPPED' });
    const s = await bindUdp({ host: '127.0.0.1' });
    try {
      await assert.rejects(bindUdp({ host: '127.0.0.1', port: s.port }), { code: 'PATHS_BIND' });
    } finally {
      s.close();
    }
  });
});
