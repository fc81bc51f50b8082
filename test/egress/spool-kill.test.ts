// A record the spool acknowledged survives kill -9 of the process that wrote it: a real child
// process is killed with SIGKILL while it writes, and the spool reopened after it holds every
// acknowledged record intact, no torn record and no leftover temp file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Spool } from '../../src/egress/spool.ts';

const writer = fileURLToPath(new URL('./fixtures/spool-writer.ts', import.meta.url));

test('spool: kill -9 mid-write loses no acknowledged record', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spool-kill-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let before = 0;
  for (let round = 0; round < 3; round++) {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acked: number[] = [];
    let buf = '';
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) acked.push(Number(l.split(' ')[1]));
        if (acked.length >= 40 + round * 7 && child.exitCode === null && !child.killed) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => resolve());
    });
    await new Promise((r) => (child.exitCode !== null || child.signalCode ? r(null) : child.once('exit', r)));
    assert.equal(child.signalCode, 'SIGKILL', 'the writer was killed, not finished');
    assert.ok(Math.min(...acked) > before, 'sequence numbers never repeat across a kill -9');
    before = Math.max(...acked);
    const s = await Spool.open({ dir });
    try {
      const held = new Set(s.oldest(1e6));
      for (const seq of acked) {
        assert.ok(held.has(seq), `acknowledged record ${seq} is on disk`);
        const body = await s.read(seq);
        assert.equal(JSON.parse(body!.toString()).seq, seq);
      }
      assert.equal(s.stats.torn, 0);
      assert.ok(
        !readdirSync(join(dir, 'q')).some((f) => f.endsWith('.tmp')),
        'the cut-short write was cleaned up',
      );
      // drain what we saw, so the next round starts from the remembered seq
      for (const seq of s.oldest(1e6)) await s.ack(seq);
      assert.ok(s.lastSeq >= Math.max(...acked));
    } finally {
      await s.close();
    }
  }
});
