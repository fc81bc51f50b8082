import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../clock/index.ts';
import { answerBinding, bindingError, bindingSuccess, decode, tryDecode } from '../proto/stun/index.ts';
import { parseEndpoint } from './endpoint.ts';
import { StunClient, type StunClientOptions } from './stun-client.ts';

const S1 = '192.0.2.1:3478';
const S2 = '198.51.100.2:3478';

/**
 * STUN servers in memory: each answers with the relay's own responder (answerBinding) after
 * `delayMs`, reporting `mapped` as our address; `drop(n)` loses the next n requests to it.
 */
function world(o: Partial<StunClientOptions> = {}) {
  const clock = new FakeClock();
  const sent: { at: number; to: string; d: Uint8Array }[] = [];
  const servers = new Map<string, { mapped: string; delayMs: number; drop: number; up: boolean }>();
  const changes: string[][] = [];
  const client: StunClient = new StunClient({
    clock,
    servers: [S1, S2],
    onChange: (m) => changes.push(m),
    send: (d, to) => {
      sent.push({ at: clock.now(), to, d: new Uint8Array(d) });
      const s = servers.get(to);
      if (!s || !s.up) return;
      if (s.drop > 0) return void s.drop--;
      const from = parseEndpoint(s.mapped)!;
      const answer = answerBinding(d, { family: 'IPv4', address: from.address, port: from.port });
      if (answer) clock.setTimeout(() => client.receive(answer, to), s.delayMs);
    },
    ...o,
  });
  const server = (ep: string, mapped: string, delayMs = 20) => {
    const s = { mapped, delayMs, drop: 0, up: true };
    servers.set(ep, s);
    return s;
  };
  return { clock, sent, client, server, changes, to: (ep: string) => sent.filter((x) => x.to === ep) };
}

