import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminUsersXml, rewriteConfig } from './clickhouse.ts';

const CONFIG = `<?xml version="1.0"?>
<yandex>
    <logger><log>/var/log/clickhouse-server/clickhouse-server.log</log></logger>
    <http_port>8123</http_port>
    <tcp_port>9000</tcp_port>
    <interserver_http_port>9009</interserver_http_port>
    <!-- <listen_host>::</listen_host> -->
    <listen_host>0.0.0.0</listen_host>
    <path>/var/lib/clickhouse/</path>
    <tmp_path>/var/lib/clickhouse/tmp/</tmp_path>
    <users_config>users.xml</users_config>
</yandex>
`;

test('rewriteConfig: paths below DIR, fresh ports, loopback only', () => {
  const out = rewriteConfig(CONFIG, '/tmp/x', { http: 1, tcp: 2, inter: 3 });
  assert.ok(!out.includes('/var/lib') && !out.includes('/var/log'));
  assert.ok(
    out.includes('<path>/tmp/x/data/</path>') && out.includes('<log>/tmp/x/log/clickhouse-server.log</log>'),
  );
  assert.ok(out.includes('<http_port>1</http_port>') && out.includes('<tcp_port>2</tcp_port>'));
  assert.ok(out.includes('<interserver_http_port>3</interserver_http_port>'));
  assert.ok(!out.includes('<listen_host>0.0.0.0</listen_host>'));
  assert.ok(out.includes('<!-- <listen_host>::</listen_host> -->'), 'comments untouched');
  assert.equal(out.match(/<listen_host>127\.0\.0\.1<\/listen_host>/g)?.length, 1);
  assert.throws(() => rewriteConfig('<yandex></yandex>', '/tmp/x', { http: 1, tcp: 2, inter: 3 }));
});

test('adminUsersXml: one loopback admin with a hashed password, nothing else', () => {
  const xml = adminUsersXml('pw');
  assert.ok(!xml.includes('>pw<'));
  assert.match(xml, /<password_sha256_hex>[0-9a-f]{64}<\/password_sha256_hex>/);
  assert.ok(!xml.includes('<readonly>'), 'no password-less readonly user');
  assert.ok(!xml.includes('::/0'));
});
