// `--config FILE` for the long-running commands (coordinator, relay, agent): a JSON-with-comments
// file whose keys are the command's long flag names, e.g.
//   { "listen": "0.0.0.0:8443", "relay": ["eu=https://relay-eu.example.com:443"], // comment
//     "no-console": true, }
// The file only fills gaps: a value given as a flag wins, then the flag's environment variable
// (SALLYPORT_*), then the file. Unknown keys and values of the wrong type are refused, naming the
// key, so a typo never silently leaves a default in place.
import { readFileSync } from 'node:fs';
import { parseJsonc } from '../../util/index.ts';
import { CliError } from './errors.ts';
import { EXIT } from './exit-codes.ts';

/**
 * Codes: CONFIG_READ (the file cannot be read), CONFIG_SYNTAX (not JSON with comments),
 * CONFIG_KEY (a key that is not a flag of this command), CONFIG_TYPE (a value of the wrong type).
 * Each is bad usage (exit 2): the command does not start.
 */
export class ConfigFileError extends CliError {
  constructor(code: string, message: string, opts: { cause?: unknown } = {}) {
    super(code, message, EXIT.USAGE, opts);
  }
}

/** The part of node:util parseArgs' option table this module needs (kit/flags.ts `parseArgsOptions`). */
type OptionTable = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

export interface ConfigFileOptions {
  /** The command's parseArgs option table: its keys are the file's keys. */
  options: OptionTable;
  /** Flag → the environment variable that overrides the file for it (flags still win over both). */
  env?: Record<string, string>;
  /** Keys the file may hold beyond the flags (e.g. the agent's "services"); returned as `extra`. */
  extraKeys?: string[];
  /** Flags that make no sense in a file (default: config, help). */
  notInFile?: string[];
  /** process.env by default. */
  environment?: Record<string, string | undefined>;
}

/** Reads and parses the file: a JSON object (comments and trailing commas allowed). */
export function readConfigObject(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigFileError('CONFIG_READ', `${file}: ${(e as Error).message}`, { cause: e });
  }
  let doc: unknown;
  try {
    doc = parseJsonc(text);
  } catch (e) {
    throw new ConfigFileError('CONFIG_SYNTAX', `${file}: ${(e as Error).message}`, { cause: e });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigFileError('CONFIG_SYNTAX', `${file}: want a JSON object { "flag-name": value, ... }`);
  return doc as Record<string, unknown>;
}

/**
 * Fills `values` (parseArgs' result, changed in place and returned) from the config file: each key
 * not given as a flag and whose environment variable is unset. Returns the extra keys' values.
 */
export function applyConfigFile<T extends Record<string, unknown>>(
  values: T,
  file: string,
  o: ConfigFileOptions,
): { values: T; extra: Record<string, unknown> } {
  const doc = readConfigObject(file);
  const env = o.environment ?? process.env;
  const notInFile = new Set(o.notInFile ?? ['config', 'help']);
  const extraKeys = new Set(o.extraKeys ?? []);
  const extra: Record<string, unknown> = {};
  const out = values as Record<string, unknown>;
  for (const [key, v] of Object.entries(doc)) {
    if (extraKeys.has(key)) {
      extra[key] = v;
      continue;
    }
    const opt = Object.hasOwn(o.options, key) && !notInFile.has(key) ? o.options[key] : undefined;
    if (!opt) {
      const known = Object.keys(o.options).filter((k) => !notInFile.has(k));
      throw new ConfigFileError(
        'CONFIG_KEY',
        `${file}: unknown key '${key}'; the keys are the long flag names: ${[...known, ...extraKeys].join(', ')}`,
      );
    }
    const value = typed(file, key, v, opt);
    const envName = o.env?.[key];
    if (out[key] !== undefined || (envName !== undefined && env[envName] !== undefined)) continue;
    out[key] = value;
  }
  return { values, extra };
}

function typed(file: string, key: string, v: unknown, opt: OptionTable[string]): string | boolean | string[] {
  const bad = (want: string) =>
    new ConfigFileError('CONFIG_TYPE', `${file}: '${key}' must be ${want}, got ${JSON.stringify(v)}`);
  const scalar = (x: unknown): string => {
    if (typeof x === 'string') return x;
    if (typeof x === 'number' && Number.isFinite(x)) return String(x);
    throw bad(opt.multiple ? 'a string or a list of strings' : 'a string');
  };
  if (opt.type === 'boolean') {
    if (typeof v !== 'boolean') throw bad('true or false');
    return v;
  }
  if (opt.multiple) return Array.isArray(v) ? v.map(scalar) : [scalar(v)];
  return scalar(v);
}
