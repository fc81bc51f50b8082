// `sallyport audit verify --local`: the connector's customer-side log (STATE/audit/local.jsonl) is
// checked where it lives; an edited record, a line that is not a record, and a missing log are named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendRecord, recordLine, type AuditRecord } from '../../src/audit/index.ts';
import { run } from '../../src/cli/audit.ts';
import { EXIT } from '../../src/cli/exit.ts';

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

test('audit verify --local: OK for a clean log; EDITED, MALFORMED and a missing log are named', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'sallyport-local-audit-'));
  t.after(() => rmSync(state, { recursive: true, force: true }));
  const file = join(state, 'audit', 'local.jsonl');
  const missing = await cli('verify', '--local', '--state', state);
  assert.equal(missing.code, EXIT.USAGE);
  assert.match(missing.err, /no local audit log at .*local\.jsonl .*--state/);

  mkdirSync(join(state, 'audit'));
  let prev: AuditRecord | undefined;
  const lines: string[] = [];
  for (let i = 0; i < 5; i++) {
    prev = appendRecord(prev, {
      time: 1_700_000_000_000 + i,
      actor: 'node:conn-1',
      action: i % 2 ? 'stream.end' : 'stream.start',
      subject: 'service:web',
      details: { grant: 'g1', user: 'alice', bytes: i * 100 },
    });
    lines.push(recordLine(prev));
  }
  writeFileSync(file, lines.join('\n') + '\n');
  const ok = await cli('verify', '--local', '--state', state);
  assert.equal(ok.code, EXIT.OK, ok.out + ok.err);
  assert.match(ok.out, /^OK: 5 records \(seq 1\.\.5\)/);
  const json = await cli('verify', '--local', '--state', state, '--json');
  assert.equal((JSON.parse(json.out) as { ok: boolean; records: number }).records, 5);

  writeFileSync(file, readFileSync(file, 'utf8').replace('"bytes":200', '"bytes":2'));
  const edited = await cli('verify', '--local', '--state', state);
  assert.equal(edited.code, EXIT.FAILED);
  assert.match(edited.out, /FAILED EDITED at line 3, seq 3/);

  writeFileSync(file, [lines[0], 'not json', lines[1]].join('\n') + '\n');
  const junk = await cli('verify', '--local', '--state', state, '--json');
  assert.equal(junk.code, EXIT.FAILED);
  const rep = JSON.parse(junk.out) as { ok: boolean; failure: { code: string; line: number } };
  assert.deepEqual([rep.ok, rep.failure.code, rep.failure.line], [false, 'MALFORMED', 2]);

  assert.equal((await cli('verify', '--local', 'some-file', '--state', state)).code, EXIT.USAGE);
});
