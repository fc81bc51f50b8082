// docs/ingress.md stays true: every `sallyport ingress` line in it and in --help is accepted by the
// command's own parser exactly as written, the JSON config example too, the allow-list example
// parses, and its metrics table is exactly the metrics the ingress serves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OPTIONS, help, ingressConfig } from '../../src/cli/ingress.ts';
import { applyConfigFile } from '../../src/cli/config-file.ts';
import { IngressMetrics, parseAllowList } from '../../src/ingress/index.ts';

const doc = readFileSync(new URL('../../docs/ingress.md', import.meta.url), 'utf8');

const lines = (text: string): string[] =>
  [...text.replace(/\\\n\s*/g, '').matchAll(/^\s*sallyport ingress (.+)$/gm)]
    .map((m) => m[1].trim())
    .filter((l) => !/[[(]|\.\.\./.test(l));

test('every ingress command line of the doc and of --help parses as written', () => {
  const all = [...[...doc.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => lines(m[1])), ...lines(help)];
  assert.ok(all.length >= 2, `${all.length} examples`);
  for (const l of all) {
    const a = parseArgs({ args: l.split(/\s+/), options: OPTIONS, strict: true }).values;
    const cfg = ingressConfig(a);
    assert.ok(cfg.routes.length >= 1 && cfg.listeners.length >= 1, l);
  }
});

test('the JSON config example is accepted, and the allow-list example parses', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-ingress-doc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const json = /```json\n([\s\S]*?)```/.exec(doc)![1];
  writeFileSync(join(dir, 'ingress.json'), json);
  const a = parseArgs({
    args: ['--data', dir, '--config', join(dir, 'ingress.json')],
    options: OPTIONS,
    strict: true,
  }).values;
  applyConfigFile(a, a.config!, { options: OPTIONS });
  const cfg = ingressConfig(a);
  assert.equal(cfg.routes.length, 2);
  assert.deepEqual(cfg.proxyFrom, ['10.0.0.0/24']);
  const text = /```text\n(# the customer[\s\S]*?)```/.exec(doc)![1];
  assert.deepEqual(
    parseAllowList(text, 'doc').map((c) => c.text),
    ['203.0.113.0/24', '2001:db8:42::/48'],
  );
});

test("the doc's metrics table is exactly the metrics served", async () => {
  const text = await new IngressMetrics().registry.metrics();
  const served = [...new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]))].sort();
  const documented = [
    ...new Set([...doc.matchAll(/^\| `(sallyport_ingress_[a-z_]+)`/gm)].map((m) => m[1])),
  ].sort();
  assert.deepEqual(documented, served);
});
