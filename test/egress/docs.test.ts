// docs/egress.md stays true: every command line in it (and in the two --help examples) is accepted
// by the command's own parser exactly as written, and its metrics table is the metrics the code serves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { billingConfig, help as billingHelp } from '../../src/cli/billing-scraper.ts';
import { stateConfig, help as stateHelp } from '../../src/cli/state-exporter.ts';
import { Drainer } from '../../src/egress/drain.ts';
import { egressRegistry } from '../../src/egress/metrics.ts';
import { Spool } from '../../src/egress/spool.ts';
import { FakeClock } from '../../src/clock/index.ts';

const doc = readFileSync(new URL('../../docs/egress.md', import.meta.url), 'utf8');

/** The `sallyport …` command lines of a text, continuation lines joined. */
function commandLines(text: string): string[] {
  const joined = text.replace(/\\\n\s*/g, '');
  return [...joined.matchAll(/^\s*(sallyport (?:billing-scraper|state-exporter) .+)$/gm)].map((m) =>
    m[1].trim(),
  );
}

test('every egress command line in docs/egress.md and in --help parses as written', () => {
  const fromDoc = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => commandLines(m[1]));
  const fromHelp = [...commandLines(billingHelp), ...commandLines(stateHelp)].filter((l) => !/[[(]/.test(l));
  assert.ok(fromDoc.length >= 3, `only ${fromDoc.length} examples in the doc`);
  assert.equal(fromHelp.length, 2);
  for (const line of [...fromDoc, ...fromHelp]) {
    const [, cmd, ...args] = line.split(/\s+/);
    const cfg = cmd === 'billing-scraper' ? billingConfig(args, {}) : stateConfig(args, {});
    assert.ok(cfg, line);
  }
});

test("the doc's metrics table is exactly the metrics served", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'egress-doc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spool = await Spool.open({ dir });
  t.after(() => spool.close());
  const drain = new Drainer({ clock: new FakeClock(), spool, sink: { send: async () => undefined } });
  const text = await egressRegistry({
    component: 'billing',
    spool,
    drain,
    samples: () => 0,
    sampleErrors: () => 0,
  }).metrics();
  const served = [...new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]))].sort();
  const documented = [
    ...new Set([...doc.matchAll(/^\| `(sallyport_egress_[a-z_]+)/gm)].map((m) => m[1])),
  ].sort();
  assert.deepEqual(documented, served);
  for (const reason of ['drop_oldest', 'refuse_new', 'too_large', 'torn', 'journal_torn', 'rejected']) {
    assert.match(text, new RegExp(`reason="${reason}"`));
    assert.match(doc, new RegExp(`\`${reason}\``));
  }
});
