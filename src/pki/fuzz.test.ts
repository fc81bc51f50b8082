// Bad input never crashes the PKI: random bytes, random text and mutated CSRs/certificates give a
// PkiError with a code (or, for verifyChain, a failure result), never another exception.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FakeClock } from '../clock/index.ts';
import {
  createRoot,
  createIntermediate,
  createKeyAndCsr,
  issueClientCert,
  issueServerCert,
  parseCertificate,
  parseCsr,
  readClientIdentity,
  verifyChain,
  PkiError,
} from './index.ts';
import type { Ca } from './index.ts';

const clock = new FakeClock({ wallMs: Date.UTC(2033, 2, 3) });
let root: Ca, access: Ca, service: Ca;
let csrDer: Uint8Array;
let certPem: string;

function pem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/g, '$1\n')}\n-----END ${label}-----\n`;
}

function derOf(p: string): Uint8Array {
  return new Uint8Array(Buffer.from(p.replace(/-----[^-]+-----|\s/g, ''), 'base64'));
}

before(async () => {
  root = await createRoot({ clock });
  access = await createIntermediate(root, 'access', { clock });
  service = await createIntermediate(root, 'service', { clock });
  const { csrPem } = await createKeyAndCsr({ commonName: 'fuzz' });
  csrDer = derOf(csrPem);
  certPem = (
    await issueClientCert(access, csrPem, {
      identity: { user: 'u' },
      grantUri: 'sallyport:grant:f',
      notAfter: clock.wallMs() + 3_600_000,
      clock,
    })
  ).certPem;
});

/** Runs `f`; any throw must be a PkiError carrying a code. Returns 'ok' or the code. */
async function outcome(f: () => unknown): Promise<string> {
  try {
    await f();
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof PkiError, `not a PkiError: ${String(e)}`);
    assert.match(e.code, /^[A-Z_]+$/);
    return e.code;
  }
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(der: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = Uint8Array.from(der);
  for (const m of ms) {
    const at = b.length ? m.at % b.length : 0;
    if (m.kind === 'flip') b[at]! ^= 1 << m.bit;
    else if (m.kind === 'set') b[at] = m.value;
    else if (m.kind === 'cut') b = b.slice(0, at);
    else b = Uint8Array.from([...b.slice(0, at), ...m.bytes, ...b.slice(at)]);
  }
  return b;
}

const issue = (csrPem: string) =>
  issueClientCert(access, csrPem, {
    identity: { user: 'u' },
    grantUri: 'sallyport:grant:f',
    notAfter: clock.wallMs() + 60_000,
    clock,
  });

test('mutated CSRs are refused with a PkiError (or still verify), never a crash', async () => {
  const codes = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (ms) => {
      const bad = pem(mutate(csrDer, ms), 'CERTIFICATE REQUEST');
      const c = await outcome(() => issue(bad));
      codes.set(c, (codes.get(c) ?? 0) + 1);
      const s = await outcome(() =>
        issueServerCert(service, {
          csrPem: bad,
          dnsNames: ['a.example'],
          notAfter: clock.wallMs() + 1000,
          clock,
        }),
      );
      assert.ok(s === c, `client ${c} vs server ${s}`);
    }),
    { numRuns: 300 },
  );
  // The mutations must actually exercise the refusals, not just pass through.
  assert.ok((codes.get('CSR_MALFORMED') ?? 0) > 0, JSON.stringify([...codes]));
  assert.ok((codes.get('CSR_BAD_SIGNATURE') ?? 0) > 0, JSON.stringify([...codes]));
});

test('random bytes and text as CSR, certificate or chain input give typed errors', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 600 }).map((b) => pem(b, 'CERTIFICATE REQUEST')),
        fc.uint8Array({ maxLength: 600 }).map((b) => pem(b, 'CERTIFICATE')),
        fc.string({ maxLength: 400 }),
        fc.constantFrom(
          '',
          '-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----',
          'x'.repeat(70_000),
        ),
      ),
      async (input) => {
        assert.notEqual(await outcome(() => issue(input)), 'ok');
        await outcome(() => parseCsr(input));
        await outcome(() => parseCertificate(input));
        await outcome(() => readClientIdentity(input));
        const r = await verifyChain(input, [root.certPem, access.certPem], clock.wallMs());
        assert.equal(r.ok, false);
        const r2 = await verifyChain(certPem, [input], clock.wallMs());
        assert.equal(r2.ok, false);
      },
    ),
    { numRuns: 300 },
  );
});

/** What a certificate asserts, for comparing a mutated one that still verifies with the original. */
function meaning(p: string): unknown {
  const c = parseCertificate(p);
  return {
    identity: readClientIdentity(p),
    subject: c.subject,
    issuer: c.issuer,
    notBefore: c.notBefore.getTime(),
    notAfter: c.notAfter.getTime(),
    key: Buffer.from(c.publicKey.rawData).toString('hex'),
    extensions: c.extensions.map((e) => [e.type, e.critical, Buffer.from(e.value).toString('hex')]),
  };
}

test('mutated certificates never verify as a different valid chain and never crash', async () => {
  const der = derOf(certPem);
  await fc.assert(
    fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (ms) => {
      const m = mutate(der, ms);
      const p = pem(m, 'CERTIFICATE');
      await outcome(() => parseCertificate(p));
      await outcome(() => readClientIdentity(p));
      const r = await verifyChain(p, [root.certPem, access.certPem], clock.wallMs());
      // A mutation may leave a certificate that still verifies only where the encoding is malleable
      // outside the signed part (e.g. the BIT STRING's unused-bits byte of the signature); it must
      // then say exactly what the original says: same identity, grant, serial, key and window.
      if (r.ok) assert.deepEqual(meaning(p), meaning(certPem));
    }),
    { numRuns: 300 },
  );
});
