import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AccessError } from './errors.ts';
import { formatDuration, parseDuration, readDuration } from './duration.ts';
import { parsePolicyDocument, validatePolicyDocument } from './validate.ts';
import { DOC, HOUR } from './testkit.ts';

const base = DOC.policies[0];
const withPolicy = (over: Record<string, unknown>, drop: string[] = []) => {
  const p: Record<string, unknown> = { ...base, ...over };
  for (const k of drop) delete p[k];
  return { version: 1, policies: [p] };
};

describe('policy documents', () => {
  test('the fixture document parses with defaults applied', () => {
    const set = parsePolicyDocument(DOC);
    assert.equal(set.policies.length, 3);
    assert.equal(set.standing.length, 2);
    const [obs, db, glass] = set.policies;
    assert.equal(obs.maxDurationMs, 4 * HOUR);
    assert.equal(obs.maxTotalMs, 8 * HOUR);
    assert.equal(obs.pendingMs, 30 * 60_000);
    assert.equal(obs.customer, null);
    assert.deepEqual(db.customer, { group: 'acme-admins', threshold: 1 });
    assert.equal(glass.maxTotalMs, HOUR, 'maxTotal defaults to maxDuration');
    assert.equal(glass.pendingMs, HOUR, 'pendingFor defaults to 1h');
    assert.equal(glass.description, '');
    assert.deepEqual(
      glass.customer,
      { group: 'acme-admins', threshold: 1 },
      'customer threshold defaults to 1',
    );
  });

  test('a "__proto__" label from JSON stays a label', () => {
    const r = validatePolicyDocument(withPolicy({ services: JSON.parse('{"labels":{"__proto__":"x"}}') }));
    assert.ok(r.ok);
    const sel = r.value.policies[0].services;
    assert.ok(sel !== '*' && Object.hasOwn(sel.labels!, '__proto__'));
    assert.equal(Object.getPrototypeOf(sel.labels), Object.prototype);
  });

  test('durations may be whole milliseconds', () => {
    const r = validatePolicyDocument(withPolicy({ maxDuration: 90_000, maxTotal: 90_000 }));
    assert.ok(r.ok);
    assert.equal(r.value.policies[0].maxDurationMs, 90_000);
  });

  const bad: [string, unknown, string, string][] = [
    ['not an object', [], 'DOCUMENT_INVALID', ''],
    ['wrong version', { version: 2, policies: [] }, 'DOCUMENT_INVALID', 'version'],
    ['unknown top-level field', { version: 1, polices: [] }, 'FIELD_UNKNOWN', 'polices'],
    ['policies not a list', { version: 1, policies: {} }, 'FIELD_TYPE', 'policies'],
    ['policy not an object', { version: 1, policies: [7] }, 'FIELD_TYPE', 'policies[0]'],
    ['missing id', withPolicy({}, ['id']), 'FIELD_MISSING', 'policies[0].id'],
    ['bad id', withPolicy({ id: 'has space' }), 'ID_INVALID', 'policies[0].id'],
    ['typo in a field', withPolicy({ treshold: 2 }), 'FIELD_UNKNOWN', 'policies[0].treshold'],
    [
      'typo inside approval',
      withPolicy({ approval: { group: 'x', treshold: 2 } }),
      'FIELD_UNKNOWN',
      'policies[0].approval.treshold',
    ],
    ['requesters missing', withPolicy({}, ['requesters']), 'FIELD_MISSING', 'policies[0].requesters'],
    ['requesters empty', withPolicy({ requesters: [] }), 'LIST_EMPTY', 'policies[0].requesters'],
    ['requesters not strings', withPolicy({ requesters: [1] }), 'FIELD_TYPE', 'policies[0].requesters[0]'],
    [
      'group with control chars',
      withPolicy({ requesters: ['a\nb'] }),
      'NAME_INVALID',
      'policies[0].requesters[0]',
    ],
    ['empty group name', withPolicy({ requesters: [''] }), 'NAME_INVALID', 'policies[0].requesters[0]'],
    ['selector empty object', withPolicy({ services: {} }), 'SELECTOR_EMPTY', 'policies[0].services'],
    [
      'selector empty labels',
      withPolicy({ services: { labels: {} } }),
      'SELECTOR_EMPTY',
      'policies[0].services.labels',
    ],
    ['selector wrong type', withPolicy({ deployments: 'all' }), 'FIELD_TYPE', 'policies[0].deployments'],
    [
      'selector unknown key',
      withPolicy({ deployments: { name: ['x'] } }),
      'FIELD_UNKNOWN',
      'policies[0].deployments.name',
    ],
    ['unknown access level', withPolicy({ access: 'root' }), 'ACCESS_LEVEL_UNKNOWN', 'policies[0].access'],
    [
      'missing maxDuration',
      withPolicy({}, ['maxDuration', 'maxTotal']),
      'FIELD_MISSING',
      'policies[0].maxDuration',
    ],
    [
      'unreadable duration',
      withPolicy({ maxDuration: '2 hours' }),
      'DURATION_INVALID',
      'policies[0].maxDuration',
    ],
    ['fractional ms', withPolicy({ maxDuration: 1.5 }), 'DURATION_INVALID', 'policies[0].maxDuration'],
    ['zero duration', withPolicy({ maxDuration: '0s' }), 'DURATION_OUT_OF_RANGE', 'policies[0].maxDuration'],
    [
      'above 7 days',
      withPolicy({ maxDuration: '8d', maxTotal: '8d' }),
      'DURATION_OUT_OF_RANGE',
      'policies[0].maxDuration',
    ],
    [
      'total below max',
      withPolicy({ maxDuration: '4h', maxTotal: '1h' }),
      'TOTAL_BELOW_MAX',
      'policies[0].maxTotal',
    ],
    [
      'pending too short',
      withPolicy({ pendingFor: '10ms' }),
      'DURATION_OUT_OF_RANGE',
      'policies[0].pendingFor',
    ],
    ['approval missing', withPolicy({}, ['approval']), 'FIELD_MISSING', 'policies[0].approval'],
    [
      'approval group missing',
      withPolicy({ approval: { threshold: 1 } }),
      'FIELD_MISSING',
      'policies[0].approval.group',
    ],
    [
      'threshold zero',
      withPolicy({ approval: { group: 'g', threshold: 0 } }),
      'THRESHOLD_INVALID',
      'policies[0].approval.threshold',
    ],
    [
      'threshold fractional',
      withPolicy({ approval: { group: 'g', threshold: 1.5 } }),
      'THRESHOLD_INVALID',
      'policies[0].approval.threshold',
    ],
    [
      'threshold huge',
      withPolicy({ approval: { group: 'g', threshold: 17 } }),
      'THRESHOLD_INVALID',
      'policies[0].approval.threshold',
    ],
    [
      'customer is the approver group',
      withPolicy({ customer: { group: 'sre-leads' } }),
      'GROUPS_OVERLAP',
      'policies[0].customer.group',
    ],
    ['customer not an object', withPolicy({ customer: true }), 'FIELD_TYPE', 'policies[0].customer'],
    ['duplicate ids', { version: 1, policies: [base, base] }, 'ID_DUPLICATE', 'policies[1].id'],
    [
      'standing without machines',
      { version: 1, standing: [{ ...DOC.standing[0], machines: [] }] },
      'LIST_EMPTY',
      'standing[0].machines',
    ],
    [
      'standing with approval',
      { version: 1, standing: [{ ...DOC.standing[0], approval: {} }] },
      'FIELD_UNKNOWN',
      'standing[0].approval',
    ],
    [
      'too many policies',
      { version: 1, policies: Array.from({ length: 1001 }, () => base) },
      'TOO_MANY',
      'policies',
    ],
  ];
  for (const [name, doc, code, path] of bad) {
    test(`refused: ${name} → ${code} at ${path || '(document)'}`, () => {
      const r = validatePolicyDocument(doc);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.ok(
        r.issues.some((i) => i.code === code && i.path === path),
        `wanted ${code} at ${path}, got ${JSON.stringify(r.issues)}`,
      );
      assert.throws(
        () => parsePolicyDocument(doc),
        (e: unknown) =>
          e instanceof AccessError && e.code === 'POLICY_INVALID' && e.issues.length === r.issues.length,
      );
    });
  }

  test('every problem is reported, not just the first', () => {
    const r = validatePolicyDocument(
      withPolicy({ access: 'root', maxDuration: 'x', approval: { group: 'g', threshold: 0 } }),
    );
    assert.equal(r.ok, false);
    if (!r.ok)
      assert.deepEqual(r.issues.map((i) => i.code).sort(), [
        'ACCESS_LEVEL_UNKNOWN',
        'DURATION_INVALID',
        'THRESHOLD_INVALID',
      ]);
  });
});

