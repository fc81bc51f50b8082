import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { randomBytes } from '../../crypto/index.ts';
import {
  ChannelCipher,
  ControlProtoError,
  applyDelta,
  decodeAgentMessage,
  decodeHandshakeReply,
  decodeHello,
  decodeServerMessage,
  diffNetmap,
  encodeAgentMessage,
  encodeHello,
  encodeServerMessage,
  grantAccess,
  normalizeNetmap,
  MAX_HANDSHAKE_PAYLOAD,
  type Netmap,
  type NetmapPeer,
} from './index.ts';

const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
const KEY_A = Buffer.alloc(32, 1).toString('base64');
const KEY_B = Buffer.alloc(32, 2).toString('base64');

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ControlProtoError, String(e));
    return e.code;
  }
  return 'ok';
}

describe('hello and replies', () => {
  test('a hello round-trips; bad ones are refused with a typed error naming the field', () => {
    const h = {
      version: 1 as const,
      kind: 'connector' as const,
      name: 'c1',
      preauthKey: 'sppk_x',
      services: [{ name: 'k8s', kind: 'kubernetes' as const, address: '10.0.0.1:6443', labels: { a: 'b' } }],
    };
    assert.deepEqual(decodeHello(encodeHello(h)), h);
    const cases: [unknown, RegExp][] = [
      [{ ...h, version: 2 }, /version/],
      [{ ...h, kind: 'robot' }, /kind/],
      [{ ...h, extra: 1 }, /extra: unknown field/],
      [{ ...h, services: [{ name: 'K8S!', kind: 'tcp', address: 'a:1' }] }, /services\[0\]\.name/],
      [{ ...h, name: 'x'.repeat(64) }, /name/],
      [[], /expected an object/],
    ];
    for (const [v, re] of cases) assert.throws(() => decodeHello(enc(v)), re);
    assert.equal(
      codeOf(() => decodeHello(new Uint8Array([0xff, 0xfe]))),
      'CONTROL_BAD_JSON',
    );
    assert.equal(
      codeOf(() => decodeHello(new Uint8Array(MAX_HANDSHAKE_PAYLOAD + 1))),
      'CONTROL_TOO_LARGE',
    );
  });

  test('welcome and refusal decode', () => {
    const w = {
      type: 'welcome',
      version: 1,
      nodeId: 'n',
      name: 'c',
      kind: 'engineer',
      expiresAt: 5,
      serverTime: 4,
    };
    assert.deepEqual(decodeHandshakeReply(enc(w)), w);
    const r = { type: 'refused', code: 'PREAUTH_USED', message: 'used' };
    assert.deepEqual(decodeHandshakeReply(enc(r)), r);
    assert.equal(
      codeOf(() => decodeHandshakeReply(enc({ type: 'welcome' }))),
      'CONTROL_BAD_MESSAGE',
    );
  });

  test('channel messages both ways', () => {
    const a = { type: 'endpoints' as const, endpoints: ['192.0.2.1:41641'], homeRelay: 'eu' };
    assert.deepEqual(decodeAgentMessage(encodeAgentMessage(a)), a);
    assert.equal(
      codeOf(() => decodeAgentMessage(enc({ type: 'netmap' }))),
      'CONTROL_BAD_MESSAGE',
    );
    const csr = { type: 'csr' as const, id: 'r1', csr: 'PEM', service: 'k8s' };
    assert.deepEqual(decodeAgentMessage(encodeAgentMessage(csr)), csr);
    assert.equal(
      codeOf(() => decodeAgentMessage(enc({ ...csr, grant: 'g1' }))),
      'CONTROL_BAD_MESSAGE',
    );
    assert.equal(
      codeOf(() => decodeAgentMessage(enc({ type: 'csr', id: 'r1', csr: 'PEM' }))),
      'CONTROL_BAD_MESSAGE',
    );
    assert.equal(
      codeOf(() => decodeAgentMessage(enc({ type: 'csr', id: 'r1', csr: 'PEM', grant: 'a b' }))),
      'CONTROL_BAD_MESSAGE',
    );
    const nm = sampleNetmap([peer(KEY_B)]);
    const s = { type: 'netmap' as const, version: 1, netmap: nm };
    assert.deepEqual(decodeServerMessage(encodeServerMessage(s)), s);
    assert.equal(
      codeOf(() => decodeServerMessage(enc({ ...s, netmap: { ...nm, peers: [{ key: 'x' }] } }))),
      'CONTROL_BAD_MESSAGE',
    );
  });

  test('a break-glass notice round-trips; a malformed one is refused', () => {
    const n = {
      type: 'notice' as const,
      id: 7,
      action: 'mgmt.break-glass' as const,
      at: 1,
      actor: 'user:ops',
      details: { reason: 'INC-1 overlay down', service: 'k8s' },
    };
    assert.deepEqual(decodeServerMessage(encodeServerMessage(n)), n);
    for (const bad of [
      { ...n, id: 0 },
      { ...n, action: 'grant.create' },
      { ...n, details: { reason: 5 } },
      { ...n, details: { x: 'y'.repeat(2000) } },
      { ...n, details: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v'])) },
      { ...n, extra: true },
    ])
      assert.equal(
        codeOf(() => decodeServerMessage(enc(bad))),
        'CONTROL_BAD_MESSAGE',
      );
  });

  test('an audit checkpoint for a connector round-trips; a malformed one is refused', () => {
    const cp = {
      type: 'checkpoint' as const,
      checkpoint: {
        seq: 42,
        hash: 'ab'.repeat(32),
        time: 1,
        keyId: '0123456789abcdef',
        signature: 'A'.repeat(86) + '==',
      },
      publicKey: KEY_B,
    };
    assert.deepEqual(decodeServerMessage(encodeServerMessage(cp)), cp);
    for (const bad of [
      { ...cp.checkpoint, seq: 0 },
      { ...cp.checkpoint, hash: 'AB'.repeat(32) },
      { ...cp.checkpoint, keyId: 'xyz' },
      { ...cp.checkpoint, signature: 'short' },
      { ...cp.checkpoint, extra: 1 },
    ])
      assert.equal(
        codeOf(() => decodeServerMessage(enc({ ...cp, checkpoint: bad }))),
        'CONTROL_BAD_MESSAGE',
      );
    assert.equal(
      codeOf(() => decodeServerMessage(enc({ ...cp, publicKey: 'x' }))),
      'CONTROL_BAD_MESSAGE',
    );
  });

  test('a netmap grant carries its access level; absent (an older coordinator) reads as read-only', () => {
    const g = { id: 'g1', peerKey: KEY_B, user: 'alice', services: ['k8s'], notBefore: 0, notAfter: null };
    const msg = (grant: Record<string, unknown>) =>
      enc({ type: 'netmap', version: 1, netmap: { ...sampleNetmap([peer(KEY_B)]), grants: [grant] } });
    const decoded = (grant: Record<string, unknown>) => {
      const m = decodeServerMessage(msg(grant));
      assert.equal(m.type, 'netmap');
      return (m as { netmap: Netmap }).netmap.grants[0];
    };
    assert.equal(grantAccess(decoded(g)), 'read-only');
    for (const access of ['read-only', 'read-write', 'admin'] as const)
      assert.equal(grantAccess(decoded({ ...g, access })), access);
    for (const access of ['root', 'READ-WRITE', '', 1, null])
      assert.equal(
        codeOf(() => decodeServerMessage(msg({ ...g, access }))),
        'CONTROL_BAD_MESSAGE',
      );
    // Whatever a caller built by hand, an unknown level is never read as more than read-only.
    assert.equal(grantAccess({ ...g, access: 'root' as never }), 'read-only');
  });

  test('fuzz: random and mutated bytes only ever raise ControlProtoError', () => {
    const seeds = [
      encodeHello({ version: 1, kind: 'engineer', name: 'e' }),
      encodeServerMessage({ type: 'netmap', version: 1, netmap: sampleNetmap([peer(KEY_B)]) }),
      encodeAgentMessage({ type: 'services', services: [{ name: 'a', kind: 'tcp', address: 'x:1' }] }),
    ];
    const decoders = [decodeHello, decodeHandshakeReply, decodeServerMessage, decodeAgentMessage];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([s, i, b]) => {
            const c = new Uint8Array(s);
            c[i % c.length] = b;
            return c;
          }),
          fc.json().map((j) => new TextEncoder().encode(j)),
        ),
        (bytes) => {
          for (const d of decoders) {
            try {
              d(bytes);
            } catch (e) {
              if (!(e instanceof ControlProtoError)) throw e;
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('framing', () => {
  const pair = () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    return [new ChannelCipher({ send: k1, recv: k2 }), new ChannelCipher({ send: k2, recv: k1 })] as const;
  };

  test('seal/open round trip, replay refused, tamper refused, wrong key refused', () => {
    const [a, b] = pair();
    const m0 = a.seal(new TextEncoder().encode('hello'));
    const m1 = a.seal(new TextEncoder().encode('world'));
    assert.deepEqual([...m0.subarray(0, 8)], [0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(m1[7], 1);
    const r1 = b.open(m1);
    assert.ok(r1.ok && new TextDecoder().decode(r1.plaintext) === 'world');
    const r0 = b.open(m0); // out of order is fine
    assert.ok(r0.ok && new TextDecoder().decode(r0.plaintext) === 'hello');
    assert.deepEqual(b.open(m1), { ok: false, code: 'CONTROL_REPLAY' });
    const t = new Uint8Array(a.seal(new Uint8Array(3)));
    t[9] ^= 1;
    assert.deepEqual(b.open(t), { ok: false, code: 'CONTROL_BAD_AUTH' });
    // a forged counter does not move the window
    const f = new Uint8Array(a.seal(new Uint8Array(1)));
    f[2] = 0x10;
    assert.deepEqual(b.open(f), { ok: false, code: 'CONTROL_BAD_AUTH' });
    assert.deepEqual(b.open(new Uint8Array(10)), { ok: false, code: 'CONTROL_BAD_FRAME' });
    assert.deepEqual(a.open(a.seal(new Uint8Array(1))), { ok: false, code: 'CONTROL_BAD_AUTH' });
  });

  test('fuzz: open never throws', () => {
    const [, b] = pair();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (x) => {
        assert.equal(b.open(x).ok, false);
      }),
      { numRuns: 300 },
    );
  });
});

function peer(key: string, endpoints: string[] = []): NetmapPeer {
  return { key, name: `n-${key.slice(0, 4)}`, kind: 'engineer', homeRelay: null, endpoints };
}

function sampleNetmap(peers: NetmapPeer[]): Netmap {
  return {
    self: { key: KEY_A, name: 'c1', kind: 'connector', deployment: 'acme-prod', expiresAt: 1 },
    relays: [{ region: 'eu', url: 'https://relay.example:443', token: 'AAAA', tokenExpiresAt: 5 }],
    peers,
    services: [],
    grants: [],
    serverTime: 0,
  };
}

describe('netmap deltas', () => {
  test('apply(from, diff(from, to)) = to, and no delta when only serverTime differs', () => {
    const keyArb = fc.integer({ min: 1, max: 12 }).map((i) => Buffer.alloc(32, i).toString('base64'));
    const peersArb = fc
      .uniqueArray(
        fc.tuple(keyArb, fc.array(fc.constantFrom('192.0.2.1:1', '192.0.2.2:2'), { maxLength: 2 })),
        {
          selector: (x) => x[0],
          maxLength: 8,
        },
      )
      .map((xs) => xs.map(([k, e]) => peer(k, e)));
    const mapArb = fc
      .tuple(peersArb, fc.nat(), fc.boolean(), fc.nat({ max: 3 }))
      .map(([peers, t, relay, ng]) => {
        const m = sampleNetmap(peers);
        return normalizeNetmap({
          ...m,
          relays: relay ? m.relays : [],
          grants: Array.from({ length: ng }, (_, i) => ({
            id: `g${i}`,
            peerKey: KEY_B,
            user: 'u',
            services: [],
            notBefore: 0,
            notAfter: null,
          })),
          serverTime: t,
        });
      });
    fc.assert(
      fc.property(mapArb, mapArb, (from, to) => {
        const d = diffNetmap(from, to);
        if (!d) assert.deepEqual({ ...from, serverTime: 0 }, { ...to, serverTime: 0 });
        else assert.deepEqual(applyDelta(from, d), to);
        assert.equal(diffNetmap(to, { ...to, serverTime: to.serverTime + 1 }), undefined);
      }),
      { numRuns: 300 },
    );
  });
});
