import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NewReno, Pacer, initialWindow, minimumWindow } from './congestion.ts';
import { PACKET_THRESHOLD, Recovery } from './recovery.ts';
import type { SentPacket } from './recovery.ts';
import { RttEstimator } from './rtt.ts';

function setup(mds = 1200) {
  const acked: number[] = [];
  const lost: number[] = [];
  const r = new Recovery<null>({
    handler: { onAcked: (p) => void acked.push(p.pn), onLost: (p) => void lost.push(p.pn) },
    mds,
    maxAckDelay: 25,
    initialRtt: 333,
    maxPto: 60_000,
  });
  const send = (t: number, n = 1, size = mds): void => {
    for (let i = 0; i < n; i++) {
      const p: SentPacket<null> = {
        pn: r.nextPn,
        timeSent: t,
        size,
        ackEliciting: true,
        inFlight: true,
        frames: null,
      };
      r.onSent(p);
    }
  };
  return { r, acked, lost, send };
}

describe('RTT estimation (RFC 9002 §5)', () => {
  test('first sample sets srtt and rttvar; later ones smooth with 1/8 and 1/4', () => {
    const e = new RttEstimator(333);
    assert.equal(e.smoothed, 333);
    e.update(100, 0, 0);
    assert.equal(e.smoothed, 100);
    assert.equal(e.variance, 50);
    e.update(200, 0, 1);
    assert.equal(e.variance, 0.75 * 50 + 0.25 * 100);
    assert.equal(e.smoothed, 0.875 * 100 + 0.125 * 200);
    assert.equal(e.min, 100);
  });
  test('ack delay is subtracted only when that stays above min_rtt', () => {
    const e = new RttEstimator();
    e.update(100, 0, 0);
    e.update(120, 30, 1); // 120 - 30 = 90 < min 100: not subtracted
    assert.equal(e.smoothed, 0.875 * 100 + 0.125 * 120);
    const f = new RttEstimator();
    f.update(100, 0, 0);
    f.update(150, 30, 1);
    assert.equal(f.smoothed, 0.875 * 100 + 0.125 * 120);
  });
});

describe('loss detection (RFC 9002 §6)', () => {
  test('packet threshold: a packet 3 below the largest acknowledged is lost', () => {
    const { r, acked, lost, send } = setup();
    send(0, 6);
    assert.ok(r.onAck([[3, 5]], 0, 10));
    assert.deepEqual(acked, [3, 4, 5]);
    assert.deepEqual(lost, [0, 1, 2]);
    assert.equal(PACKET_THRESHOLD, 3);
  });

  test('time threshold: a hole younger than 9/8 RTT waits for the loss timer', () => {
    const { r, lost, send } = setup();
    send(0, 2);
    assert.ok(r.onAck([[1, 1]], 0, 100)); // rtt sample 100
    assert.deepEqual(lost, []);
    const at = r.deadline();
    assert.equal(at, 0 + (9 / 8) * 100);
    assert.equal(r.onTimeout(at), false);
    assert.deepEqual(lost, [0]);
  });

  test('re-acknowledged ranges cost nothing and a late ACK of a hole still counts', () => {
    const { r, acked, lost, send } = setup();
    send(0, 5);
    r.onAck([[3, 4]], 0, 10);
    assert.deepEqual(acked, [3, 4]);
    assert.deepEqual(lost, [0, 1]); // 2 is within the reordering threshold, a hole
    r.onAck([[2, 4]], 0, 11);
    r.onAck([[2, 4]], 0, 12);
    assert.deepEqual(acked, [3, 4, 2]);
    assert.deepEqual(lost, [0, 1]);
    assert.equal(r.tracked, 0);
  });

  test('an ACK of a packet never sent is refused', () => {
    const { r, send } = setup();
    send(0, 2);
    assert.equal(r.onAck([[5, 5]], 0, 1), false);
  });

  test('PTO fires after srtt + 4 rttvar + max_ack_delay and backs off exponentially', () => {
    const { r, send } = setup();
    send(0, 1);
    r.onAck([[0, 0]], 0, 100);
    send(200, 1);
    const period = 100 + 4 * 50 + 25;
    assert.equal(r.deadline(), 200 + period);
    assert.equal(r.onTimeout(200 + period), true);
    assert.equal(r.ptoCount, 1);
    assert.equal(r.deadline(), 200 + period + 2 * period);
  });

  test('losses proven spurious raise the reordering threshold and undo the window cut', () => {
    const { r, lost, send } = setup();
    send(0, 20);
    r.onAck([[0, 9]], 0, 50);
    const before = r.cc.cwnd;
    r.onAck(
      [
        [14, 19],
        [0, 9],
      ],
      0,
      60,
    ); // 10..13 declared lost (threshold 3)... 10, 11 at least
    assert.ok(lost.length > 0);
    assert.ok(r.cc.cwnd < before);
    r.onAck([[0, 19]], 0, 61); // they all arrived after all
    assert.equal(r.spuriousLosses, lost.length);
    assert.ok(r.packetThreshold > PACKET_THRESHOLD);
    assert.ok(r.cc.cwnd >= before);
  });
});