describe('durations', () => {
  const good: [string, number][] = [
    ['90s', 90_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['1h30m', 5_400_000],
    ['7d', 604_800_000],
    ['1d2h3m4s5ms', 93_784_005],
    ['250ms', 250],
  ];
  for (const [text, ms] of good) {
    test(`${text} = ${ms} ms and back`, () => {
      assert.equal(parseDuration(text), ms);
      assert.equal(parseDuration(formatDuration(ms)), ms);
    });
  }
  for (const text of ['', 'h', '2', '2x', '1m1h', '1h1h', '-1h', '1.5h', ' 1h', '1h ', '9999999999d']) {
    test(`refused: ${JSON.stringify(text)}`, () => {
      assert.equal(readDuration(text), undefined);
      assert.throws(
        () => parseDuration(text),
        (e: unknown) => e instanceof AccessError && e.code === 'DURATION_INVALID',
      );
    });
  }
});

describe('fuzz', () => {
  test('random JSON never throws, and is either a policy set or issues', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const r = validatePolicyDocument(v);
        assert.ok(r.ok || r.issues.length > 0);
      }),
      { numRuns: 2000 },
    );
  });

  test('the fixture with one field replaced by random JSON: valid, or refused with a path', () => {
    const fields = Object.keys(base);
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.jsonValue(), (field, value) => {
        const r = validatePolicyDocument(withPolicy({ [field]: value }));
        if (!r.ok) for (const i of r.issues) assert.ok(i.path.startsWith('policies[0]'), JSON.stringify(i));
      }),
      { numRuns: 2000 },
    );
  });
});
