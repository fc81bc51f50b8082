// `sallyport audit verify --local`: the connector's customer-side log (STATE/audit/local.jsonl) is
// checked where it lives; an edited record, a line that is not a record, and a missing log are named.
// `sallyport audit anchors --local`: the coordinator's checkpoints the connector kept, for --anchors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ANCHOR_ACTION,
  appendRecord,
  checkpointLine,
  recordLine,
  signCheckpoint,
  writeExport,
  type AuditRecord,
} from '../../src/audit/index.ts';
import { SigningKey } from '../../src/crypto/index.ts';
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

test('audit anchors --local prints the kept checkpoints; verify --anchors refuses a file without anchors', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'sallyport-local-anchors-'));
  t.after(() => rmSync(state, { recursive: true, force: true }));
  mkdirSync(join(state, 'audit'));
  const file = join(state, 'audit', 'local.jsonl');
  const key = SigningKey.fromSeed(new Uint8Array(32).fill(5));
  const vendor = [
    appendRecord(undefined, { time: 1, actor: 'user:a', action: 'x', subject: 's', details: {} }),
  ];
  const cp = signCheckpoint(vendor[0], key, 2);
  let prev: AuditRecord | undefined;
  const lines: string[] = [];
  for (const [action, details] of [
    ['stream.served', { bytes: 1 }],
    [ANCHOR_ACTION, { ...cp, publicKey: key.verifyKey.base64() }],
  ] as const) {
    prev = appendRecord(prev, { time: 3, actor: 'node:c', action, subject: 'x', details });
    lines.push(recordLine(prev));
  }
  writeFileSync(file, lines.join('\n') + '\n');
  const got = await cli('anchors', '--local', '--state', state);
  assert.equal(got.code, EXIT.OK, got.err);
  assert.equal(got.out, checkpointLine(cp) + '\n');
  assert.equal((await cli('anchors', '--state', state)).code, EXIT.USAGE);
  // an edited local log gives no anchors: its chain must verify first
  writeFileSync(file, readFileSync(file, 'utf8').replace('"bytes":1', '"bytes":2'));
  const edited = await cli('anchors', '--local', '--state', state);
  assert.equal(edited.code, EXIT.FAILED);
  assert.match(edited.err, /does not verify/);

  const exportFile = join(state, 'export.jsonl');
  writeFileSync(
    exportFile,
    writeExport({ records: vendor, checkpoints: [], keys: [key.verifyKey], exportedAt: 4 }),
  );
  const empty = join(state, 'empty.jsonl');
  writeFileSync(empty, lines[0] + '\n');
  const none = await cli('verify', exportFile, '--anchors', empty);
  assert.equal(none.code, EXIT.USAGE);
  assert.match(none.err, /holds no anchors/);
  const anchorsFile = join(state, 'anchors.jsonl');
  writeFileSync(anchorsFile, got.out);
  const ok = await cli('verify', exportFile, '--trust-key', key.verifyKey.base64(), '--anchors', anchorsFile);
  assert.equal(ok.code, EXIT.OK, ok.out);
  assert.match(ok.out, /1 customer anchors agree, through seq 1/);
});
