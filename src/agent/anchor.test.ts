// The connector keeps each audit checkpoint the coordinator sends as an `audit.anchor` record of
// its local audit (once per checkpoint, though a reconnect resends the latest), and drops one whose
// signature does not verify against the key it names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ANCHOR_ACTION, appendRecord, signCheckpoint } from '../audit/index.ts';
import { FakeClock } from '../clock/index.ts';
import { SigningKey } from '../crypto/index.ts';
import { ServiceCerts } from './certs.ts';
import { ConnectorSide } from './connector.ts';
import { LocalAudit } from './local-audit.ts';
import { AgentMetrics } from './metrics.ts';

test('a checkpoint from the coordinator is kept once as an audit.anchor record; a forged one is dropped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sp-anchor-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const side = new ConnectorSide({
    clock: new FakeClock({ wallMs: 1_800_000_000_000 }),
    logger: pino({ level: 'silent' }),
    metrics: new AgentMetrics(),
    stateDir: dir,
    selfKey: 'A'.repeat(43) + '=',
    services: new Map(),
    certs: new ServiceCerts(dir),
    netmap: () => undefined,
    send: () => true,
  });
  t.after(() => side.stop());
  const key = SigningKey.fromSeed(new Uint8Array(32).fill(1));
  const rec = appendRecord(undefined, { time: 1, actor: 'user:a', action: 'x', subject: 's', details: {} });
  const cp = signCheckpoint(rec, key, 2);
  const publicKey = key.verifyKey.base64();
  const other = SigningKey.fromSeed(new Uint8Array(32).fill(2)).verifyKey.base64();
  side.onMessage({ type: 'checkpoint', checkpoint: cp, publicKey: other }); // not the key it names
  side.onMessage({ type: 'checkpoint', checkpoint: { ...cp, seq: 2 }, publicKey }); // signature broken
  side.onMessage({ type: 'checkpoint', checkpoint: cp, publicKey });
  side.onMessage({ type: 'checkpoint', checkpoint: cp, publicKey }); // resent after a reconnect
  await side.targets.audit.flushed();
  const kept = LocalAudit.read(side.targets.audit.file);
  assert.deepEqual(
    kept.map((r) => [r.action, r.details.seq, r.details.hash]),
    [[ANCHOR_ACTION, 1, rec.hash]],
  );
  assert.equal(kept[0].details.publicKey, publicKey);
  assert.equal(LocalAudit.verify(side.targets.audit.file).ok, true);
});
