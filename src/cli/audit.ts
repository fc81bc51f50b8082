// `sallyport audit …`: verify an export offline; list and export through the coordinator's API.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import {
  AuditError,
  anchorLines,
  checkpointLine,
  parseLine,
  verifyChain,
  verifyExport,
  writeExport,
  type AuditRecord,
  type Checkpoint,
  type AnchorLine,
  type VerifyReport,
} from '../audit/index.ts';
import { LocalAudit } from '../agent/local-audit.ts';
import { ApiError, ControlError, routes, type ApiClient } from '../control/index.ts';
import { CONNECTION_FLAGS, requireApiClient } from './api-connection.ts';
import { EXIT, apiFailure } from './exit.ts';
import { join } from 'node:path';
import { stateDir } from './agent-common.ts';
import { realClock } from '../clock/index.ts';
import { CryptoError, VerifyKey } from '../crypto/index.ts';
import {
  HELP_FLAG,
  UsageError,
  optionLines,
  runCommand,
  type Failure,
  type FlagTable,
  type FlagValues,
} from './kit/index.ts';
import { table } from './table.ts';

const FLAGS = {
  'trust-key': {
    type: 'repeatable',
    value: 'BASE64',
    help: `an Ed25519 public key whose checkpoints to trust (repeatable; env
SALLYPORT_AUDIT_TRUST_KEY, comma-separated). Without one, signatures are
checked against the keys the file lists, which proves nothing against a forger.`,
  },
  'expect-seq': {
    type: 'number',
    value: 'N',
    invalid: () => '--expect-seq takes a number',
    help: "the log is known to reach seq N (e.g. from 'audit list'); fewer is TRUNCATED",
  },
  'require-signed': {
    type: 'boolean',
    help: 'fail when records after the last checkpoint carry no signature',
  },
  anchors: {
    type: 'string',
    value: 'FILE',
    help: `the customer's anchors: a connector's local log (STATE/audit/local.jsonl) or
the output of 'audit anchors --local'. Each anchor's signature must verify,
and the export's record at its seq must have its hash: the first record that
contradicts one fails ANCHOR_MISMATCH (a rewrite the database's own
checkpoints cannot show); an anchored seq missing from the export is TRUNCATED`,
  },
  local: { type: 'boolean' },
  state: {
    type: 'string',
    value: 'DIR',
    env: 'SALLYPORT_STATE',
    help: "with --local: the connector's state directory (env SALLYPORT_STATE)",
  },
  json: { type: 'boolean', help: 'print the full report as JSON' },
  ...HELP_FLAG,
  ...CONNECTION_FLAGS,
  after: {
    type: 'number',
    value: 'SEQ',
    default: 0,
    invalid: () => '--after takes a number',
    help: 'list records after this seq (default 0)',
  },
  limit: {
    type: 'number',
    value: 'N',
    default: 100,
    invalid: () => '--limit takes a number',
    help: 'list at most N records (default 100)',
  },
  out: { type: 'string', value: 'FILE' },
} as const satisfies FlagTable;

type Opts = FlagValues<typeof FLAGS>;

export const help = `usage: sallyport audit <command> [options]

commands:
  verify FILE          check an export offline: the hash chain, every checkpoint signature, and
                       that nothing was edited, removed, reordered, inserted or cut; FILE '-' is stdin.
                       A customer's export (the portal's download) shows its records in full and
                       the others elided (seq and hashes only): the chain and the signatures are
                       checked across them, and the report counts both
  verify --local       check a connector's own (customer-side) log, STATE/audit/local.jsonl: every
                       stream served and query run, hash-chained; read where the connector runs
  anchors --local      print the coordinator's checkpoints the connector was sent and kept in its
                       local log (audit.anchor records), one checkpoint line each, for --anchors
  list                 print audit records from the coordinator
  export [--out FILE]  write the whole log as an export (JSON Lines) for 'audit verify'

verify options:
${optionLines(FLAGS, 23, ['trust-key', 'expect-seq', 'require-signed', 'anchors', 'state', 'json'])}
list / export options:
${optionLines(FLAGS, 23, [
  {
    group: ['server', 'token', 'ca', 'fingerprint'],
    help: "as for 'sallyport admin'\n(env SALLYPORT_SERVER, SALLYPORT_TOKEN, SALLYPORT_CA, SALLYPORT_FINGERPRINT)",
    gap: 3,
  },
  'after',
  'limit',
  { flag: 'json', help: 'print records as JSON' },
])}
examples:
  sallyport audit export --out audit.jsonl
  sallyport audit verify audit.jsonl --trust-key "$AUDIT_KEY"   # the coordinator's checkpoint key,
                                                                # obtained out of band (base64)
  sallyport audit list --after 1200 --limit 50 --json
  sallyport audit verify --local --state /var/lib/sallyport     # on the connector's machine
  sallyport audit anchors --local --state /var/lib/sallyport > anchors.jsonl
  sallyport audit verify audit.jsonl --trust-key "$AUDIT_KEY" --anchors anchors.jsonl

exit codes: 0 verified (or done), 1 verification failed or the server refused, 2 bad usage or unreadable
file, 3 coordinator unreachable, 4 token rejected (log in again)
`;