describe('NewReno and pacing (RFC 9002 §7)', () => {
  test('slow start doubles per round, a loss halves, avoidance adds one datagram per window', () => {
    const cc = new NewReno(1200);
    assert.equal(cc.cwnd, initialWindow(1200));
    assert.equal(initialWindow(1200), 12000);
    cc.onSent(12000);
    cc.onAcked(1200, 0, 12000);
    assert.equal(cc.cwnd, 13200);
    assert.equal(cc.onCongestionEvent(1, 10), true);
    assert.equal(cc.cwnd, 6600);
    assert.equal(cc.onCongestionEvent(5, 11), false, 'one event per recovery period');
    const w = cc.cwnd;
    cc.onSent(10 * 1200);
    for (let i = 0; i < 6; i++) cc.onAcked(1100, 20, 10 * 1200); // sent after recovery began
    assert.equal(cc.cwnd, w + 1200);
    cc.onPersistentCongestion();
    assert.equal(cc.cwnd, minimumWindow(1200));
  });

  test('no growth while application-limited', () => {
    const cc = new NewReno(1200);
    cc.onSent(1200);
    cc.onAcked(1200, 0, 1200);
    assert.equal(cc.cwnd, initialWindow(1200));
  });

  test('the pacer spreads a window over the round trip', () => {
    const p = new Pacer();
    const cwnd = 120_000;
    const srtt = 100;
    let t = 0;
    let sent = 0;
    while (t < 200) {
      const d = p.delay(1200, t, cwnd, srtt, 1200);
      if (d === 0) {
        p.onSent(1200);
        sent += 1200;
      } else t += d;
    }
    // 1.25 * cwnd / srtt over 200 ms plus the initial burst
    const expected = 1.25 * cwnd * 2;
    assert.ok(sent > expected * 0.9 && sent < expected * 1.1 + 10 * 1200, `${sent} vs ${expected}`);
  });
});

describe('HyStart++ (RFC 9406)', () => {
  test('a rising RTT ends slow start through conservative slow start', () => {
    const cc = new NewReno(1200);
    let pn = 0;
    let rtt = 20;
    for (let round = 0; round < 12 && cc.ssthresh === Infinity; round++) {
      const first = pn;
      pn += 20;
      if (round >= 3) rtt += 10; // a queue builds from round 3 on
      for (let i = first; i < pn; i++) {
        cc.onSent(1200);
        cc.onAcked(1200, 0, cc.cwnd);
        cc.onRttSample(rtt, i, pn - 1);
      }
    }
    assert.ok(cc.ssthresh < Infinity, 'slow start ended without a loss');
  });

  test('relay-sized datagrams (inside TCP): a rising RTT does not end slow start', () => {
    const cc = new NewReno(16 * 1024);
    let pn = 0;
    let rtt = 20;
    for (let round = 0; round < 12; round++) {
      const first = pn;
      pn += 20;
      if (round >= 3) rtt += 10;
      for (let i = first; i < pn; i++) {
        cc.onSent(16 * 1024);
        cc.onAcked(16 * 1024, 0, cc.cwnd);
        cc.onRttSample(rtt, i, pn - 1);
      }
    }
    assert.equal(cc.ssthresh, Infinity);
    // a loss still ends it
    cc.onCongestionEvent(0, 1);
    assert.ok(cc.ssthresh < Infinity);
  });

  test('a steady RTT keeps slow start going', () => {
    const cc = new NewReno(1200);
    let pn = 0;
    for (let round = 0; round < 12; round++) {
      const first = pn;
      pn += 20;
      for (let i = first; i < pn; i++) {
        cc.onSent(1200);
        cc.onAcked(1200, 0, cc.cwnd);
        cc.onRttSample(20 + (i % 3), i, pn - 1);
      }
    }
    assert.equal(cc.ssthresh, Infinity);
  });
});
