import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findPeer, pathWhy, type WhyInput } from './diagnose.ts';
import type { PeerPathStatus } from '../paths/index.ts';

const counters = {
  'pings-sent': 0,
  'pongs-sent': 0,
  'pongs-received': 0,
  'pong-unknown-txid': 0,
  'pong-wrong-source': 0,
  'ping-not-direct': 0,
  'call-me-maybe-sent': 0,
  'call-me-maybe-received': 0,
  'candidate-not-direct': 0,
  'probe-evicted': 0,
  'opens-sent': 0,
  'size-probes': 0,
  rounds: 0,
  'frames-unsendable': 0,
  'call-me-maybe-no-relay': 0,
};
const relay = { kind: 'relay' as const, region: 'eu', endpoint: 'relay:eu/k' };
const cand = (endpoint: string, pings = 3, pongs = 0) => ({
  endpoint,
  sources: ['netmap' as const],
  pings,
  pongs,
});

function ps(o: Partial<PeerPathStatus>): PeerPathStatus {
  return {
    path: relay,
    state: 'relay',
    rttMs: undefined,
    lastChange: undefined,
    switches: 0,
    candidates: [],
    observedSelf: undefined,
    lastRound: undefined,
    reprobeAt: undefined,
    datagramSize: 1200,
    counters: { ...counters },
    ...o,
  };
}

const base: WhyInput = {
  udp: true,
  paths: ps({}),
  peerEndpoints: ['198.51.100.1:41641'],
  stunServers: ['192.0.2.1:3478'],
  mapped: ['203.0.113.5:41641'],
  now: 100_000,
};

describe('pathWhy: why a peer is direct or relayed, in words', () => {
  test('direct paths off on this node', () => {
    assert.equal(
      pathWhy({ ...base, udp: false, paths: undefined }),
      'relayed: direct paths are off on this node (--no-direct)',
    );
  });

  test('direct: the endpoint and its RTT', () => {
    const w = pathWhy({
      ...base,
      paths: ps({ path: { kind: 'direct', endpoint: '198.51.100.1:41641', rttMs: 1.234 }, state: 'direct' }),
    });
    assert.equal(w, 'direct: 198.51.100.1:41641 answers our PINGs (rtt 1.2 ms)');
  });

  test('the peer published no address', () => {
    assert.match(
      pathWhy({ ...base, peerEndpoints: [] }),
      /^relayed: the peer has published no direct address/,
    );
  });

  test('our STUN got no answer: UDP out may be blocked', () => {
    const w = pathWhy({ ...base, mapped: [], paths: ps({ candidates: [cand('198.51.100.1:41641')] }) });
    assert.match(
      w,
      /^relayed: no STUN server answered this node \(192\.0\.2\.1:3478\): UDP out of this network may be blocked; run 'sallyport netcheck'$/,
    );
  });

  test('probing now, and since when', () => {
    const w = pathWhy({
      ...base,
      paths: ps({
        state: 'probing',
        candidates: [cand('a:1'), cand('b:2')],
        lastRound: { startedAt: 98_000, pongs: 0, candidates: 2 },
      }),
    });
    assert.equal(w, 'relayed: probing 2 candidates now (round started 2 s ago)');
  });

  test('a round that got no PONG: how many PINGs, when the next round is, the usual causes', () => {
    const w = pathWhy({
      ...base,
      paths: ps({
        candidates: [cand('198.51.100.1:41641', 3), cand('10.0.0.1:41641', 2)],
        lastRound: { startedAt: 90_000, endedAt: 97_000, pongs: 0, candidates: 2 },
        reprobeAt: 130_400,
      }),
    });
    assert.match(
      w,
      /^relayed: none of 2 candidates answered 5 PINGs of the last probe round; next probe round in 30 s\. Usual causes: .*symmetric.*firewall dropping UDP/,
    );
  });

  test('a direct path that stopped answering', () => {
    const w = pathWhy({
      ...base,
      paths: ps({
        candidates: [cand('198.51.100.1:41641')],
        lastChange: {
          from: { kind: 'direct', endpoint: '198.51.100.1:41641', rttMs: 3 },
          to: relay,
          reason: 'trust-expired',
          atMs: 1,
          atWallMs: 1,
        },
        reprobeAt: 145_000,
      }),
    });
    assert.equal(
      w,
      'relayed: the direct path 198.51.100.1:41641 stopped answering (no PONG within the trust period) and no candidate answered since; next probe round in 45 s',
    );
  });

  test('not probed yet', () => {
    assert.match(
      pathWhy({ ...base, paths: ps({ candidates: [cand('a:1', 0)] }) }),
      /^relayed: not probed yet/,
    );
  });
});

describe('findPeer', () => {
  const peers = [
    { name: 'acme-connector', key: 'AbCdEf1234' },
    { name: 'alice-laptop', key: 'AbCdXX9999' },
  ];
  test('by name, or by a key prefix of 4+ characters', () => {
    assert.equal(findPeer(peers, 'alice-laptop').key, 'AbCdXX9999');
    assert.equal(findPeer(peers, 'AbCdE').name, 'acme-connector');
  });
  test('ambiguous and unknown are refused with the candidates named', () => {
    assert.throws(() => findPeer(peers, 'AbCd'), { code: 'AGENT_PEER_AMBIGUOUS', message: /names 2 peers/ });
    assert.throws(() => findPeer(peers, 'Ab'), {
      code: 'AGENT_PEER_UNKNOWN',
      message: /peers: acme-connector, alice-laptop/,
    });
  });
});
