// The option listings of --help, made from the flag declarations (flags.ts): each flag's label
// (`--state DIR`) and its description from a column of the command's choosing; a label too long
// for the column puts the description on the next line:
//
//   --state DIR            state directory: node key (created 0600 at first start), control socket
//                          (env SALLYPORT_STATE; default ~/.sallyport)
//   --direct-datagram-max BYTES
//                          largest datagram a direct path may prove and then use (PINGs padded to
//
// The prose around the listings (usage, what the command does, examples, exit codes) is the
// command's own text.
import { flagLabel, type FlagTable } from './flags.ts';

/** One line of a listing: a flag, a flag with this listing's own description, or a group of flags. */
export type ListingEntry =
  | string
  | { readonly flag: string; readonly help: string }
  | {
      /** Flags written on one label, comma-separated: `--server URL, --token TOKEN`. */
      readonly group: readonly string[];
      readonly help: string;
      /** The description after the label at this many spaces, however long the label. */
      readonly gap?: number;
    };

function item(label: string, help: string, column: number, gap?: number): string {
  const [first = '', ...more] = help.split('\n');
  const indent = ' '.repeat(column);
  const head = `  ${label}`;
  const lines =
    gap !== undefined
      ? [`${head}${' '.repeat(gap)}${first}`]
      : head.length < column
        ? [head.padEnd(column) + first]
        : [head, indent + first];
  return [...lines, ...more.map((l) => indent + l)].map((l) => l.trimEnd()).join('\n');
}

/**
 * The listing of `entries` (default: every flag declared, not hidden, in declaration order), the
 * descriptions from `column`; one flag or group per entry, each line ending in a newline.
 */
export function optionLines(flags: FlagTable, column: number, entries?: readonly ListingEntry[]): string {
  const list = entries ?? Object.keys(flags).filter((k) => !flags[k].hidden);
  const spec = (name: string) => {
    if (!Object.hasOwn(flags, name)) throw new RangeError(`the help lists --${name}, which is not declared`);
    return flags[name];
  };
  const text = list.map((e) => {
    if (typeof e === 'string') return item(flagLabel(e, spec(e)), spec(e).help ?? '', column);
    if ('flag' in e) return item(flagLabel(e.flag, spec(e.flag)), e.help, column);
    return item(e.group.map((n) => flagLabel(n, spec(n))).join(', '), e.help, column, e.gap);
  });
  return text.join('\n') + '\n';
}
