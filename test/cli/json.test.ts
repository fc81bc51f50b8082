// --json keeps stdout machine-readable: the coordinator's start-up values as one JSON line with its
// logs on stderr, and a SIGTERM still stops it with exit 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/sallyport.js', import.meta.url));

test('coordinator --json: one JSON line on stdout with what agents and relays need', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-cli-json-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const child = spawn(
    process.execPath,
    [bin, 'coordinator', '--data', dir, '--suffix', 'byoc.example.com', '--listen', '127.0.0.1:0', '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + 60_000;
  while (!out.includes('\n') && child.exitCode === null && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  const doc = JSON.parse(out.split('\n')[0]) as Record<string, string>;
  assert.match(doc.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.match(doc.channelKey, /^[A-Za-z0-9+/]{43}=$/);
  assert.match(doc.relayTrustKey, /^[A-Za-z0-9+/]{43}=$/);
  assert.match(doc.tlsFingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/i);
  assert.equal(doc.data, dir);
  assert.equal(doc.console, `${doc.url}/console/`);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, err);
  // Everything else it said (its logs) went to stderr: stdout is that one line.
  assert.equal(out.trim().split('\n').length, 1, out);
});
