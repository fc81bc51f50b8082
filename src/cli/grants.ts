// `sallyport grants`: see src/cli/access.ts.
import { HELP, runAccess, type AccessIo } from './access.ts';

export const help = HELP['grants'];

export function run(argv: string[], io?: AccessIo): Promise<number> {
  return runAccess('grants', argv, io);
}
