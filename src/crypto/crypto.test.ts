import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { fromHex, toHex } from '../util/index.ts';
import {
  PrivateKey,
  PublicKey,
  hash,
  hmac,
  kdf,
  mac,
  seal,
  open,
  xseal,
  xopen,
  CryptoError,
} from './index.ts';

test('X25519 matches RFC 7748 §6.1', () => {
  const a = PrivateKey.fromBytes(fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
  const b = PrivateKey.fromBytes(fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
  assert.equal(toHex(a.publicKey.bytes), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  assert.equal(toHex(b.publicKey.bytes), 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
  const k = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
  assert.equal(toHex(a.dh(b.publicKey)!), k);
  assert.equal(toHex(b.dh(a.publicKey)!), k);
});

test('X25519 with a low-order point gives no shared secret', () => {
  const a = PrivateKey.generate();
  assert.equal(a.dh(PublicKey.fromBytes(new Uint8Array(32))), undefined);
  // The point of order 8 from RFC 7748 §5 test lists (e0eb7a7c...).
  const order8 = fromHex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800');
  assert.equal(a.dh(PublicKey.fromBytes(order8)), undefined);
});

test('keys never print their secret bytes', () => {
  const k = PrivateKey.generate();
  const secretHex = toHex(k.unsafeBytes());
  const secretB64 = Buffer.from(k.unsafeBytes()).toString('base64');
  for (const shown of [String(k), JSON.stringify({ k }), inspect(k), inspect({ nested: { k } }), `${k}`]) {
    assert.ok(!shown.includes(secretHex) && !shown.includes(secretB64), shown);
  }
  assert.match(String(k.publicKey), /^\[[A-Za-z0-9+/]{8}\]$/);
  assert.equal(PublicKey.fromBase64(k.publicKey.base64()).equals(k.publicKey), true);
  assert.throws(() => PublicKey.fromBytes(new Uint8Array(31)), CryptoError);
  assert.throws(() => PublicKey.fromBase64('not base64'), CryptoError);
});

test('BLAKE2s-256 and HMAC-BLAKE2s known answers', () => {
  assert.equal(
    toHex(hash(Buffer.from('abc'))),
    '508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982',
  );
  assert.equal(toHex(hash(Buffer.from('a'), Buffer.from('bc'))), toHex(hash(Buffer.from('abc'))));
  // HMAC per RFC 2104 with BLAKE2s (block 64): recomputed by hand from the definition.
  const key = Buffer.alloc(32, 7);
  const msg = Buffer.from('message');
  const ipad = Buffer.alloc(64, 0x36);
  const opad = Buffer.alloc(64, 0x5c);
  for (let i = 0; i < 32; i++) {
    ipad[i] ^= key[i];
    opad[i] ^= key[i];
  }
  assert.equal(toHex(hmac(key, msg)), toHex(hash(opad, hash(ipad, msg))));
});

test('KDF1..3 chain as WireGuard §5.4 defines', () => {
  const key = Buffer.alloc(32, 1);
  const input = Buffer.alloc(32, 2);
  const [a, b, c] = kdf(3, key, input);
  const prk = hmac(key, input);
  assert.equal(toHex(a), toHex(hmac(prk, Uint8Array.of(1))));
  assert.equal(toHex(b), toHex(hmac(prk, a, Uint8Array.of(2))));
  assert.equal(toHex(c), toHex(hmac(prk, b, Uint8Array.of(3))));
  assert.equal(toHex(kdf(1, key, input)[0]), toHex(a));
  assert.deepEqual(kdf(2, key, input).map(toHex), [a, b].map(toHex));
});

test('keyed BLAKE2s-128 depends on key and input', () => {
  const m = mac(Buffer.alloc(32, 1), Buffer.from('x'));
  assert.equal(m.length, 16);
  assert.notEqual(toHex(m), toHex(mac(Buffer.alloc(32, 2), Buffer.from('x'))));
  assert.notEqual(toHex(m), toHex(mac(Buffer.alloc(32, 1), Buffer.from('y'))));
  // BLAKE2s-128 keyed differs from a truncated BLAKE2s-256 (the output length is a parameter).
  assert.notEqual(toHex(m), toHex(hash(Buffer.from('x')).subarray(0, 16)));
});

test('ChaCha20-Poly1305 seals, opens, and refuses tampering', () => {
  const key = Buffer.alloc(32, 9);
  const ad = Buffer.from('ad');
  const pt = Buffer.from('hello wireguard');
  const ct = seal(key, 5n, pt, ad);
  assert.equal(ct.length, pt.length + 16);
  assert.equal(Buffer.from(open(key, 5n, ct, ad)!).toString(), 'hello wireguard');
  assert.equal(open(key, 6n, ct, ad), undefined);
  assert.equal(open(key, 5n, ct, Buffer.from('AD')), undefined);
  const bad = Buffer.from(ct);
  bad[0] ^= 1;
  assert.equal(open(key, 5n, bad, ad), undefined);
  assert.equal(open(key, 5n, ct.subarray(0, 10), ad), undefined);
  const out = new Uint8Array(100);
  const view = seal(key, 5n, pt, ad, out, 16);
  assert.equal(toHex(view), toHex(ct));
  assert.equal(open(key, 0xffffffffffffffffn, seal(key, 0xffffffffffffffffn, pt, ad), ad)!.length, pt.length);
});

test('XChaCha20-Poly1305 seals and opens', () => {
  const key = Buffer.alloc(32, 3);
  const n = Buffer.alloc(24, 4);
  const ct = xseal(key, n, Buffer.alloc(16, 5), Buffer.alloc(16, 6));
  assert.equal(ct.length, 32);
  assert.equal(toHex(xopen(key, n, ct, Buffer.alloc(16, 6))!), toHex(Buffer.alloc(16, 5)));
  assert.equal(xopen(key, n, ct, Buffer.alloc(16, 7)), undefined);
  assert.equal(xopen(key, n.subarray(1), ct, Buffer.alloc(16, 6)), undefined);
});

test('Ed25519 matches RFC 8032 §7.1 test 2 and refuses forgeries', async () => {
  const { SigningKey, VerifyKey } = await import('./index.ts');
  const k = SigningKey.fromSeed(fromHex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb'));
  assert.equal(toHex(k.verifyKey.bytes), '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c');
  const sig = k.sign(Uint8Array.of(0x72));
  assert.equal(
    toHex(sig),
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  );
  assert.equal(k.verifyKey.verify(Uint8Array.of(0x72), sig), true);
  assert.equal(k.verifyKey.verify(Uint8Array.of(0x73), sig), false);
  assert.equal(k.verifyKey.verify(Uint8Array.of(0x72), sig.subarray(1)), false);
  assert.equal(SigningKey.generate().verifyKey.verify(Uint8Array.of(0x72), sig), false);
  assert.equal(VerifyKey.fromBase64(k.verifyKey.base64()).equals(k.verifyKey), true);
  assert.ok(!inspect(k).includes('4ccd089b') && !JSON.stringify({ k }).includes('TM0Im'));
});
