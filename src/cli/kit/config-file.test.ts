import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyConfigFile, ConfigFileError } from './config-file.ts';

const OPTIONS = {
  config: { type: 'string' },
  listen: { type: 'string' },
  region: { type: 'string' },
  'trust-key': { type: 'string', multiple: true },
  'stun-port': { type: 'string' },
  'no-console': { type: 'boolean' },
  help: { type: 'boolean' },
} as const;
const ENV = { listen: 'SALLYPORT_RELAY_LISTEN', region: 'SALLYPORT_RELAY_REGION' };

const base = mkdtempSync(join(tmpdir(), 'sallyport-config-'));
process.on('exit', () => rmSync(base, { recursive: true, force: true }));

function file(text: string): string {
  const f = join(mkdtempSync(join(base, 'c-')), 'relay.json');
  writeFileSync(f, text);
  return f;
}

const fails = (code: string, re: RegExp) => (e: unknown) =>
  e instanceof ConfigFileError && e.code === code && re.test(e.message);

test('file values fill what neither a flag nor the environment gave: flags, then environment, then file', () => {
  const f = file(`{
    // comments, trailing commas, and URLs with // are fine
    "listen": "0.0.0.0:8443",
    "region": "eu-west-1",
    "trust-key": "AAAA",
    "stun-port": 3478,
    "no-console": true,
  }`);
  const opts = { options: OPTIONS, env: ENV, environment: {} };
  assert.deepEqual(applyConfigFile({}, f, opts).values, {
    listen: '0.0.0.0:8443',
    region: 'eu-west-1',
    'trust-key': ['AAAA'],
    'stun-port': '3478',
    'no-console': true,
  });
  // A flag wins over both; the environment wins over the file (the command reads it itself).
  const got = applyConfigFile({ listen: '127.0.0.1:1' } as Record<string, unknown>, f, {
    ...opts,
    environment: { SALLYPORT_RELAY_REGION: 'us-east-1', SALLYPORT_RELAY_LISTEN: '[::]:2' },
  }).values;
  assert.equal(got.listen, '127.0.0.1:1');
  assert.equal(got.region, undefined, 'left to the environment');
  assert.equal(got['stun-port'], '3478');
});

test('an unknown key is refused by name, with the keys that exist', () => {
  const f = file('{ "listen": "0.0.0.0:443", "regoin": "eu" }');
  assert.throws(
    () => applyConfigFile({}, f, { options: OPTIONS, environment: {} }),
    fails('CONFIG_KEY', /unknown key 'regoin'.*listen, region/),
  );
  // config and help are flags, not file keys; __proto__ is just an unknown key.
  for (const k of ['config', 'help', '__proto__'])
    assert.throws(
      () => applyConfigFile({}, file(`{ "${k}": "x" }`), { options: OPTIONS, environment: {} }),
      fails('CONFIG_KEY', new RegExp(`unknown key '${k}'`)),
    );
});

test('extra keys (the agent\'s "services") come back apart from the flags', () => {
  const f = file('{ "region": "r", "services": [{ "name": "web" }] }');
  const r = applyConfigFile({}, f, { options: OPTIONS, extraKeys: ['services'], environment: {} });
  assert.deepEqual(r.extra, { services: [{ name: 'web' }] });
  assert.deepEqual(r.values, { region: 'r' });
});

test('values of the wrong type, bad syntax and a missing file are refused clearly', () => {
  const o = { options: OPTIONS, environment: {} };
  assert.throws(
    () => applyConfigFile({}, file('{ "no-console": "yes" }'), o),
    fails('CONFIG_TYPE', /'no-console' must be true or false/),
  );
  assert.throws(
    () => applyConfigFile({}, file('{ "region": ["a"] }'), o),
    fails('CONFIG_TYPE', /'region' must be a string/),
  );
  assert.throws(
    () => applyConfigFile({}, file('{ "trust-key": [1, {}] }'), o),
    fails('CONFIG_TYPE', /'trust-key'/),
  );
  assert.throws(
    () => applyConfigFile({}, file('{\n "region": "a"\n "listen": "b" }'), o),
    fails('CONFIG_SYNTAX', /line 3/),
  );
  assert.throws(
    () => applyConfigFile({}, file('["region"]'), o),
    fails('CONFIG_SYNTAX', /want a JSON object/),
  );
  assert.throws(
    () => applyConfigFile({}, join(tmpdir(), 'sallyport-no-such-config.json'), o),
    fails('CONFIG_READ', /ENOENT/),
  );
});