/** Largest export 'verify' reads. */
const MAX_EXPORT_BYTES = 256 << 20;
/** Records per page when exporting (the API's maximum). */
const PAGE = 10_000;

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
}
const processIo: CliIo = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
};

type Sub = (args: string[], o: Opts, io: CliIo) => number | Promise<number>;

const SUBCOMMANDS: Record<string, Sub> = {
  verify: (args, o, io) => (o.local ? verifyLocal(args, o, io) : verify(args, o, io)),
  anchors: localAnchors,
  list: (_args, o, io) => list(client(o), o, io),
  export: (_args, o, io) => exportLog(client(o), o, io),
};

/** AuditError: the audit module's own refusal (exit 1, with its code); else the API's. */
const auditFailure = (e: unknown, server: string | undefined): Failure | undefined =>
  apiFailure(e, server) ??
  (e instanceof AuditError ? { code: EXIT.FAILED, message: `${e.code}: ${e.message}` } : undefined);

export function run(argv: string[], io: CliIo = processIo): Promise<number> {
  const command = { name: 'audit', flags: FLAGS, help, positionals: { max: Infinity } };
  const cio = { env: process.env, stdout: io.out, stderr: io.err };
  return runCommand(
    command,
    argv,
    cio,
    async ({ values: o, positionals: [cmd, ...args] }) => {
      if (!cmd) {
        io.out(help);
        return EXIT.USAGE;
      }
      const sub = Object.hasOwn(SUBCOMMANDS, cmd) ? SUBCOMMANDS[cmd] : undefined;
      if (!sub) throw new UsageError(`unknown command 'audit ${cmd}'`);
      return await sub(args, o, io);
    },
    ({ values: o }) => ({ classify: (e) => auditFailure(e, o.server) }),
  );
}

function verify(args: string[], o: Opts, io: CliIo): number {
  const file = args[0];
  if (!file || args.length > 1) throw new UsageError('verify takes one FILE (or - for stdin)');
  const keyTexts = [
    ...(o['trust-key'] ?? []),
    ...(process.env.SALLYPORT_AUDIT_TRUST_KEY ?? '').split(',').filter((s) => s.trim() !== ''),
  ];
  const trustedKeys = keyTexts.map((k) => {
    try {
      return VerifyKey.fromBase64(k.trim());
    } catch (e) {
      if (e instanceof CryptoError) throw new UsageError(`--trust-key '${k}': ${e.message}`);
      throw e;
    }
  });
  const expect = o['expect-seq'];
  const anchorsFile = o.anchors;
  let anchors: AnchorLine[] | undefined;
  if (anchorsFile !== undefined) {
    let atext: string;
    try {
      if (statSync(anchorsFile).size > MAX_EXPORT_BYTES)
        throw new UsageError(`${anchorsFile} is larger than ${MAX_EXPORT_BYTES >> 20} MiB`);
      atext = readFileSync(anchorsFile, 'utf8');
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`cannot read ${anchorsFile}: ${(e as Error).message}`, { cause: e });
    }
    const a = anchorLines(atext);
    if (a.problems.length) {
      const p = a.problems[0];
      throw new UsageError(`${anchorsFile} line ${p.line}: ${p.problem}`);
    }
    if (!a.anchors.length)
      throw new UsageError(`${anchorsFile} holds no anchors (checkpoint lines or audit.anchor records)`);
    anchors = a.anchors;
  }
  let text: string;
  try {
    if (file !== '-' && statSync(file).size > MAX_EXPORT_BYTES)
      throw new UsageError(`${file} is larger than ${MAX_EXPORT_BYTES >> 20} MiB`);
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  const rep = verifyExport(text, {
    ...(trustedKeys.length ? { trustedKeys } : {}),
    ...(expect !== undefined ? { expectSeq: expect } : {}),
    ...(o['require-signed'] ? { requireSigned: true } : {}),
    ...(anchors ? { anchors } : {}),
  });
  io.out(o.json ? JSON.stringify(rep, null, 2) + '\n' : describe(rep));
  return rep.ok ? 0 : 1;
}

