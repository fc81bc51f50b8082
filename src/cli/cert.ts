// `sallyport cert`: see src/cli/access.ts.
import { HELP, runAccess, type AccessIo } from './access.ts';

export const help = HELP['cert'];

export function run(argv: string[], io?: AccessIo): Promise<number> {
  return runAccess('cert', argv, io);
}
