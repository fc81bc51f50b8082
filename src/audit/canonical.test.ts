import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalize, isCanonicalizable } from './canonical.ts';
import { AuditError } from './errors.ts';
import { recordBody } from './record.ts';

const double = (bits: string): number => {
  const v = new DataView(new ArrayBuffer(8));
  v.setBigUint64(0, BigInt(`0x${bits}`));
  return v.getFloat64(0);
};

describe('canonicalize (RFC 8785)', () => {
  test('Appendix B: number serialization samples', () => {
    const samples: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [bits, want] of samples) assert.equal(canonicalize(double(bits)), want, bits);
    for (const bits of ['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000'])
      assert.throws(() => canonicalize(double(bits)), { code: 'NOT_CANONICAL' }, bits);
  });

  test('§3.2.2 example, and its UTF-8 bytes from §3.2.4', () => {
    const input = JSON.parse(
      '{\n  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n' +
        '  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n' +
        '  "literals": [null, true, false]\n}',
    ) as unknown;
    const out = canonicalize(input);
    assert.equal(
      out,
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
    // The RFC's bytes, spaced as printed there (one byte per pair).
    const rfc =
      '7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72 75 65 2c 66 61 6c 73 65 5d 2c ' +
      '22 6e 75 6d 62 65 72 73 22 3a 5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31 ' +
      '65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37 5d 2c 22 73 74 72 69 6e 67 22 ' +
      '3a 22 e2 82 ac 24 5c 75 30 30 30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d';
    assert.equal(Buffer.from(out, 'utf8').toString('hex'), rfc.replace(/ /g, ''));
  });

  test('§3.2.3: members sorted by UTF-16 code units', () => {
    const input = JSON.parse(
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh",' +
        '"1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control",' +
        '"\\u00f6":"Latin Small Letter O With Diaeresis"}',
    ) as Record<string, string>;
    const out = canonicalize(input);
    const order = [...out.matchAll(/"([^"]*)":"([^"]*)"/g)].map((m) => m[2]);
    assert.deepEqual(order, [
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
    assert.ok(out.startsWith('{"\\r":"Carriage Return","1":"One","\u0080":"Control"'));
  });

  test('no whitespace, nested values, -0 as 0, escapes in lower-case hex', () => {
    assert.equal(canonicalize({ b: [1, { d: -0, c: 'x' }], a: null }), '{"a":null,"b":[1,{"c":"x","d":0}]}');
    assert.equal(
      canonicalize('\u0001\u001f\b\t\n\f\r"\\\u007f'),
      '"\\u0001\\u001f\\b\\t\\n\\f\\r\\"\\\\\u007f"',
    );
    assert.equal(canonicalize('\ud83d\ude00'), '"\ud83d\ude00"');
    assert.equal(canonicalize(Object.assign(Object.create(null) as object, { z: 1, y: 2 })), '{"y":2,"z":1}');
  });

  test('refuses what has no canonical form, always with NOT_CANONICAL', () => {
    class Thing {
      a = 1;
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const refused: [string, unknown][] = [
      ['NaN', NaN],
      ['Infinity', Infinity],
      ['-Infinity in an array', [1, -Infinity]],
      ['undefined', undefined],
      ['an undefined member', { a: undefined }],
      ['undefined in an array', [undefined]],
      ['a hole', [1, , 3]], // eslint-disable-line no-sparse-arrays
      ['a function', { f: () => 1 }],
      ['a symbol', Symbol('s')],
      ['a bigint', 1n],
      ['a Date', new Date(0)],
      ['a Uint8Array', new Uint8Array(2)],
      ['a Map', new Map()],
      ['a class instance', new Thing()],
      ['symbol keys', { [Symbol('k')]: 1 }],
      ['a lone high surrogate', 'a\ud800'],
      ['a lone low surrogate', '\udc00b'],
      ['a reversed pair', '\ude00\ud83d'],
      ['a lone surrogate in a key', { '\ud800': 1 }],
      ['a cycle', cyclic],
    ];
    for (const [what, v] of refused) {
      assert.throws(
        () => canonicalize(v),
        (e: unknown) => e instanceof AuditError && e.code === 'NOT_CANONICAL',
        what,
      );
      assert.equal(isCanonicalizable(v), false, what);
    }
  });

  test('depth and length are bounded', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 5; i++) deep = [deep];
    assert.equal(canonicalize(deep, { maxDepth: 5 }), '[[[[[1]]]]]');
    assert.throws(() => canonicalize([deep], { maxDepth: 5 }), { code: 'NOT_CANONICAL' });
    let veryDeep: unknown = {};
    for (let i = 0; i < 10_000; i++) veryDeep = { a: veryDeep };
    assert.throws(() => canonicalize(veryDeep), { code: 'NOT_CANONICAL' });
    assert.equal(canonicalize('x'.repeat(8), { maxLength: 10 }), '"xxxxxxxx"');
    assert.throws(() => canonicalize('x'.repeat(9), { maxLength: 10 }), { code: 'NOT_CANONICAL' });
    assert.throws(() => canonicalize(new Array(600_000).fill(1)), { code: 'NOT_CANONICAL' });
  });

  test('property: round trip is a fixed point, parses back equal, ignores member order', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
        if (!isCanonicalizable(v)) return; // a lone surrogate from the generator
        const c = canonicalize(v);
        const back = JSON.parse(c) as unknown;
        assert.equal(canonicalize(back), c);
        assert.deepEqual(back, JSON.parse(JSON.stringify(v)));
        assert.doesNotMatch(c.replace(/"(?:[^"\\]|\\.)*"/g, '""'), /\s/);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.integer()), (d) => {
        const reversed = Object.fromEntries(Object.entries(d).reverse());
        assert.equal(canonicalize(reversed), canonicalize(d));
      }),
      { numRuns: 200 },
    );
  });

  test('property: random values never throw anything but NOT_CANONICAL', () => {
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: true, withDate: true, withMap: true, withTypedArray: true }),
        (v) => {
          try {
            canonicalize(v);
          } catch (e) {
            assert.ok(e instanceof AuditError && e.code === 'NOT_CANONICAL', String(e));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a record body is canonical and names exactly the hashed fields', () => {
    const body = recordBody({
      seq: 1,
      time: 2,
      actor: 'a',
      action: 'b',
      subject: 'c',
      details: { z: 1, a: [] },
    });
    assert.equal(body, '{"action":"b","actor":"a","details":{"a":[],"z":1},"seq":1,"subject":"c","time":2}');
  });
});
