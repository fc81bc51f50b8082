// Fail closed (issue 13): which service configurations the connector accepts, and with what TLS
// mode; every other one is refused with AGENT_CONFIG and a message naming the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseServe, readConfigFile, checkServices, type ServiceSpec } from './config.ts';

// --serve value → the tls mode it gets, or the refusal's message.
const SERVE: [string, 'terminate' | 'passthrough' | RegExp][] = [
  ['ch=127.0.0.1:8123,kind=clickhouse', 'terminate'],
  ['ch=127.0.0.1:8123,kind=clickhouse,tls=terminate', 'terminate'],
  ['ch=127.0.0.1:8123,kind=clickhouse,tls=passthrough', /kind=tcp.*unfiltered|drop tls=passthrough/],
  ['prom=127.0.0.1:9090,kind=prometheus', 'terminate'],
  ['prom=127.0.0.1:9090,kind=prometheus,tls=passthrough', /drop tls=passthrough/],
  ['k8s=10.0.0.1:6443,kind=kubernetes', 'terminate'],
  ['k8s=10.0.0.1:6443,kind=kubernetes,tls=passthrough', /drop tls=passthrough/],
  ['web=127.0.0.1:8080', /write tls=passthrough.*or tls=terminate/],
  ['web=127.0.0.1:8080,kind=http', /write tls=passthrough.*or tls=terminate/],
  ['web=127.0.0.1:8080,kind=http,tls=passthrough', 'passthrough'],
  ['web=127.0.0.1:8080,kind=http,tls=terminate', 'terminate'],
  ['db=[fd00::1]:9000,kind=tcp,tls=passthrough', 'passthrough'],
  ['db=[fd00::1]:9000,tls=passthrough', 'passthrough'],
];

test('--serve: kinds with a target proxy are always terminated; passthrough only when written, for tcp/http', () => {
  for (const [v, want] of SERVE) {
    if (typeof want === 'string') assert.equal(parseServe(v).tls, want, v);
    else
      assert.throws(
        () => parseServe(v),
        (e: Error & { code?: string }) => e.code === 'AGENT_CONFIG' && want.test(e.message),
        v,
      );
  }
});

test('config file: the same table, with tls omitted or written', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sp-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'c.json');
  const rows: [Record<string, unknown>, 'terminate' | 'passthrough' | RegExp][] = [
    [{ kind: 'clickhouse', target: { usersDir: '/x' } }, 'terminate'],
    [{ kind: 'clickhouse', tls: 'passthrough', target: { usersDir: '/x' } }, /drop tls=passthrough/],
    [{ kind: 'prometheus' }, 'terminate'],
    [{ kind: 'prometheus', tls: 'passthrough' }, /drop tls=passthrough/],
    [{ kind: 'kubernetes', tls: 'passthrough' }, /drop tls=passthrough/],
    [{}, /write tls=passthrough/],
    [{ kind: 'http' }, /write tls=passthrough/],
    [{ kind: 'tcp', tls: 'passthrough' }, 'passthrough'],
    [{ kind: 'http', tls: 'terminate' }, 'terminate'],
  ];
  for (const [o, want] of rows) {
    writeFileSync(f, JSON.stringify({ services: [{ name: 's', address: '127.0.0.1:1', ...o }] }));
    if (typeof want === 'string') assert.equal(readConfigFile(f)[0].tls, want, JSON.stringify(o));
    else
      assert.throws(
        () => readConfigFile(f),
        (e: Error & { code?: string }) => e.code === 'AGENT_CONFIG' && want.test(e.message),
        JSON.stringify(o),
      );
  }
});

test('services given as objects (lab, tests, embedders) are checked the same way', () => {
  const svc = (kind: ServiceSpec['kind'], tls: ServiceSpec['tls']): ServiceSpec => ({
    name: 's',
    kind,
    address: '127.0.0.1:1',
    tls,
  });
  for (const kind of ['clickhouse', 'prometheus', 'kubernetes'] as const)
    assert.throws(() => checkServices([svc(kind, 'passthrough')]), /AGENT_CONFIG|drop tls=passthrough/, kind);
  checkServices([svc('tcp', 'passthrough'), svc('prometheus', 'terminate')]);
});

test('the examples in docs/operating-a-connector.md parse as written', (t) => {
  const doc = readFileSync(new URL('../../docs/operating-a-connector.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Services: flags or a config file'));
  const sh = /```sh\n([^`]*?)\n```/.exec(section)![1];
  const serves = [...sh.matchAll(/--serve (\S+)/g)].map((m) => parseServe(m[1]));
  assert.deepEqual(
    serves.map((s) => [s.name, s.tls]),
    [
      ['metrics', 'terminate'],
      ['web', 'terminate'],
    ],
  );
  const dir = mkdtempSync(join(tmpdir(), 'sp-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'services.json');
  writeFileSync(f, /```json\n([^`]*?)\n```/.exec(section)![1]);
  assert.deepEqual(
    readConfigFile(f).map((s) => [s.name, s.tls]),
    [
      ['k8s', 'terminate'],
      ['clickhouse', 'terminate'],
      ['metrics', 'terminate'],
      ['web', 'terminate'],
      ['db-debug', 'passthrough'],
    ],
  );
});
