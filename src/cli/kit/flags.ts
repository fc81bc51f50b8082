// How a command declares its flags: once, in a table the parser (parse.ts), the --help listing
// (help.ts) and --config (config-file.ts, through `parseArgsOptions`) all read.
//
//   const FLAGS = {
//     state: { type: 'string', value: 'DIR', env: 'SALLYPORT_STATE', help: 'state directory' },
//     count: { type: 'number', value: 'N', default: 5, min: 1, max: 1000, help: 'PINGs to send' },
//     json: { type: 'boolean', help: 'print JSON' },
//   } as const satisfies FlagTable;
//
// A flag that is not given (nor its environment variable, nor --config) is undefined in the
// parsed values unless it has a default: --config fills only what is undefined.

/** 'repeatable': a string flag given any number of times (a list). 'duration': e.g. 90s, 15m. */
export type FlagType = 'string' | 'number' | 'boolean' | 'repeatable' | 'duration';

/** A duration's units, in milliseconds. */
export const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export type DurationUnit = keyof typeof DURATION_UNITS;

interface FlagCommon {
  /** The value's name in --help and in messages, e.g. DIR in `--state DIR` (none for a boolean). */
  readonly value?: string;
  /** What --help says: the description's lines as printed (each further line is indented). */
  readonly help?: string;
  /** A one-letter alias, e.g. 'h' for -h. */
  readonly short?: string;
  /** The SALLYPORT_* variable read when the flag is not given (flags win, then it, then --config). */
  readonly env?: string;
  /** Missing (not given, no variable, no default, or empty): a usage error; a string is its message. */
  readonly required?: boolean | string;
  /** Left out of the listing `optionLines` makes by default (the help documents it elsewhere). */
  readonly hidden?: boolean;
  /** Not accepted as a --config key (default: every flag but config and help is). */
  readonly notInFile?: boolean;
}

export interface StringFlag extends FlagCommon {
  readonly type: 'string';
  readonly default?: string;
  /** The values allowed; another is a usage error naming them. */
  readonly choices?: readonly string[];
  /** The message for a value not among the choices (default names them). */
  readonly invalid?: (raw: string) => string;
}

export interface NumberFlag extends FlagCommon {
  readonly type: 'number';
  readonly default?: number;
  /** Inclusive bounds. */
  readonly min?: number;
  readonly max?: number;
  /** Whole numbers only (default true): digits, nothing else. */
  readonly integer?: boolean;
  /** The message for a value that is not a number in range (default "--NAME takes MIN..MAX, got 'V'"). */
  readonly invalid?: (raw: string) => string;
}

export interface BooleanFlag extends FlagCommon {
  readonly type: 'boolean';
}

export interface RepeatableFlag extends FlagCommon {
  readonly type: 'repeatable';
  /** How the environment variable splits into values (default ','); empty parts are dropped. */
  readonly envSplit?: string | RegExp;
}

export interface DurationFlag extends FlagCommon {
  readonly type: 'duration';
  /** Written as it would be typed, e.g. '10s'. */
  readonly default?: string;
  /** The units accepted: a number of up to `digits` digits and one unit, e.g. 90s. */
  readonly units: readonly DurationUnit[];
  /** Most digits before the unit (default 7). */
  readonly digits?: number;
  /** The message for a value that is not a duration (default names the units). */
  readonly invalid?: (raw: string) => string;
}

export type FlagSpec = StringFlag | NumberFlag | BooleanFlag | RepeatableFlag | DurationFlag;

export type FlagTable = Readonly<Record<string, FlagSpec>>;

/** The parsed value of one flag: a duration in milliseconds, a repeatable flag as a list. */
export type FlagValue<F extends FlagSpec> = F extends { type: 'boolean' }
  ? boolean
  : F extends { type: 'number' | 'duration' }
    ? number
    : F extends { type: 'repeatable' }
      ? string[]
      : string;

type Present<F> = F extends { default: unknown }
  ? true
  : F extends { required: true | string }
    ? true
    : false;

/** The parsed values of a flag table: undefined when not given, unless it has a default or is required. */
export type FlagValues<T extends FlagTable> = {
  -readonly [K in keyof T]: Present<T[K]> extends true ? FlagValue<T[K]> : FlagValue<T[K]> | undefined;
};

/** The node:util parseArgs option table of a flag table (what --config and older callers read). */
export type ParseArgsOptions<T extends FlagTable> = {
  -readonly [K in keyof T]: (T[K] extends { type: 'boolean' }
    ? { type: 'boolean' }
    : T[K] extends { type: 'repeatable' }
      ? { type: 'string'; multiple: true }
      : { type: 'string' }) &
    (T[K] extends { short: infer S extends string } ? { short: S } : unknown);
};

export function parseArgsOptions<T extends FlagTable>(flags: T): ParseArgsOptions<T> {
  const out: Record<string, { type: 'string' | 'boolean'; multiple?: true; short?: string }> = {};
  for (const [name, f] of Object.entries(flags))
    out[name] = {
      type: f.type === 'boolean' ? 'boolean' : 'string',
      ...(f.type === 'repeatable' ? { multiple: true as const } : {}),
      ...(f.short ? { short: f.short } : {}),
    };
  return out as ParseArgsOptions<T>;
}

/** How --help and messages write a flag: `--state DIR`. */
export function flagLabel(name: string, f: FlagSpec): string {
  return f.value ? `--${name} ${f.value}` : `--${name}`;
}

/** The flags every command has. */
export const HELP_FLAG = {
  help: { type: 'boolean', short: 'h', help: 'this text', notInFile: true },
} as const satisfies FlagTable;
