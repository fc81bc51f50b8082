// `sallyport audit list / export / verify` against a real coordinator on SQLite (loopback): the
// export verifies under the coordinator's audit key, and tampering with the database itself —
// a row edited, rows cut from the end — is named by `audit verify`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { hashRecord } from '../../src/audit/index.ts';
import { run, type CliIo } from '../../src/cli/audit.ts';
import { ADMIN, startFixture, type Fixture } from './fixture.ts';
import { routes } from '../../src/control/index.ts';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (s) => (out += s), err: (s) => (err += s) };
  const code = await run(argv, io);
  return { code, out, err };
}

interface Row {
  seq: number;
  time: number;
  actor: string;
  action: string;
  subject: string;
  details: string;
  prev_hash: string;
  hash: string;
}

describe('sallyport audit list / export against a coordinator', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-audit-cli-'));
  let f: Fixture;
  let env: string[];
  let trust: string[];
  let db: SQLite.Database;
  let n = 0;
  /** Exports through the CLI into a fresh file; returns the CLI result and the file. */
  const exportNow = async () => {
    const out = join(dir, `export-${++n}.jsonl`);
    return { ...(await cli('export', ...env, '--out', out)), file: out };
  };

  before(async () => {
    f = await startFixture({ auditCheckpointEvery: 5 });
    const { token } = await f.anon.route(routes.login, {
      body: {
        user: ADMIN.name,
        password: ADMIN.password,
      },
    });
    for (const d of ['acme-prod', 'acme-stage', 'globex-prod'])
      await f.admin.route(routes.deploymentsCreate, { body: { name: d, region: 'us-east-1', cloud: 'aws' } });
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, f.coord.tls.cert);
    env = ['--server', f.coord.url, '--ca', caFile, '--token', token];
    const info = await f.anon.route(routes.info);
    trust = ['--trust-key', info.auditKey];
    // A second connection to the database file, as someone with access to it would have.
    db = new SQLite(join(f.dir, 'coordinator.db'));
    db.pragma('busy_timeout = 5000');
  });
  after(async () => {
    db?.close();
    await f?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('list shows the records the store appended', async () => {
    const r = await cli('list', ...env, '--json');
    assert.equal(r.code, 0, r.err);
    const rows = JSON.parse(r.out) as { seq: number; action: string }[];
    assert.equal(rows.filter((x) => x.action === 'deployment.create').length, 3);
    const t = await cli('list', ...env, '--after', '1', '--limit', '2');
    assert.match(t.out, /^SEQ +TIME +ACTOR +ACTION +SUBJECT\n2 /);
    assert.equal(t.out.trim().split('\n').length, 3);
  });

  test('export verifies under the audit key, signed through the head; tampering with the file is caught', async () => {
    const r = await exportNow();
    assert.equal(r.code, 0, r.err);
    const v = await cli('verify', r.file, ...trust, '--require-signed', '--json');
    const rep = JSON.parse(v.out) as {
      ok: boolean;
      lastSeq: number;
      signedThrough: number;
      trusted: boolean;
    };
    assert.equal(v.code, 0, v.out);
    assert.ok(rep.lastSeq >= 5, `${rep.lastSeq} records`);
    assert.deepEqual([rep.signedThrough, rep.trusted], [rep.lastSeq, true]);
    const lines = readFileSync(r.file, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes('"subject":"deployment:acme-stage"'));
    const seq = (JSON.parse(lines[i]) as { seq: number }).seq;
    const kept = lines.filter((_, j) => j !== i);
    const tampered = join(dir, 'tampered.jsonl');
    writeFileSync(tampered, kept.join('\n'));
    // named at the next record line (a checkpoint line may sit between)
    const next = kept.findIndex(
      (l) => l.startsWith('{') && l.includes(`"seq":${seq + 1},`) && l.includes('"type":"record"'),
    );
    const t = await cli('verify', tampered, ...trust);
    assert.equal(t.code, 1);
    assert.match(t.out, new RegExp(`^FAILED REMOVED at line ${next + 1}, seq ${seq}: `));
    const other = await cli('verify', r.file, '--trust-key', f.coord.keys.signingKey.verifyKey.base64());
    assert.equal(other.code, 1, 'the relay-token key is not the audit key');
    assert.match(other.out, /UNTRUSTED_KEY/);
  });

  test('a value with no canonical form is refused by the API; the log still exports and verifies', async () => {
    const put = await f.admin.raw(
      'PUT',
      '/api/v1/deployments/acme-prod/services/web',
      '{"kind":"http","address":"10.0.0.1:80","labels":{"team":"a\\ud800"}}',
      { 'content-type': 'application/json' },
    );
    assert.equal(put.status, 400, put.text);
    assert.equal((put.body as { error: { code: string } }).error.code, 'BAD_REQUEST');
    const r = await exportNow();
    assert.equal(r.code, 0, r.err);
    assert.equal((await cli('verify', r.file, ...trust)).code, 0);
  });

  test('a row edited in the database: EDITED; edited and rehashed: BROKEN_LINK at the next record', async () => {
    for (let i = 0; i < 4; i++) await f.admin.route(routes.groupsCreate, { body: { name: `team-${i}` } });
    const k = 3;
    const original = db.prepare('select * from audit_log where seq = ?').get(k) as Row;
    try {
      db.prepare('update audit_log set actor = ? where seq = ?').run('user:mallory', k);
      const e = await exportNow();
      assert.equal(e.code, 1, 'export itself reports that the log does not verify');
      const v = await cli('verify', e.file, ...trust);
      assert.equal(v.code, 1);
      assert.match(v.out, new RegExp(`^FAILED EDITED at line \\d+, seq ${k}: `));
      assert.match(v.out, new RegExp(`records 1\\.\\.${k - 1} verified`));

      const body = {
        seq: k,
        time: Number(original.time),
        actor: 'user:mallory',
        action: original.action,
        subject: original.subject,
        details: JSON.parse(original.details) as Record<string, unknown>,
      };
      db.prepare('update audit_log set hash = ? where seq = ?').run(hashRecord(original.prev_hash, body), k);
      const b = await exportNow();
      const w = await cli('verify', b.file, ...trust);
      assert.equal(w.code, 1);
      assert.match(
        w.out,
        new RegExp(`^FAILED BROKEN_LINK at line \\d+, seq ${k + 1} \\(altered from seq ${k}\\): `),
      );
    } finally {
      db.prepare('update audit_log set actor = ?, hash = ? where seq = ?').run(
        original.actor,
        original.hash,
        k,
      );
    }
    const again = await exportNow();
    assert.equal(again.code, 0, again.err);
    assert.equal((await cli('verify', again.file, ...trust, '--require-signed')).code, 0);
  });

  test('rows deleted from the end of the audit table: TRUNCATED, even with the head row rewound', async () => {
    const signed = await exportNow(); // signs the head: the records up to here are vouched for
    assert.equal(signed.code, 0, signed.err);
    const head = db.prepare('select seq, hash from audit_head where id = 1').get() as { seq: number };
    const keep = Number(head.seq) - 2;
    db.prepare('delete from audit_log where seq > ?').run(keep);
    const cut = await exportNow();
    assert.equal(cut.code, 1);
    const v = await cli('verify', cut.file, ...trust);
    assert.equal(v.code, 1);
    assert.match(v.out, new RegExp(`^FAILED TRUNCATED at line \\d+, seq ${keep + 1}: `));
    // Rewinding the head row as well does not hide the cut: the stored checkpoint still names it.
    const last = db.prepare('select seq, hash from audit_log where seq = ?').get(keep) as { hash: string };
    db.prepare('update audit_head set seq = ?, hash = ? where id = 1').run(keep, last.hash);
    const rewound = await exportNow();
    const w = await cli('verify', rewound.file, ...trust);
    assert.equal(w.code, 1);
    assert.match(w.out, new RegExp(`^FAILED TRUNCATED at line \\d+, seq ${keep + 1}: `));
  });

  test('no server is a usage error', async () => {
    const saved = process.env.SALLYPORT_SERVER;
    delete process.env.SALLYPORT_SERVER;
    try {
      assert.equal((await cli('list')).code, 2);
    } finally {
      if (saved !== undefined) process.env.SALLYPORT_SERVER = saved;
    }
  });
});
