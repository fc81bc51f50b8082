// `sallyport request`: see src/cli/access.ts.
import { HELP, runAccess, type AccessIo } from './access.ts';

export const help = HELP['request'];

export function run(argv: string[], io?: AccessIo): Promise<number> {
  return runAccess('request', argv, io);
}
