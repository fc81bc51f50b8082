// NatTable against a naive reference: random outbound packets, inbound packets, idle time and
// flushes (waits chosen to land exactly on expiry instants), checked step by step against a model that recomputes expiry by scanning every mapping
// (the table expires lazily, from a lower bound). Also: no external port ever serves two mappings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NatTable, Rng } from './index.ts';
import type { Endpoint, FilteringBehavior, MappingBehavior } from './index.ts';

type Op =
  | { k: 'out'; x: number; y: number }
  | { k: 'in'; y: number; m: number }
  | { k: 'wait'; ms: number }
  | { k: 'flush' };

// A few internal endpoints and remotes, so that mappings and filters collide often.
const INSIDE: Endpoint[] = [
  { address: '192.168.0.2', port: 5000 },
  { address: '192.168.0.2', port: 5001 },
  { address: '192.168.0.3', port: 5000 },
];
const REMOTE: Endpoint[] = [
  { address: '198.51.100.1', port: 3478 },
  { address: '198.51.100.1', port: 3479 },
  { address: '198.51.100.2', port: 3478 },
  { address: '198.51.100.3', port: 9 },
];

interface ModelMapping {
  port: number;
  internal: Endpoint;
  refreshed: number;
  sent: Endpoint[];
}

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant('out' as const), x: fc.nat(2), y: fc.nat(3) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('in' as const), y: fc.nat(3), m: fc.nat(7) }) },
  {
    weight: 3,
    arbitrary: fc.record({ k: fc.constant('wait' as const), ms: fc.constantFrom(0, 1, 250, 500, 999, 1000) }),
  },
  { weight: 1, arbitrary: fc.constant({ k: 'flush' as const }) },
);

test('NatTable matches a naive model under random traffic', () => {
  fc.assert(
    fc.property(
      fc.constantFrom<MappingBehavior>('EIM', 'ADM', 'APDM'),
      fc.constantFrom<FilteringBehavior>('EIF', 'ADF', 'APDF'),
      fc.constantFrom('preserve', 'sequential', 'random' as const),
      fc.boolean(),
      fc.array(op, { minLength: 10, maxLength: 150, size: 'max' }),
      fc.nat(),
      (mapping, filtering, portAssignment, inboundRefresh, ops, seed) => {
        const ttl = 1000;
        const table = new NatTable(
          { mapping, filtering, portAssignment, inboundRefresh, mappingTimeoutMs: ttl },
          new Rng(seed),
        );
        const model = new Map<string, ModelMapping>();
        let now = 0;
        let created = 0;
        let expired = 0;
        const keyOf = (x: Endpoint, y: Endpoint) =>
          mapping === 'EIM'
            ? `${x.address}:${x.port}`
            : mapping === 'ADM'
              ? `${x.address}:${x.port}>${y.address}`
              : `${x.address}:${x.port}>${y.address}:${y.port}`;
        const expire = () => {
          for (const [k, m] of model)
            if (now >= m.refreshed + ttl) {
              model.delete(k);
              expired++;
            }
        };
        for (const o of ops) {
          if (o.k === 'wait') {
            now += o.ms;
            continue;
          }
          if (o.k === 'flush') {
            expire();
            assert.equal(table.flush(now), model.size);
            model.clear();
            continue;
          }
          expire();
          if (o.k === 'out') {
            const x = INSIDE[o.x];
            const y = REMOTE[o.y];
            const k = keyOf(x, y);
            const r = table.outbound(x, y, now);
            assert.ok(r, 'a port is always free here');
            const m = model.get(k);
            if (m) {
              assert.equal(r.created, false);
              assert.equal(r.externalPort, m.port, 'a live mapping keeps its port');
              m.refreshed = now;
              m.sent.push(y);
            } else {
              assert.equal(r.created, true);
              created++;
              for (const other of model.values())
                assert.notEqual(other.port, r.externalPort, 'no overloading');
              if (portAssignment === 'preserve' && ![...model.values()].some((v) => v.port === x.port))
                assert.equal(r.externalPort, x.port, 'a free port is preserved');
              model.set(k, { port: r.externalPort, internal: x, refreshed: now, sent: [y] });
            }
          } else {
            const y = REMOTE[o.y];
            const live = [...model.values()];
            // Half the time aim at a live mapping's port, else at a port that may be unmapped.
            const port = live.length > 0 && o.m < 4 ? live[o.m % live.length].port : 1024 + o.m;
            const m = live.find((v) => v.port === port);
            const r = table.inbound(port, y, now);
            if (!m) assert.equal(r, 'no-mapping');
            else {
              const pass =
                filtering === 'EIF' ||
                (filtering === 'ADF' && m.sent.some((s) => s.address === y.address)) ||
                (filtering === 'APDF' && m.sent.some((s) => s.address === y.address && s.port === y.port));
              if (pass) {
                assert.deepEqual(r, { internal: m.internal });
                if (inboundRefresh) m.refreshed = now;
              } else assert.equal(r, 'filtered');
            }
          }
          assert.equal(table.size, model.size);
        }
        expire();
        assert.equal(table.list(now).length, model.size);
        assert.equal(table.stats.mappingsCreated, created);
        assert.equal(table.stats.mappingsExpired, expired);
      },
    ),
    { numRuns: 400 },
  );
});

test('behaviour options are validated once', () => {
  const rng = new Rng(1);
  assert.throws(() => new NatTable({ mappingTimeoutMs: 0 }, rng), /mappingTimeoutMs/);
  assert.throws(() => new NatTable({ mapping: 'XIM' as MappingBehavior }, rng), /mapping XIM/);
  const t = new NatTable({}, rng);
  assert.deepEqual(t.behavior, {
    mapping: 'EIM',
    filtering: 'APDF',
    portAssignment: 'preserve',
    mappingTimeoutMs: 120_000,
    inboundRefresh: false,
  });
});
