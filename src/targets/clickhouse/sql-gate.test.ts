import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkQuery } from './sql-gate.ts';
import { lex } from './sql-lexer.ts';
import { SYSTEM_TABLES } from './system-tables.ts';

const allowed = [
  'SELECT count() FROM system.tables',
  "select name, engine from system.tables where database = 'system' format JSON",
  'SELECT query_id, user, elapsed, read_rows FROM system.processes',
  "SELECT type, event_time, user, query_id, query_duration_ms FROM system.query_log WHERE user = 'x' ORDER BY event_time DESC LIMIT 10",
  'SELECT count(*) FROM system.query_log',
  'SELECT read_rows * 2 FROM system.query_log',
  'SELECT count() * 2, sum(read_rows) * 3 FROM system.query_log',
  'SELECT (read_rows) * 2, `user` FROM system.processes',
  'SELECT * FROM system.one',
  'SELECT * FROM system.parts WHERE active',
  'SELECT * FROM system.numbers LIMIT 3',
  'SHOW TABLES FROM system',
  'SHOW DATABASES',
  'SHOW CREATE TABLE system.query_log',
  'DESCRIBE TABLE system.query_log',
  'DESC system.processes',
  'EXISTS TABLE system.tables',
  'WITH 1 AS x SELECT x FROM system.one',
  'SELECT 1;',
  "SELECT name FROM system.columns WHERE table = 'query_log' -- which columns exist",
  'SELECT /* a comment */ 1',
  "SELECT extract('abc', 'b') FROM system.one",
  'SELECT t.1 FROM (SELECT tuple(1) AS t)',
  'SELECT 1e3, 0x1F, .5, 1.5',
  "SELECT 'it''s', 'a\\'b'",
];
const readAnyDb = ['SELECT * FROM default.customer_data', 'SELECT secret FROM customer_data'];
const writes = [
  "INSERT INTO default.customer_data VALUES (2, 'x')",
  'CREATE TABLE t (x UInt8) ENGINE = Memory',
  'SET readonly = 0',
  'DROP TABLE default.customer_data',
  'SYSTEM FLUSH LOGS',
  'OPTIMIZE TABLE t',
];
const refused: [string, RegExp][] = [
  ['SELECT query FROM system.query_log', /column query is hidden/],
  ['SELECT * FROM system.query_log', /\* would read hidden columns/],
  ['SELECT * FROM system.processes', /hidden/],
  ['SELECT t.* FROM system.processes AS t', /hidden/],
  ['SELECT `query` FROM system.processes', /hidden/],
  ['SELECT "query" FROM system.processes', /hidden/],
  ['SELECT QUERY FROM system.processes', /hidden/],
  ['SELECT q FROM (SELECT query AS q FROM system.query_log)', /hidden/],
  ["SELECT count() FROM system.query_log WHERE query LIKE '%x%'", /hidden/],
  ['SELECT 1 FROM system.one WHERE 1 IN (SELECT length(query) FROM system.processes)', /hidden/],
  ['SELECT exception FROM system.query_log', /hidden/],
  ['SELECT Settings.Values FROM system.processes', /hidden/],
  ['SELECT query FROM system.query_thread_log', /hidden/],
  ['SELECT command FROM system.mutations', /hidden/],
  ['SELECT source FROM system.dictionaries', /hidden/],
  ['SELECT create_table_query FROM system.tables', /hidden/],
  ['SELECT engine_full FROM system.tables', /hidden/],
  ['SELECT * FROM system.tables', /hidden/],
  ['SELECT query FROM query_log', /hidden/],
  ["SELECT * FROM system.zookeeper WHERE path = '/'", /not on the allow-list/],
  ['SELECT * FROM system.text_log', /not on the allow-list/],
  ['SELECT * FROM `system`.`query_log`', /hidden/],
  ['SHOW PROCESSLIST', /SHOW PROCESSLIST/],
  ['KILL QUERY WHERE 1', /only SELECT/],
  ['USE system', /only SELECT/],
  ['SELECT 1; SELECT 2', /one statement/],
  ["SELECT * FROM file('/etc/passwd', 'TSV', 'x String')", /table function/],
  ["SELECT * FROM url('http://x', CSV, 'a String')", /table function/],
  ["SELECT * FROM remote('127.0.0.1', system.query_log)", /table function|refused/],
  ["SELECT * FROM merge('system', 'query_log')", /table function/],
  ['SELECT * FROM numbers(10)', /table function/],
  ["SELECT dictGetString('d', 'a', toUInt64(1))", /function dictGetString/],
  ["SELECT joinGet('default.j', 'v', 1)", /function joinGet/],
  ["SELECT 1 INTO OUTFILE 'x'", /INTO OUTFILE/],
  ['SELECT 1 # comment', /cannot parse/],
  ["SELECT 'unterminated", /cannot parse/],
  ['SELECT `q\\x75ery` FROM system.processes', /cannot parse/],
  ['SELECT /* a /* nested */ 1', /cannot parse/],
  ['SELECT (1', /unbalanced/],
  ['SELECT 1)', /unbalanced/],
  ['SELECT $$x$$', /cannot parse/],
  ['SELECT 1 FROM system.one WHERE ä = 1', /cannot parse/],
  ['SELECT TOP 1 * FROM system.processes', /hidden/],
  ['SELECT TOP (1) * FROM system.processes', /hidden/],
  ['SELECT TOP 1 WITH TIES * FROM system.processes ORDER BY elapsed', /hidden/],
  ['SELECT DISTINCT ON (user) * FROM system.processes', /hidden/],
  ["SELECT COLUMNS('^qu') FROM system.processes", /function COLUMNS/],
  ['SELECT """query" , "" FROM system.processes', /cannot parse/],
  ['SELECT `` FROM system.processes', /cannot parse/],
  ['FROM system.processes SELECT *', /only SELECT/],
  ['SELECT {p:String}', /cannot parse/],
  ['', /empty/],
  [';', /empty/],
];

