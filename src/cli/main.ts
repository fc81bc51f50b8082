import { readFileSync } from 'node:fs';

const USAGE = `sallyport — outbound-only overlay and just-in-time access for BYOC deployments

usage: sallyport <command> [options]

commands:
  version          print the version
  lab              run the local lab (what exists so far; see README)
  help, --help     this text

Examples:
  sallyport version
  sallyport lab
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Runs one CLI invocation; returns the process exit code (0 ok, 2 usage error). */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
    case 'version':
    case '--version':
      process.stdout.write(`sallyport ${version()}\n`);
      return 0;
    case 'lab': {
      const { runLab } = await import('../lab/index.ts');
      return runLab(rest);
    }
    default:
      process.stderr.write(`sallyport: unknown command '${cmd}'. Run 'sallyport --help' for the list.\n`);
      return 2;
  }
}
