// `sallyport requests`: see src/cli/access.ts.
import { HELP, runAccess, type AccessIo } from './access.ts';

export const help = HELP['requests'];

export function run(argv: string[], io?: AccessIo): Promise<number> {
  return runAccess('requests', argv, io);
}
