// The command line of one command, read against its declaration (flags.ts):
//
//   argv ──tokens──▶ given flags, positionals (how many: checked), words after --
//        ──--config─▶ keys the command line and the environment left unset (config-file.ts)
//        ──env──────▶ SALLYPORT_* of flags still unset
//        ──defaults─▶ converted (numbers, durations, choices), then required flags checked
//
// Every mistake is a UsageError with a code (errors.ts) and a message naming the fix.
import { applyConfigFile } from './config-file.ts';
import { UsageError } from './errors.ts';
import {
  HELP_FLAG,
  flagLabel,
  parseArgsOptions,
  type FlagSpec,
  type FlagTable,
  type FlagValues,
} from './flags.ts';
import { near } from './suggest.ts';
import { convert } from './values.ts';

export type Env = Record<string, string | undefined>;

/** What a command takes besides its flags, and how it reads --config. */
export interface CommandSpec<F extends FlagTable> {
  /** As typed after `sallyport`: messages say `sallyport NAME: …`. */
  readonly name: string;
  readonly flags: F;
  /** Positional arguments (default none): how many, and the message when there are more or fewer. */
  readonly positionals?: { readonly min?: number; readonly max?: number; readonly usage?: string };
  /** The words after the first `--` are kept as they are (`rest`): a query, kubectl's arguments. */
  readonly passThrough?: boolean;
  /** --config FILE: the flag that names the file, and the keys it may hold beyond the flags. */
  readonly config?: { readonly flag: keyof F & string; readonly extraKeys?: readonly string[] };
}

export interface Parsed<F extends FlagTable> {
  values: FlagValues<F>;
  positionals: string[];
  /** With `passThrough`: the words after `--`. */
  rest: string[];
  /** The --config file's extra keys (CommandSpec.config.extraKeys) it held. */
  extra: Record<string, unknown>;
}

/** What `parse` returns for --help / -h. */
export const HELP = Symbol('help');

type Raw = Record<string, string | string[] | boolean | undefined>;

function unknownOption(token: string, flags: FlagTable): UsageError {
  const name = token.replace(/^-+/, '').split('=')[0];
  const close = token.startsWith('--') ? near(name, Object.keys(flags)).slice(0, 3) : [];
  return new UsageError(
    `Unknown option '${token.split('=')[0]}'${close.length ? `: did you mean ${close.map((c) => `--${c}`).join(' or ')}?` : ''}`,
    { code: 'UNKNOWN_OPTION' },
  );
}

/** The flags, positionals and pass-through words as typed. */
function tokens(
  flags: FlagTable,
  argv: readonly string[],
  passThrough: boolean,
): { raw: Raw; positionals: string[]; rest: string[] } {
  const raw: Raw = {};
  const positionals: string[] = [];
  let rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      if (passThrough) rest = argv.slice(i + 1);
      else positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positionals.push(a);
      continue;
    }
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = a.startsWith('--')
      ? a.slice(2, eq < 0 ? undefined : eq)
      : Object.keys(flags).find((k) => flags[k].short !== undefined && `-${flags[k].short}` === a);
    const f = name === undefined || !Object.hasOwn(flags, name) ? undefined : flags[name];
    if (!f || name === undefined) throw unknownOption(a, flags);
    if (f.type === 'boolean') {
      if (eq >= 0)
        throw new UsageError(`--${name} takes no value (give it alone)`, { code: 'UNEXPECTED_VALUE' });
      raw[name] = true;
      continue;
    }
    let v: string;
    if (eq >= 0) v = a.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('-') && next !== '-'))
        throw new UsageError(
          `--${name} needs a value: ${flagLabel(name, f)}` +
            (next === undefined ? '' : ` (a value starting with '-': --${name}=${next})`),
          { code: 'MISSING_VALUE' },
        );
      v = next;
      i++;
    }
    if (f.type === 'repeatable') raw[name] = [...((raw[name] as string[] | undefined) ?? []), v];
    else raw[name] = v;
  }
  return { raw, positionals, rest };
}

/** Fills what is still unset from the flags' environment variables. */
function fromEnv(raw: Raw, flags: FlagTable, env: Env): void {
  for (const [name, f] of Object.entries(flags)) {
    const v = f.env === undefined ? undefined : env[f.env];
    if (raw[name] !== undefined || v === undefined) continue;
    if (f.type === 'repeatable') raw[name] = v.split(f.envSplit ?? ',').filter((s) => s.trim() !== '');
    else if (f.type !== 'boolean') raw[name] = v;
  }
}

function defaultOf(f: FlagSpec): string | number | undefined {
  return f.type === 'string' || f.type === 'number' || f.type === 'duration' ? f.default : undefined;
}

/** Converts every value (defaults too) and checks the required flags, in declaration order. */
function finish(raw: Raw, flags: FlagTable): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(flags)) {
    const given = raw[name];
    const dflt = defaultOf(f);
    if (given !== undefined) values[name] = convert(name, f, given);
    else if (typeof dflt === 'number') values[name] = dflt;
    else if (dflt !== undefined) values[name] = convert(name, f, dflt);
  }
  for (const [name, f] of Object.entries(flags)) {
    if (!f.required || (values[name] !== undefined && values[name] !== '')) continue;
    throw new UsageError(typeof f.required === 'string' ? f.required : `${flagLabel(name, f)} is required`, {
      code: 'MISSING_FLAG',
    });
  }
  return values;
}

function checkPositionals(
  cmd: string,
  want: CommandSpec<FlagTable>['positionals'],
  positionals: string[],
): void {
  const { min = 0, max = 0, usage } = want ?? {};
  if (positionals.length >= min && positionals.length <= max) return;
  throw new UsageError(
    usage ??
      (max === 0
        ? `unexpected argument '${positionals[0]}': sallyport ${cmd} takes none`
        : `want ${min === max ? min : `${min} to ${max}`} arguments, got ${positionals.length}`),
    { code: 'BAD_ARGUMENTS' },
  );
}

/**
 * Reads `argv` as `spec` declares it: the values (flags, then `env`, then --config, then defaults),
 * or HELP for --help / -h. Throws UsageError (or ConfigFileError for --config) with the fix named.
 */
export function parse<F extends FlagTable>(
  spec: CommandSpec<F>,
  argv: readonly string[],
  env: Env,
): Parsed<F> | typeof HELP {
  const flags: FlagTable = { ...HELP_FLAG, ...spec.flags };
  const { raw, positionals, rest } = tokens(flags, argv, !!spec.passThrough);
  if (raw.help) return HELP;
  checkPositionals(spec.name, spec.positionals, positionals);
  let extra: Record<string, unknown> = {};
  const file = spec.config ? raw[spec.config.flag] : undefined;
  if (typeof file === 'string') {
    const envMap = Object.fromEntries(
      Object.entries(flags).flatMap(([k, f]) => (f.env ? [[k, f.env]] : [])),
    ) as Record<string, string>;
    extra = applyConfigFile(raw, file, {
      options: parseArgsOptions(spec.flags),
      env: envMap,
      extraKeys: [...(spec.config?.extraKeys ?? [])],
      notInFile: Object.keys(flags).filter((k) => k === spec.config?.flag || flags[k].notInFile),
      environment: env,
    }).extra;
  }
  fromEnv(raw, flags, env);
  const values = finish(raw, spec.flags);
  return { values: values as FlagValues<F>, positionals, rest, extra };
}
