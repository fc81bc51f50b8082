import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readyLines, type ReadyInfo } from './ready.ts';

const base: ReadyInfo = {
  consoleUrl: 'https://198.18.0.6:8443/console/',
  consoleStatus: 200,
  dir: '/lab',
  users: {
    alice: { name: 'alice', password: 'a-pass' },
    bob: { name: 'bob', password: 'b-pass' },
    admin: { name: 'admin', password: 'x-pass' },
  },
  socks5: { host: '127.0.0.1', port: 1055 },
  pending: 'req1',
  main: {
    service: {
      spec: { name: 'demo', kind: 'prometheus', address: '127.0.0.1:1', tls: 'terminate' as const },
    },
    tailnetName: 'demo.acme-prod.us-east-1.aws.byoc.test',
  },
};

test('readyLines: on loopback, curl runs here; the logs are lab.log', () => {
  const text = readyLines(base).join('\n');
  assert.match(text, /^ {10}curl --socks5-hostname 127\.0\.0\.1:1055 /m);
  assert.match(text, /logs: +\/lab\/lab\.log/);
  assert.doesNotMatch(text, /ip netns exec/);
});

test('readyLines --netns: curl runs in the engineer namespace; the logs where the lab says', () => {
  const text = readyLines({ ...base, engineerNetns: 'spl-1-2-0-engineer', logs: '/lab/logs/' }).join('\n');
  assert.match(text, /^ {10}ip netns exec spl-1-2-0-engineer curl --socks5-hostname 127\.0\.0\.1:1055 /m);
  assert.match(text, /SOCKS5 127\.0\.0\.1:1055 in namespace spl-1-2-0-engineer/);
  assert.match(text, /logs: +\/lab\/logs\//);
});

test('readyLines: a ClickHouse service also gets the sallyport clickhouse line (no certificate flags)', () => {
  const ch: ReadyInfo = {
    ...base,
    main: {
      service: {
        spec: {
          name: 'clickhouse',
          kind: 'clickhouse' as const,
          address: '127.0.0.1:1',
          tls: 'terminate' as const,
        },
      },
      tailnetName: 'clickhouse.acme-prod.us-east-1.aws.byoc.test',
    },
  };
  const text = readyLines(ch).join('\n');
  assert.match(
    text,
    /^ {10}or: sallyport clickhouse acme-prod --state \/lab\/alice-laptop -- SELECT name, engine FROM system\.tables LIMIT 5$/m,
  );
  assert.doesNotMatch(readyLines(base).join('\n'), /sallyport clickhouse/);
});
