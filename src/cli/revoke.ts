// `sallyport revoke`: see src/cli/access.ts.
import { HELP, runAccess, type AccessIo } from './access.ts';

export const help = HELP['revoke'];

export function run(argv: string[], io?: AccessIo): Promise<number> {
  return runAccess('revoke', argv, io);
}