/** The connector's local log as text (a UsageError says why it cannot be read). */
function readLocal(o: Opts): { file: string; text: string } {
  const dir = stateDir(o.state);
  const file = join(dir, 'audit', 'local.jsonl');
  try {
    return { file, text: readFileSync(file, 'utf8') };
  } catch (e) {
    throw new UsageError(
      `no local audit log at ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): ` +
        "pass the connector's --state DIR (it is written once the connector serves a stream or is sent a checkpoint)",
      { cause: e },
    );
  }
}

/** `audit anchors --local`: the checkpoints kept in the connector's log, as checkpoint lines. */
function localAnchors(args: string[], o: Opts, io: CliIo): number {
  if (!o.local)
    throw new UsageError("anchors takes --local (it reads the connector's STATE/audit/local.jsonl)");
  if (args.length > 0) throw new UsageError('anchors --local takes no FILE');
  const got = readLocal(o);
  // The log's own chain first: anchors from a log that was edited prove nothing.
  const records = LocalAudit.read(got.file);
  const chain = verifyChain(records);
  if (!chain.ok) {
    io.err(
      `sallyport audit: ${got.file} does not verify: ${chain.failure!.message} (run 'audit verify --local')\n`,
    );
    return 1;
  }
  const { anchors } = anchorLines(got.text);
  for (const a of anchors) io.out(checkpointLine(a.checkpoint) + '\n');
  io.err(`sallyport audit: ${anchors.length} anchors from ${got.file}\n`);
  return 0;
}

/** The connector's customer-side log: hash-chained records, one per line, no checkpoints. */
function verifyLocal(args: string[], o: Opts, io: CliIo): number {
  if (args.length > 0) throw new UsageError('verify --local takes no FILE: it reads STATE/audit/local.jsonl');
  const { file, text } = readLocal(o);
  const records: AuditRecord[] = [];
  const lines = text.split('\n');
  let rep: VerifyReport | undefined;
  for (let i = 0; i < lines.length && !rep; i++) {
    if (lines[i] === '') continue;
    const p = parseLine(lines[i]);
    if (p.kind === 'record') records.push(p.record);
    else {
      const base = verifyChain(records);
      rep = {
        ...base,
        ok: false,
        failure: {
          code: 'MALFORMED',
          line: i + 1,
          message: p.kind === 'malformed' ? p.problem : `a ${p.kind} line has no place in the local log`,
        },
      };
    }
  }
  rep ??= verifyChain(records);
  if (o.json) io.out(JSON.stringify({ file, ...rep }, null, 2) + '\n');
  else if (rep.ok)
    io.out(
      `OK: ${rep.records} records (seq 1..${rep.lastSeq}), head ${rep.headHash.slice(0, 16)}… in ${file}\n` +
        "note: the connector's own log is hash-chained, not signed: keep a copy of its head elsewhere\n",
    );
  else io.out(describe(rep));
  return rep.ok ? 0 : 1;
}

