// `sallyport deny`: see src/cli/access.ts.
import { HELP, runAccess, type AccessIo } from './access.ts';

export const help = HELP['deny'];

export function run(argv: string[], io?: AccessIo): Promise<number> {
  return runAccess('deny', argv, io);
}
