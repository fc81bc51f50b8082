// `sallyport approve`: see src/cli/access.ts.
import { HELP, runAccess, type AccessIo } from './access.ts';

export const help = HELP['approve'];

export function run(argv: string[], io?: AccessIo): Promise<number> {
  return runAccess('approve', argv, io);
}
