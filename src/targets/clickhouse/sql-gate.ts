// The router-auth SQL gate: decides, before ClickHouse sees a query, whether it could read text
// the engineer must not see (other users' queries in system.query_log / processes / …, see
// system-tables.ts). It works on tokens (sql-lexer.ts), never throws, and refuses what it cannot
// parse. ClickHouse remains the authority on everything else: the grant user is readonly=1 with
// only the `system` database, so a write answers 164 and another database 291 from ClickHouse.
//
//   lex ─► one statement? ─► kind: SELECT/WITH/SHOW TABLES|DATABASES|CREATE/DESCRIBE/EXISTS → read
//                                  INSERT/CREATE/ALTER/DROP/… → write (forwarded; readonly refuses)
//                                  anything else (KILL, USE, SHOW PROCESSLIST …) → refused
//       ─► table references: system.<t> anywhere, names after FROM/JOIN/IN/DESCRIBE/EXISTS
//            system table not on the allow-list → refused · table function → refused
//       ─► functions: dict*, joinGet, remote, file, url … → refused
//       ─► hidden columns of the referenced tables: any identifier naming one → refused;
//            a `*` (other than count(*) or a product) → refused
import { lex, type Token } from './sql-lexer.ts';
import { SYSTEM_TABLES, hiddenColumns, refusedFunction } from './system-tables.ts';

export type GateVerdict =
  { ok: true; kind: 'read' | 'write'; systemTables: string[] } | { ok: false; reason: string };

const READ = new Set(['select', 'with', 'show', 'describe', 'desc', 'exists']);
const WRITE = new Set([
  'insert',
  'create',
  'alter',
  'drop',
  'rename',
  'truncate',
  'optimize',
  'set',
  'system',
  'attach',
  'detach',
]);
const SHOW_OK = new Set(['tables', 'databases', 'create']);
/** Identifiers after which `*` starts a select list rather than multiplying. */
const STAR_PREFIX = new Set(
  (
    'select distinct all by where prewhere having and or not on as then else when case from join using in ' +
    'like is between with limit ties percent top'
  ).split(' '),
);
const STAR_AFTER_GROUP = new Set(['on', 'top']);

const lower = (t: Token | undefined) =>
  t && (t.kind === 'ident' || t.kind === 'qident') ? t.value.toLowerCase() : '';
const isName = (t: Token | undefined) => t !== undefined && (t.kind === 'ident' || t.kind === 'qident');
const isOp = (t: Token | undefined, v: string) => t !== undefined && t.kind === 'op' && t.value === v;
const refuse = (reason: string): GateVerdict => ({ ok: false, reason });

/** Judges one query (the text ClickHouse would run). Never throws. */
export function checkQuery(sql: string): GateVerdict {
  try {
    return judge(sql);
  } catch (e) {
    return refuse(`cannot parse the query (${(e as Error).message})`);
  }
}

