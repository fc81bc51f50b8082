import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { fromHex, toHex } from '../../util/index.ts';
import {
  ATTR_SOFTWARE,
  ERR_UNKNOWN_ATTRIBUTE,
  StunError,
  answerBinding,
  bindingError,
  bindingRequest,
  bindingSuccess,
  bytesToIp,
  crc32,
  decode,
  encode,
  ipToBytes,
  isStun,
  mappedAddressOf,
  newTransactionId,
  shortTermKey,
  tryDecode,
  type StunAddress,
} from './index.ts';

interface Vector {
  hex: string;
  software: string;
  username?: string;
  priority?: string;
  iceControlled?: string;
  mapped?: StunAddress;
}
const V = JSON.parse(readFileSync(new URL('./testdata/rfc5769.json', import.meta.url), 'utf8')) as {
  password: string;
  request: Vector;
  ipv4Response: Vector;
  ipv6Response: Vector;
};
const KEY = shortTermKey(V.password);
const WRONG_KEY = shortTermKey('not the password');

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof StunError, `expected StunError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('did not throw');
}

describe('RFC 5769 vectors', () => {
  test('§2.1 sample request decodes, MESSAGE-INTEGRITY and FINGERPRINT check', () => {
    const b = fromHex(V.request.hex);
    const m = decode(b, { integrityKey: KEY });
    assert.equal(m.cls, 'request');
    assert.equal(m.method, 1);
    assert.equal(toHex(m.transactionId), 'b7e7a701bc34d686fa87dfae');
    assert.equal(m.software, V.request.software);
    assert.equal(m.username, V.request.username);
    assert.equal(m.integrity, 'valid');
    assert.equal(m.fingerprint, true);
    // PRIORITY (0x0024) is comprehension-required and not ours; ICE-CONTROLLED (0x8029) is optional.
    assert.deepEqual(m.unknownRequired, [0x0024]);
    const raw = m.attributes.filter((a) => a.kind === 'raw');
    assert.deepEqual(
      raw.map((a) => [a.type, toHex(a.value)]),
      [
        [0x0024, V.request.priority],
        [0x8029, V.request.iceControlled],
      ],
    );
    assert.equal(decode(b, { integrityKey: WRONG_KEY }).integrity, 'invalid');
    assert.equal(decode(b).integrity, 'unchecked');
  });

  for (const name of ['ipv4Response', 'ipv6Response'] as const) {
    test(`${name === 'ipv4Response' ? '§2.2' : '§2.3'} ${name} decodes to the mapped address`, () => {
      const v = V[name];
      const m = decode(fromHex(v.hex), { integrityKey: KEY });
      assert.equal(m.cls, 'success');
      assert.equal(m.software, v.software);
      assert.deepEqual(m.xorMappedAddress, v.mapped);
      assert.deepEqual(mappedAddressOf(m), v.mapped);
      assert.equal(m.integrity, 'valid');
      assert.equal(m.fingerprint, true);
      assert.deepEqual(m.unknownRequired, []);
    });

    test(`${name} re-encodes byte for byte (0x20 padding, as the RFC's vectors pad)`, () => {
      const v = V[name];
      const out = encode(
        {
          cls: 'success',
          transactionId: fromHex('b7e7a701bc34d686fa87dfae'),
          attributes: [
            { kind: 'software', value: v.software },
            { kind: 'xor-mapped-address', address: v.mapped! },
          ],
        },
        { integrityKey: KEY, fingerprint: true, padByte: 0x20 },
      );
      assert.equal(toHex(out), v.hex);
    });
  }

  test('§2.1 re-encodes byte for byte', () => {
    const r = V.request;
    const out = encode(
      {
        cls: 'request',
        transactionId: fromHex('b7e7a701bc34d686fa87dfae'),
        attributes: [
          { kind: 'software', value: r.software },
          { kind: 'raw', type: 0x0024, value: fromHex(r.priority!) },
          { kind: 'raw', type: 0x8029, value: fromHex(r.iceControlled!) },
          { kind: 'username', value: r.username! },
        ],
      },
      { integrityKey: KEY, padByte: 0x20 },
    );
    assert.equal(toHex(out), r.hex);
  });

  test('a pooled Buffer (as node:dgram delivers) decodes and is left unchanged', () => {
    for (const v of [V.request, V.ipv4Response, V.ipv6Response]) {
      const buf = Buffer.from(v.hex, 'hex');
      const m = decode(buf, { integrityKey: KEY });
      assert.equal(m.integrity, 'valid');
      assert.equal(buf.toString('hex'), v.hex);
      if (v.mapped) assert.deepEqual(m.xorMappedAddress, v.mapped);
      assert.equal(Object.getPrototypeOf(m.transactionId), Uint8Array.prototype);
    }
  });

  test('one flipped bit anywhere breaks the vector', () => {
    const b = fromHex(V.ipv4Response.hex);
    for (let i = 0; i < b.length; i++) {
      const c = b.slice();
      c[i] ^= 0x01;
      const r = tryDecode(c, { integrityKey: KEY });
      // Either refused outright, or the integrity check catches it; never a clean valid message.
      assert.ok(!r.ok || r.message.integrity !== 'valid' || !r.message.fingerprint, `byte ${i}`);
    }
  });
});

