import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JsoncError, parseJsonc, stripJsonc } from './jsonc.ts';

test('comments and trailing commas are accepted; // and /* inside strings are text', () => {
  const text = `// the coordinator
{
  "server": "https://coord.example.com:8443/api", // a URL keeps its //
  "glob": "/* not a comment */",
  "quote": "a \\"// quoted\\" b",
  /* block
     comment */ "list": [1, 2, 3,],
  "nested": { "a": true, },
}
`;
  assert.deepEqual(parseJsonc(text), {
    server: 'https://coord.example.com:8443/api',
    glob: '/* not a comment */',
    quote: 'a "// quoted" b',
    list: [1, 2, 3],
    nested: { a: true },
  });
});

test('stripping keeps length and line breaks, so errors name the line and column of the file', () => {
  const text = '{\n  // x\n  "a": 1,\n  "b": 2 3\n}';
  assert.equal(stripJsonc(text).length, text.length);
  assert.deepEqual(stripJsonc(text).split('\n').length, text.split('\n').length);
  assert.throws(
    () => parseJsonc(text),
    (e: unknown) =>
      e instanceof JsoncError && e.code === 'JSONC_SYNTAX' && /line 4 column 10/.test(e.message),
  );
});

test('what JSON refuses stays refused: empty elements, bare words, an unterminated comment', () => {
  for (const bad of ['[,]', '{,}', '[1,,]', '{"a":1,,}', '{a: 1}', "{'a': 1}", '{"a": 1} /* open', ''])
    assert.throws(() => parseJsonc(bad), JsoncError, bad);
  assert.throws(
    () => parseJsonc('{} /*'),
    (e: unknown) => (e as JsoncError).code === 'JSONC_COMMENT',
  );
});

test('every JSON document parses to itself, with comments and trailing commas sprinkled in', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const text = JSON.stringify(v, null, 1);
      assert.deepEqual(parseJsonc(text), JSON.parse(text));
      // A trailing comma before every closing bracket that ends a non-empty list or object.
      const noisy = text.replace(/\n(\s*)([\]}])/g, ',\n$1$2').concat('\n// end');
      assert.deepEqual(parseJsonc(`/* start */${noisy}`), JSON.parse(text));
    }),
    { numRuns: 300 },
  );
});

test('random text raises only JsoncError', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(...'{}[],:"/*\\ \nab1-.etrufsln') }), (s) => {
      try {
        parseJsonc(s);
      } catch (e) {
        assert.ok(e instanceof JsoncError, String(e));
      }
    }),
    { numRuns: 2000 },
  );
});