function describe(rep: VerifyReport): string {
  const lines: string[] = [];
  const f = rep.failure;
  if (f) {
    const at =
      f.seq === undefined
        ? ''
        : `, seq ${f.seq}${f.fromSeq !== undefined ? ` (altered from seq ${f.fromSeq})` : ''}`;
    lines.push(`FAILED ${f.code} at line ${f.line}${at}: ${f.message}`);
    lines.push(`records 1..${rep.lastSeq} verified before the failure`);
  } else {
    lines.push(
      `OK: ${rep.records} records (seq 1..${rep.lastSeq}${rep.elided ? `, ${rep.records - rep.elided} shown, ${rep.elided} elided` : ''}), head ${rep.headHash.slice(0, 16)}…; ` +
        `${rep.checkpoints} checkpoints, signed through seq ${rep.signedThrough}` +
        (rep.keyIds.length
          ? ` by ${rep.keyIds.join(', ')} (${rep.trusted ? 'trusted' : 'NOT trusted'})`
          : '') +
        (rep.anchors ? `; ${rep.anchors} customer anchors agree, through seq ${rep.anchoredThrough}` : ''),
    );
    for (const n of rep.notes) lines.push(`note: ${n}`);
  }
  return lines.join('\n') + '\n';
}

function client(o: Opts): ApiClient {
  return requireApiClient(o, process.env, { maxBody: 256 << 20 });
}

async function list(api: ApiClient, o: Opts, io: CliIo): Promise<number> {
  const rows = await api.route(routes.auditList, { query: { after: o.after, limit: o.limit } });
  if (o.json) {
    io.out(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  io.out(
    table(rows, [
      ['SEQ', (r) => String(r.seq)],
      ['TIME', (r) => new Date(r.time).toISOString()],
      ['ACTOR', (r) => r.actor],
      ['ACTION', (r) => r.action],
      ['SUBJECT', (r) => r.subject],
    ]),
  );
  return 0;
}

async function exportLog(api: ApiClient, o: Opts, io: CliIo): Promise<number> {
  // Checkpoints first (GET /api/v1/audit/checkpoints → { keys, checkpoints }; the coordinator signs its
  // head for the export), then the records: records only grow, so every checkpoint is covered and a
  // record appended meanwhile cannot make a complete export look TRUNCATED.
  const cps = await api.routeRaw(routes.auditCheckpoints, {});
  let checkpoints: Checkpoint[] = [];
  let keys: VerifyKey[] = [];
  if (cps.status === 200) {
    const b = cps.body as { keys?: unknown; checkpoints?: unknown };
    if (
      !Array.isArray(b?.keys) ||
      !Array.isArray(b.checkpoints) ||
      !b.keys.every((k) => typeof k === 'string')
    )
      throw new ControlError('BAD_RESPONSE', 'audit checkpoints are not { keys: string[], checkpoints: [] }');
    try {
      keys = (b.keys as string[]).map((k) => VerifyKey.fromBase64(k));
    } catch (e) {
      throw new ControlError('BAD_RESPONSE', `audit checkpoint key: ${(e as Error).message}`);
    }
    checkpoints = b.checkpoints as Checkpoint[];
  } else if (cps.status === 404) {
    io.err(
      'sallyport audit: warning: the coordinator signs no checkpoints yet; this export is hash-chained only\n',
    );
  } else throw new ApiError(cps.status, `HTTP_${cps.status}`, cps.text.slice(0, 200));
  const records: AuditRecord[] = [];
  for (;;) {
    const page = await api.route(routes.auditList, {
      query: { after: records.at(-1)?.seq ?? 0, limit: PAGE },
    });
    if (!Array.isArray(page)) throw new ControlError('BAD_RESPONSE', 'the audit list is not a list');
    records.push(...page);
    if (page.length < PAGE) break;
    io.err(`sallyport audit: ${records.length} records so far…\n`);
  }
  const exportedAt = Math.floor(realClock.wallMs());
  const text = writeExport({ records, checkpoints, keys, exportedAt, lenient: true });
  const out = o.out;
  if (out) writeFileSync(out, text, { mode: 0o600 });
  else io.out(text);
  const rep = verifyExport(text);
  io.err(`sallyport audit: exported ${records.length} records and ${checkpoints.length} checkpoints\n`);
  if (!rep.ok) io.err(`sallyport audit: the exported log does NOT verify: ${rep.failure!.message}\n`);
  return rep.ok ? 0 : 1;
}
