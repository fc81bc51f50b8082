import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckState, ackEveryFor, RELAY_ACK_EVERY } from './acks.ts';
import { UDP_DATAGRAM_MAX } from './congestion.ts';

/** How many in-order ack-eliciting packets it takes before the ACK is due at once. */
function packetsToImmediate(a: AckState): number {
  for (let pn = 0; pn < 100; pn++) {
    a.onPacket(pn, true, 0);
    if (a.due(0)) return pn + 1;
  }
  return Infinity;
}

test('UDP-sized datagrams: an ACK at once every 2 ack-eliciting packets (RFC 9000 §13.2.2)', () => {
  const a = new AckState(25, ackEveryFor(1200, 2));
  assert.equal(packetsToImmediate(a), 2);
  assert.equal(a.due(25), true); // and the delay still bounds a lone packet
});

test('relay-sized datagrams: an ACK at once every RELAY_ACK_EVERY, and back when the path changes', () => {
  assert.equal(ackEveryFor(UDP_DATAGRAM_MAX, 2), 2);
  assert.equal(ackEveryFor(16 * 1024, 2), RELAY_ACK_EVERY);
  assert.equal(ackEveryFor(16 * 1024, 10), 10); // a larger configured value is kept
  const a = new AckState(25, ackEveryFor(16 * 1024, 2));
  assert.equal(packetsToImmediate(a), RELAY_ACK_EVERY);
  const moved = new AckState(25, ackEveryFor(16 * 1024, 2));
  moved.setAckEvery(ackEveryFor(1200, 2)); // the path became a direct UDP one
  assert.equal(packetsToImmediate(moved), 2);
  // a lone packet on the relay path is still acknowledged within max_ack_delay
  const c = new AckState(25, ackEveryFor(16 * 1024, 2));
  c.onPacket(0, true, 100);
  assert.equal(c.due(110), false);
  assert.equal(c.due(125), true);
});