function judge(sql: string): GateVerdict {
  const lexed = lex(sql);
  if (!lexed.ok) return refuse(`cannot parse the query: ${lexed.reason}`);
  const t = lexed.tokens;
  while (t.length && isOp(t[t.length - 1], ';')) t.pop();
  if (t.length === 0) return refuse('empty query');
  if (t.some((x) => isOp(x, ';'))) return refuse('one statement per request');
  const depth: string[] = [];
  for (const x of t) {
    if (isOp(x, '(') || isOp(x, '[')) depth.push(x.value);
    else if (isOp(x, ')') || isOp(x, ']')) {
      if (depth.pop() !== (x.value === ')' ? '(' : '['))
        return refuse('cannot parse the query: unbalanced brackets');
    }
  }
  if (depth.length) return refuse('cannot parse the query: unbalanced brackets');

  const first = t[0]!.kind === 'ident' ? t[0]!.value.toLowerCase() : '';
  let kind: 'read' | 'write';
  if (READ.has(first)) kind = 'read';
  else if (WRITE.has(first)) kind = 'write';
  else return refuse('only SELECT, SHOW TABLES/DATABASES/CREATE, DESCRIBE and EXISTS are answered');
  const showList = first === 'show' && (lower(t[1]) === 'tables' || lower(t[1]) === 'databases');
  if (first === 'show' && !SHOW_OK.has(lower(t[1]))) {
    return refuse(
      `SHOW ${t[1]?.value ?? ''} is refused: only SHOW TABLES, SHOW DATABASES and SHOW CREATE are answered ` +
        `(SHOW PROCESSLIST would list other users' queries)`,
    );
  }
  if (kind === 'read' && t.some((x) => lower(x) === 'into')) return refuse('INTO OUTFILE is refused');

  // Table references.
  const tables = new Set<string>();
  const hidden = new Set<string>();
  const addSystem = (name: string): string | undefined => {
    const h = hiddenColumns(name.toLowerCase());
    if (!h) return `system.${name} is not on the allow-list of system tables`;
    tables.add(name.toLowerCase());
    for (const c of h) hidden.add(c);
    return undefined;
  };
  for (let k = 0; k < t.length; k++) {
    const w = lower(t[k]);
    // system.<table> anywhere (also inside subqueries, joins, IN, comma lists).
    if (w === 'system' && isOp(t[k + 1], '.') && isName(t[k + 2]) && !isOp(t[k - 1], '.')) {
      const bad = addSystem(t[k + 2]!.value);
      if (bad) return refuse(bad);
    }
    // An unqualified name of a system table with hidden columns counts as a reference to it.
    if (isName(t[k]) && !isOp(t[k - 1], '.') && !isOp(t[k + 1], '.') && (hiddenColumns(w)?.length ?? 0) > 0) {
      addSystem(w);
    }
    const tablePos =
      ((w === 'from' || w === 'join') &&
        !(w === 'join' && lower(t[k - 1]) === 'array') &&
        !(showList && w === 'from')) ||
      (k === 0 && (w === 'describe' || w === 'desc' || w === 'exists'));
    if (tablePos && t[k]!.kind === 'ident') {
      let p = k + 1;
      if (lower(t[p]) === 'table') p++;
      if (isName(t[p])) {
        const q = isOp(t[p + 1], '.') && isName(t[p + 2]) ? p + 2 : p;
        if (isOp(t[q + 1], '(')) return refuse(`table function ${t[q]!.value}() is refused`);
      }
    }
  }

  // Functions.
  for (let k = 0; k + 1 < t.length; k++) {
    if (t[k]!.kind === 'ident' && isOp(t[k + 1], '(') && refusedFunction(t[k]!.value.toLowerCase())) {
      return refuse(`function ${t[k]!.value}() is refused (it reads data outside the system tables)`);
    }
  }

  // Hidden columns.
  if (hidden.size) {
    const named = t.find((x) => isName(x) && hidden.has(x.value.toLowerCase()));
    if (named) {
      return refuse(
        `column ${named.value} is hidden (it can hold other users' query text or secrets); ` +
          `hidden in ${[...tables].map((x) => `system.${x}`).join(', ')}: ${[...hidden].join(', ')}`,
      );
    }
    for (let k = 0; k < t.length; k++) {
      if (!isOp(t[k], '*') || !isSelectStar(t, k)) continue;
      return refuse(
        `* would read hidden columns (${[...hidden].join(', ')}) of ${[...tables].map((x) => `system.${x}`).join(', ')}: name the columns`,
      );
    }
  }
  return { ok: true, kind, systemTables: [...tables].sort() };
}

/** Whether the `*` at k is a column wildcard (not a product, not count(*)). */
function isSelectStar(t: Token[], k: number): boolean {
  const prev = t[k - 1];
  if (isOp(prev, '(') && isOp(t[k + 1], ')') && lower(t[k - 2]) === 'count') return false;
  if (prev === undefined) return true;
  // Newer servers: SELECT TOP 5 *, SELECT TOP (5) *, SELECT DISTINCT ON (a) *.
  if (prev.kind === 'number') return lower(t[k - 2]) === 'top';
  if (isOp(prev, ')')) return STAR_AFTER_GROUP.has(lower(t[opener(t, k - 1) - 1]));
  if (prev.kind === 'string' || prev.kind === 'qident' || isOp(prev, ']')) return false;
  if (prev.kind === 'ident') return STAR_PREFIX.has(prev.value.toLowerCase());
  return true;
}

/** Index of the `(` matching the `)` at k (brackets are balanced by now). */
function opener(t: Token[], k: number): number {
  let d = 0;
  for (let i = k; i >= 0; i--) {
    if (isOp(t[i], ')')) d++;
    else if (isOp(t[i], '(') && --d === 0) return i;
  }
  return 0;
}

/** The allow-listed system tables (for docs and messages). */
export const ALLOWED_SYSTEM_TABLES = Object.keys(SYSTEM_TABLES);