test('admitted reads', () => {
  for (const q of [...allowed, ...readAnyDb]) {
    const v = checkQuery(q);
    assert.ok(v.ok && v.kind === 'read', `${q}: ${JSON.stringify(v)}`);
  }
});

test('writes go to ClickHouse, whose readonly=1 refuses them (164)', () => {
  for (const q of writes) {
    const v = checkQuery(q);
    assert.ok(v.ok && v.kind === 'write', `${q}: ${JSON.stringify(v)}`);
  }
  assert.equal(checkQuery('INSERT INTO t SELECT query FROM system.query_log').ok, false);
});

test('refused, with the reason', () => {
  for (const [q, re] of refused) {
    const v = checkQuery(q);
    assert.equal(v.ok, false, q);
    if (!v.ok) assert.match(v.reason, re, q);
  }
});

test('every hidden column of every table is refused by name and under *', () => {
  for (const [table, hidden] of Object.entries(SYSTEM_TABLES)) {
    for (const c of hidden) {
      const col = c.includes('.') ? c : `\`${c}\``;
      assert.equal(checkQuery(`SELECT ${col} FROM system.${table}`).ok, false, `${table}.${c}`);
    }
    assert.equal(checkQuery(`SELECT * FROM system.${table}`).ok, hidden.length === 0, table);
  }
});

test('property: never throws, on random text and on shuffled SQL tokens', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => {
      const v = checkQuery(s);
      assert.equal(typeof v.ok, 'boolean');
    }),
    { numRuns: 3000 },
  );
  const words = [
    'SELECT',
    '*',
    'query',
    'FROM',
    'system',
    '.',
    'query_log',
    'processes',
    '(',
    ')',
    ',',
    'WHERE',
    "'x'",
    '`query`',
    'count',
    'JOIN',
    'IN',
    'AS',
    'q',
    ';',
    '--',
    '/*',
    '*/',
    '1',
    'tables',
    'ARRAY',
    'file',
    'dictGet',
    'SHOW',
    'DESCRIBE',
    'INSERT',
    '\\',
  ];
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...words), { maxLength: 30 }), (ws) => {
      const sql = ws.join(' ');
      const v = checkQuery(sql);
      // Soundness: whatever is admitted names no hidden column of a referenced table.
      if (v.ok && v.systemTables.some((t) => t === 'query_log' || t === 'processes')) {
        const l = lex(sql);
        assert.ok(l.ok);
        if (l.ok) assert.ok(!l.tokens.some((t) => t.value.toLowerCase() === 'query'), sql);
      }
    }),
    { numRuns: 3000 },
  );
});