test('CRC-32 check value', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

test('binding helpers round trip', () => {
  const id = newTransactionId();
  assert.equal(id.length, 12);
  const req = decode(bindingRequest(id, { software: 'sallyport' }));
  assert.equal(req.cls, 'request');
  assert.equal(req.software, 'sallyport');
  assert.equal(req.fingerprint, true);
  assert.deepEqual(req.transactionId, id);

  const addr: StunAddress = { family: 'IPv6', address: 'fe80::1', port: 41641 };
  const ok = decode(bindingSuccess(id, addr, { fingerprint: false }));
  assert.equal(ok.fingerprint, false);
  assert.deepEqual(mappedAddressOf(ok), addr);
  assert.equal(mappedAddressOf(req), undefined);

  const err = decode(bindingError(id, ERR_UNKNOWN_ATTRIBUTE, 'Unknown Attribute', { unknown: [0x24, 0x3] }));
  assert.equal(err.cls, 'error');
  assert.deepEqual(err.errorCode, { code: 420, reason: 'Unknown Attribute' });
  assert.deepEqual(err.unknownAttributes, [0x24, 0x3]);
});

test('answerBinding: success, 420 for unknown required attributes, 400 for other methods, drop the rest', () => {
  const from: StunAddress = { family: 'IPv4', address: '203.0.113.9', port: 40000 };
  const id = newTransactionId();
  const ok = decode(answerBinding(bindingRequest(id), from, { software: 'relay' })!);
  assert.equal(ok.cls, 'success');
  assert.deepEqual(ok.transactionId, id);
  assert.deepEqual(ok.xorMappedAddress, from);
  assert.equal(ok.software, 'relay');

  const vector = decode(answerBinding(fromHex(V.request.hex), from)!);
  assert.equal(vector.cls, 'error');
  assert.deepEqual(vector.errorCode, { code: 420, reason: 'Unknown Attribute' });
  assert.deepEqual(vector.unknownAttributes, [0x0024]);

  const other = decode(answerBinding(encode({ cls: 'request', method: 0x003, transactionId: id }), from)!);
  assert.equal(other.cls, 'error');
  assert.equal(other.method, 0x003);
  assert.equal(other.errorCode?.code, 400);

  assert.equal(answerBinding(fromHex(V.ipv4Response.hex), from), undefined);
  assert.equal(answerBinding(new Uint8Array(148), from), undefined);
});

test('MAPPED-ADDRESS of an old server is read when there is no XOR-MAPPED-ADDRESS', () => {
  const id = newTransactionId();
  const addr: StunAddress = { family: 'IPv4', address: '198.51.100.7', port: 3478 };
  const m = decode(
    encode({ cls: 'success', transactionId: id, attributes: [{ kind: 'mapped-address', address: addr }] }),
  );
  assert.deepEqual(m.mappedAddress, addr);
  assert.deepEqual(mappedAddressOf(m), addr);
  // On the wire MAPPED-ADDRESS is plain: the address bytes appear as they are.
  assert.ok(
    toHex(
      encode({ cls: 'success', transactionId: id, attributes: [{ kind: 'mapped-address', address: addr }] }),
    ).includes('0d96c6336407'),
  );
});

test('message type bits: Binding classes and a 12-bit method', () => {
  const id = new Uint8Array(12);
  const head = (cls: 'request' | 'indication' | 'success' | 'error', method?: number) =>
    toHex(encode({ cls, method, transactionId: id }, { fingerprint: false }).subarray(0, 2));
  assert.equal(head('request'), '0001');
  assert.equal(head('indication'), '0011');
  assert.equal(head('success'), '0101');
  assert.equal(head('error'), '0111');
  assert.equal(head('error', 0xfff), '3fff');
  const m = decode(encode({ cls: 'indication', method: 0xabc, transactionId: id }));
  assert.equal(m.method, 0xabc);
  assert.equal(m.cls, 'indication');
});

describe('refusals', () => {
  const id = new Uint8Array(12).fill(7);
  const good = encode({
    cls: 'request',
    transactionId: id,
    attributes: [{ kind: 'software', value: 'abc' }],
  });

  test('table of malformed messages and their codes', () => {
    const withLen = (b: Uint8Array, len: number) => {
      const c = b.slice();
      new DataView(c.buffer).setUint16(2, len);
      return c;
    };
    const cases: [string, Uint8Array, string][] = [
      ['empty', new Uint8Array(0), 'STUN_TRUNCATED'],
      ['19 bytes', good.subarray(0, 19), 'STUN_TRUNCATED'],
      ['top bits', Uint8Array.from([0x40, ...good.subarray(1)]), 'STUN_NOT_STUN'],
      [
        'no cookie',
        Uint8Array.from([...good.subarray(0, 4), 0, 0, 0, 0, ...good.subarray(8)]),
        'STUN_NOT_STUN',
      ],
      ['length not /4', withLen(good, 2), 'STUN_BAD_LENGTH'],
      ['length too long', withLen(good, good.length), 'STUN_TRUNCATED'],
      ['trailing bytes', Uint8Array.from([...good, 0, 0, 0, 0]), 'STUN_BAD_LENGTH'],
      [
        'bad fingerprint',
        Uint8Array.from([...good.subarray(0, -1), good[good.length - 1] ^ 1]),
        'STUN_BAD_FINGERPRINT',
      ],
    ];
    for (const [name, b, want] of cases)
      assert.equal(
        code(() => decode(b)),
        want,
        name,
      );
  });

  test('attribute running past the end, malformed known attributes, attributes after FINGERPRINT', () => {
    const build = (attrs: number[]) => {
      const b = new Uint8Array(20 + attrs.length);
      const dv = new DataView(b.buffer);
      dv.setUint16(0, 1);
      dv.setUint16(2, attrs.length);
      dv.setUint32(4, 0x2112a442);
      b.set(attrs, 20);
      return b;
    };
    assert.equal(
      code(() => decode(build([0x80, 0x22, 0, 8, 1, 2, 3, 4]))),
      'STUN_TRUNCATED',
    );
    assert.equal(
      code(() => decode(build([0, 0x20, 0, 4, 0, 3, 0, 0]))),
      'STUN_BAD_ATTRIBUTE',
    ); // family 3
    assert.equal(
      code(() => decode(build([0, 0x20, 0, 4, 0, 1, 0, 0]))),
      'STUN_BAD_ATTRIBUTE',
    ); // short v4
    assert.equal(
      code(() => decode(build([0, 0x09, 0, 4, 0, 0, 7, 0]))),
      'STUN_BAD_ATTRIBUTE',
    ); // class 7
    assert.equal(
      code(() => decode(build([0, 0x09, 0, 4, 0, 0, 4, 100]))),
      'STUN_BAD_ATTRIBUTE',
    ); // number 100
    assert.equal(
      code(() => decode(build([0, 0x0a, 0, 3, 0, 1, 0, 0]))),
      'STUN_BAD_ATTRIBUTE',
    ); // odd list
    assert.equal(
      code(() => decode(build([0, 0x08, 0, 4, 0, 0, 0, 0]))),
      'STUN_BAD_ATTRIBUTE',
    ); // MI length
    assert.equal(
      code(() => decode(build([0x80, 0x28, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0]))),
      'STUN_BAD_ATTRIBUTE',
    );
    const fp = encode({ cls: 'request', transactionId: id });
    const after = build([...fp.subarray(20), 0x80, 0x22, 0, 0]);
    assert.equal(
      code(() => decode(after)),
      'STUN_BAD_FINGERPRINT',
    );
  });

  test('attributes after MESSAGE-INTEGRITY are ignored (but FINGERPRINT is checked)', () => {
    const withMi = encode({ cls: 'request', transactionId: id }, { integrityKey: KEY, fingerprint: false });
    const b = new Uint8Array(withMi.length + 8);
    b.set(withMi);
    b.set([0x80, 0x22, 0, 3, 0x61, 0x62, 0x63, 0], withMi.length);
    new DataView(b.buffer).setUint16(2, b.length - 20);
    const m = decode(b, { integrityKey: KEY });
    assert.equal(m.integrity, 'valid');
    assert.equal(m.software, undefined);
  });

  test('encode refuses what cannot go on the wire', () => {
    const enc = (attributes: Parameters<typeof encode>[0]['attributes'], txid = id) =>
      code(() => encode({ cls: 'request', transactionId: txid, attributes }));
    assert.equal(enc([], new Uint8Array(11)), 'STUN_INVALID_ARGUMENT');
    assert.equal(
      enc([{ kind: 'raw', type: ATTR_SOFTWARE, value: new Uint8Array(1) }]),
      'STUN_INVALID_ARGUMENT',
    );
    assert.equal(enc([{ kind: 'error-code', code: 200, reason: '' }]), 'STUN_INVALID_ARGUMENT');
    assert.equal(enc([{ kind: 'software', value: 'x'.repeat(764) }]), 'STUN_INVALID_ARGUMENT');
    const a = (address: string, family: 'IPv4' | 'IPv6' = 'IPv4', port = 1) => [
      { kind: 'xor-mapped-address' as const, address: { family, address, port } },
    ];
    assert.equal(enc(a('1.2.3')), 'STUN_INVALID_ARGUMENT');
    assert.equal(enc(a('::1')), 'STUN_INVALID_ARGUMENT');
    assert.equal(enc(a('1.2.3.4', 'IPv4', 65536)), 'STUN_INVALID_ARGUMENT');
    assert.equal(enc([{ kind: 'raw', type: 0x7000, value: new Uint8Array(65536) }]), 'STUN_INVALID_ARGUMENT');
  });
});

test('isStun tells a whole STUN message from other datagrams', () => {
  const b = bindingRequest(newTransactionId());
  assert.equal(isStun(b), true);
  assert.equal(isStun(b.subarray(0, b.length - 4)), false);
  // A WireGuard initiation begins 01 00 00 00 and is 148 bytes: no cookie.
  const wg = new Uint8Array(148);
  wg[0] = 1;
  assert.equal(isStun(wg), false);
});

test('IP text forms match what node:dgram reports', () => {
  const table: [string, string][] = [
    ['127.0.0.1', '7f000001'],
    ['::1', '00000000000000000000000000000001'],
    ['::', '00000000000000000000000000000000'],
    ['2001:db8::1:0:0:1', '20010db8000000000001000000000001'],
    ['2001:db8:0:1:1:1:1:1', '20010db8000000010001000100010001'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['fe80::1', 'fe800000000000000000000000000001'],
    ['1::', '00010000000000000000000000000000'],
  ];
  for (const [text, hex] of table) {
    assert.equal(toHex(ipToBytes(text)), hex, text);
    assert.equal(bytesToIp(fromHex(hex)), text, hex);
  }
  assert.equal(toHex(ipToBytes('fe80::1%eth0')), 'fe800000000000000000000000000001');
  assert.equal(toHex(ipToBytes('2001:DB8::A')), '20010db800000000000000000000000a');
  assert.equal(bytesToIp(ipToBytes('2001:0db8:0000:0000:0000:0000:0000:0001')), '2001:db8::1');
  assert.equal(bytesToIp(ipToBytes('::1.2.3.4')), '::102:304');
});

test('IPv6 text agrees with the WHATWG URL serializer (RFC 5952) and parses back', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.array(fc.nat(15), { maxLength: 14 }),
      (b, zeros) => {
        for (const i of zeros) b[i] = 0; // long zero runs are where compression goes wrong
        const text = bytesToIp(b);
        assert.deepEqual(ipToBytes(text), b);
        if (!text.includes('.'))
          // the URL serializer never writes the ::ffff:a.b.c.d form
          assert.equal(text, new URL(`http://[${text}]/`).hostname.slice(1, -1));
      },
    ),
    { numRuns: 500 },
  );
});
