// `sallyport extend`: see src/cli/access.ts.
import { HELP, runAccess, type AccessIo } from './access.ts';

export const help = HELP['extend'];

export function run(argv: string[], io?: AccessIo): Promise<number> {
  return runAccess('extend', argv, io);
}
