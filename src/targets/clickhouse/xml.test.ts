import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { el, escapeXml, parseXml, serializeXml, textOf, childrenNamed } from './xml.ts';

test('serialize then parse gives the same tree, text escaped', () => {
  const tree = el(
    'yandex',
    el('users', el('sp_a', el('password_sha256_hex', 'ab'), el('empty'))),
    el('x', `<&>"'`),
  );
  const xml = serializeXml(tree);
  assert.match(xml, /^<\?xml version="1.0"\?>\n<yandex>\n/);
  assert.ok(xml.includes('&lt;&amp;&gt;&quot;&apos;'));
  const back = parseXml(xml);
  assert.equal(textOf(childrenNamed(back, 'x')[0]!), `<&>"'`);
  assert.equal(
    textOf(childrenNamed(childrenNamed(childrenNamed(back, 'users')[0]!, 'sp_a')[0]!, 'empty')[0]!),
    '',
  );
});

test('element names and control characters are refused when writing', () => {
  assert.throws(() => el('a b'), RangeError);
  assert.throws(() => el('1a'), RangeError);
  assert.throws(() => el('a<'), RangeError);
  assert.throws(() => escapeXml('a\u0001b'), RangeError);
});

test('parseXml refuses everything outside the subset', () => {
  for (const bad of [
    '<a x="1"></a>',
    '<a><!-- c --></a>',
    '<!DOCTYPE a><a/>',
    '<a><![CDATA[x]]></a>',
    '<a>&ent;</a>',
    '<a>& b</a>',
    '<a><b></a></b>',
    '<a>text<b/></a>',
    '<a><b/>text</a>',
    '<a></a><b></b>',
    '<a>',
    '',
  ]) {
    assert.throws(() => parseXml(bad), SyntaxError, bad);
  }
});

test('property: random text survives a round trip; random input only raises SyntaxError', () => {
  // eslint-disable-next-line no-control-regex
  const safe = fc.string().filter((s) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(s));
  fc.assert(
    fc.property(safe, (s) => {
      const back = parseXml(serializeXml(el('r', el('t', s))));
      assert.equal(textOf(childrenNamed(back, 't')[0]!) ?? '', s);
    }),
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => {
      try {
        parseXml(s);
      } catch (e) {
        assert.ok(e instanceof SyntaxError, String(e));
      }
    }),
  );
});
