// `sallyport audit verify` offline on export files. list/export against a real coordinator are in
// test/control/audit-cli.test.ts (the unit group starts no coordinator).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeExport } from '../audit/index.ts';
import { checkpoints, chain, fixedKey, T0 } from '../audit/testkit.ts';
import { run, type CliIo } from './audit.ts';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (s) => (out += s), err: (s) => (err += s) };
  const code = await run(argv, io);
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'sallyport-audit-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('sallyport audit verify (offline)', () => {
  const key = fixedKey(3);
  const records = chain(200);
  const text = writeExport({
    records,
    checkpoints: checkpoints(records, key, 50),
    keys: [key.verifyKey],
    exportedAt: T0,
  });
  const file = join(dir, 'good.jsonl');
  writeFileSync(file, text);
  const trust = ['--trust-key', key.verifyKey.base64()];

  test('a clean export: exit 0, a one-line summary, or the JSON report', async () => {
    const r = await cli('verify', file, ...trust);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^OK: 200 records \(seq 1\.\.200\).*signed through seq 200 .*\(trusted\)\n$/);
    const j = await cli('verify', file, ...trust, '--json');
    const rep = JSON.parse(j.out) as { ok: boolean; lastSeq: number; signedThrough: number };
    assert.deepEqual([j.code, rep.ok, rep.lastSeq, rep.signedThrough], [0, true, 200, 200]);
  });

  test('an edited record: exit 1, naming the line, the seq and the reason', async () => {
    const lines = text.split('\n');
    const i = lines.findIndex((l) => l.includes('"seq":77,') && l.includes('"type":"record"'));
    lines[i] = lines[i].replace('"actor":"user:', '"actor":"user:x');
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, lines.join('\n'));
    const r = await cli('verify', bad, ...trust);
    assert.equal(r.code, 1);
    assert.match(r.out, new RegExp(`^FAILED EDITED at line ${i + 1}, seq 77: `));
    assert.match(r.out, /records 1\.\.76 verified/);
  });

  test('another key, --expect-seq past the end, --require-signed', async () => {
    const other = await cli('verify', file, '--trust-key', fixedKey(4).verifyKey.base64());
    assert.equal(other.code, 1);
    assert.match(other.out, /UNTRUSTED_KEY/);
    const cut = await cli('verify', file, ...trust, '--expect-seq', '250');
    assert.equal(cut.code, 1);
    assert.match(cut.out, /TRUNCATED .*seq 201/);
    const untrusted = await cli('verify', file);
    assert.equal(untrusted.code, 0);
    assert.match(untrusted.out, /NOT trusted[\s\S]*note: no trusted keys/);
  });

  test('usage errors exit 2', async () => {
    assert.equal((await cli('verify')).code, 2);
    assert.equal((await cli('verify', file, '--trust-key', 'not-a-key')).code, 2);
    assert.equal((await cli('verify', join(dir, 'missing.jsonl'))).code, 2);
    assert.equal((await cli('verify', file, '--expect-seq', 'x')).code, 2);
    assert.equal((await cli('frobnicate')).code, 2);
    assert.equal((await cli('--bogus')).code, 2);
    const h = await cli('--help');
    assert.equal(h.code, 0);
    assert.match(h.out, /usage: sallyport audit/);
  });
});