describe('STUN client', () => {
  test('a round asks every server and reports the reflexive address each saw', () => {
    const w = world();
    w.server(S1, '203.0.113.5:40000', 20);
    w.server(S2, '203.0.113.5:40000', 35);
    w.client.start();
    assert.equal(w.sent.length, 2);
    for (const s of w.sent) {
      const m = decode(s.d);
      assert.equal(m.cls, 'request');
      assert.equal(m.transactionId.length, 12);
    }
    w.clock.advance(40);
    const r = w.client.results().sort((a, b) => a.rttMs - b.rttMs);
    assert.deepEqual(
      r.map((x) => [x.server, x.mapped, x.rttMs]),
      [
        [S1, '203.0.113.5:40000', 20],
        [S2, '203.0.113.5:40000', 35],
      ],
    );
    assert.deepEqual(w.changes, [['203.0.113.5:40000']], 'one change for one distinct address');
    assert.equal(w.client.stats.retransmissions, 0);
    w.client.stop();
    assert.equal(w.clock.pending(), 0, 'stop leaves no timer');
  });

  test('retransmission follows RFC 8489 §6.2.1: 0, RTO, 3·RTO, 7·RTO … Rc requests, give up Rm·RTO later', async () => {
    const w = world({ servers: [S1] });
    w.client.start();
    const p = w.client.bind(S1);
    const failed = assert.rejects(p, { code: 'PATHS_STUN_TIMEOUT' });
    w.clock.advance(39_499);
    assert.deepEqual(
      w.to(S1).map((x) => x.at),
      [0, 500, 1500, 3500, 7500, 15500, 31500],
    );
    assert.equal(w.client.stats.timeouts, 0);
    w.clock.advance(1);
    await failed;
    assert.equal(w.client.stats.timeouts, 1);
    assert.equal(w.client.stats.retransmissions, 6);
    const ids = new Set(w.to(S1).map((x) => Buffer.from(decode(x.d).transactionId).toString('hex')));
    assert.equal(ids.size, 1, 'retransmissions reuse the transaction id');
    w.client.stop();
  });

  test('lost requests are retransmitted until one is answered', () => {
    const w = world({ servers: [S1] });
    const s = w.server(S1, '203.0.113.9:1234', 10);
    s.drop = 2;
    w.client.start();
    w.clock.advance(1500 + 10);
    assert.equal(w.to(S1).length, 3);
    assert.deepEqual(w.client.mapped(), ['203.0.113.9:1234']);
    assert.equal(w.client.results()[0].rttMs, 10, 'RTT from the request that was answered');
    w.client.stop();
  });

  test('re-STUN every intervalMs; a changed mapping (NAT rebinding) is reported', () => {
    const w = world({ servers: [S1], intervalMs: 25_000 });
    const s = w.server(S1, '203.0.113.9:1000', 10);
    w.client.start();
    w.clock.advance(25_000 * 4 + 20);
    assert.deepEqual(
      w.to(S1).map((x) => x.at),
      [0, 25_000, 50_000, 75_000, 100_000],
    );
    assert.deepEqual(w.changes, [['203.0.113.9:1000']]);
    s.mapped = '203.0.113.9:2000';
    w.clock.advance(25_000);
    assert.deepEqual(w.changes.at(-1), ['203.0.113.9:2000']);
    w.client.stop();
  });

  test('refresh() (a network change) asks again at once', () => {
    const w = world({ servers: [S1] });
    w.server(S1, '203.0.113.9:1000', 10);
    w.client.start();
    w.clock.advance(5000);
    w.client.refresh();
    assert.deepEqual(
      w.to(S1).map((x) => x.at),
      [0, 5000],
    );
    w.client.refresh(); // in flight: the transaction restarts its schedule
    assert.equal(w.to(S1).length, 3);
    w.clock.advance(10);
    assert.equal(w.client.stats.successes, 2);
    w.client.stop();
  });

  test('a server that goes away loses its result after the timeout', () => {
    const w = world({ servers: [S1, S2] });
    w.server(S1, '203.0.113.9:1000');
    const s2 = w.server(S2, '203.0.113.9:1001');
    w.client.start();
    w.clock.advance(100);
    assert.deepEqual(
      w.client.mapped(),
      ['203.0.113.9:1000', '203.0.113.9:1001'],
      'symmetric NAT: two mappings',
    );
    s2.up = false;
    w.clock.advance(25_000 + 39_500);
    assert.deepEqual(w.client.mapped(), ['203.0.113.9:1000']);
    w.client.stop();
  });

  test('responses that are not ours are dropped and counted; error responses fail the transaction', async () => {
    const w = world({ servers: [S1] });
    w.client.start();
    const req = w.sent[0].d;
    const ok = answerBinding(req, { family: 'IPv4', address: '203.0.113.1', port: 9 })!;
    assert.equal(w.client.receive(ok, S2), false);
    assert.equal(w.client.stats.dropped.wrongSource, 1);
    assert.equal(w.client.receive(new Uint8Array(5), S1), false);
    assert.equal(w.client.stats.dropped.malformed, 1);
    const other = bindingSuccess(new Uint8Array(12).fill(7), {
      family: 'IPv4',
      address: '203.0.113.1',
      port: 9,
    });
    assert.ok(tryDecode(other).ok);
    assert.equal(w.client.receive(other, S1), false);
    assert.equal(w.client.stats.dropped.unknown, 1);
    const p = w.client.bind(S1);
    const err = bindingError(decode(req).transactionId, 500, 'Server Error');
    assert.equal(w.client.receive(err, S1), true);
    await assert.rejects(p, { code: 'PATHS_STUN_ERROR', message: /500/ });
    assert.deepEqual(w.client.mapped(), []);
    w.client.stop();
  });

  test('bind() honours an AbortSignal; stop() rejects what is pending and leaves no timer', async () => {
    const w = world({ servers: [] });
    const ac = new AbortController();
    const p = w.client.bind(S1, { signal: ac.signal });
    ac.abort();
    await assert.rejects(p, { code: 'PATHS_STOPPED' });
    const q = w.client.bind(S2);
    w.client.stop();
    await assert.rejects(q, { code: 'PATHS_STOPPED' });
    assert.equal(w.clock.pending(), 0);
    assert.throws(() => new StunClient({ clock: w.clock, send: () => {}, servers: ['stun.example:3478'] }), {
      code: 'PATHS_OPTION_INVALID',
    });
  });
});
