// The query audit never drops a record: a query (or exception) text cut at its length limit keeps
// surrogate pairs whole, says it was cut and how long it was, and the local chain verifies. The
// ClickHouse HTTP interface is played by a loopback server answering the poller's two statements.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FakeClock } from '../../src/clock/index.ts';
import { LocalAudit } from '../../src/agent/local-audit.ts';
import { QueryLogPoller } from '../../src/targets/clickhouse/audit-poller.ts';

const EMOJI = '\u{1F600}';

async function fakeClickHouse(rows: object[]): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    let sql = '';
    req.on('data', (b: Buffer) => (sql += b.toString()));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(sql.includes('system.query_log') ? rows.map((r) => JSON.stringify(r)).join('\n') + '\n' : '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

test('a query cut inside a surrogate pair is kept whole, marked truncated, and the chain verifies', async () => {
  const max = 64;
  const query = 'SELECT ' + 'x'.repeat(max - 8) + EMOJI + ' FROM system.one'; // the pair straddles unit `max`
  assert.equal(query.charCodeAt(max - 1) >> 10, 0xd800 >> 10, 'the cut falls inside the pair');
  const exception = 'e'.repeat(999) + EMOJI + 'tail';
  const row = (id: string, type: number) => ({
    type,
    t: 1_700_000_000,
    query_id: id,
    user: 'sp_alice_1',
    query,
    exception: type === 2 ? '' : exception,
    read_rows: 1,
    result_rows: 1,
    query_duration_ms: 3,
    address: '::ffff:127.0.0.1',
    interface: 2,
  });
  const ch = await fakeClickHouse([row('q1', 2), row('q2', 4)]);
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-poller-'));
  const clock = new FakeClock({ wallMs: 1_700_000_000_000 });
  const audit = new LocalAudit(dir, clock, 'connector:test');
  const poller = new QueryLogPoller({
    service: 'ch',
    address: { host: '127.0.0.1', port: ch.port },
    admin: { user: 'admin', password: 'pw' },
    clock,
    logger: pino({ level: 'silent' }),
    audit,
    stateFile: join(dir, 'poller.json'),
    maxQueryChars: max,
  });
  try {
    poller.update(
      new Map([
        [
          'sp_alice_1',
          {
            grantId: 'g1',
            user: 'alice',
            access: 'read-only',
            service: 'ch',
            deployment: 'acme-prod',
            notAfter: 1_700_003_600_000,
          },
        ],
      ]),
      [],
    );
    await poller.poll();
    await audit.flushed();
    assert.equal(audit.failures, 0, 'no record dropped');
    const recs = LocalAudit.read(audit.file).filter((r) => r.action === 'clickhouse.query');
    assert.deepEqual(
      recs.map((r) => r.details.queryId),
      ['q1', 'q2'],
    );
    for (const r of recs) {
      const q = r.details.query as string;
      // max code points: the emoji is the last one kept, whole (slice(0, max) cut it in two)
      assert.equal(q, [...query].slice(0, max).join(''));
      assert.ok(q.endsWith(EMOJI));
      assert.equal(r.details.queryTruncated, true);
      assert.equal(r.details.queryLength, [...query].length);
    }
    assert.equal(recs[1].details.exception, 'e'.repeat(999) + EMOJI);
    assert.equal(recs[1].details.exceptionTruncated, true);
    assert.equal(recs[1].details.exceptionLength, [...exception].length);
    assert.equal(recs[0].details.exceptionTruncated, undefined);
    const v = LocalAudit.verify(audit.file);
    assert.ok(v.ok, JSON.stringify(v));
  } finally {
    await poller.close();
    ch.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
