// `sallyport completion bash|zsh`: a completion script for the shell, made from the command table
// and each command's --help (its --flags), so it never drifts from the commands themselves.
import { commandHelp, commandNames } from './main.ts';
import { UsageError, processIo, runCommand, type CommandIo } from './kit/index.ts';

export const help = `usage: sallyport completion bash|zsh

Prints a completion script: commands, each command's --flags, and files for flags that take one.

examples:
  source <(sallyport completion bash)                    # this shell
  sallyport completion bash > /etc/bash_completion.d/sallyport
  sallyport completion zsh > "\${fpath[1]}/_sallyport"      # then: autoload -U compinit && compinit

exit codes: 0 printed, 2 bad usage
`;

/** Each command's flags, from its --help text. */
export async function flagTable(): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const name of commandNames()) {
    const text = name === 'completion' ? help : await commandHelp(name);
    const flags = [...new Set([...text.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((m) => `--${m[1]}`))];
    out.set(name, flags.sort());
  }
  return out;
}

const quote = (words: string[]): string => words.join(' ');

export function bashScript(table: Map<string, string[]>): string {
  const cases = [...table].map(([cmd, flags]) => `    ${cmd}) flags='${quote(flags)}' ;;`).join('\n');
  return `# sallyport bash completion (sallyport completion bash)
_sallyport() {
  local cur prev cmd flags
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [ "\${COMP_CWORD}" -eq 1 ]; then
    COMPREPLY=( $(compgen -W '${quote([...table.keys(), 'help', 'version'])}' -- "$cur") )
    return 0
  fi
  cmd="\${COMP_WORDS[1]}"
  case "$prev" in
    --config|--ca|--tls-cert|--tls-key|--out|--state|--data|--oidc-ca|--oidc-client-secret-file|--metrics-token-file|--relay-ca|--acme-ca)
      COMPREPLY=( $(compgen -f -- "$cur") ); return 0 ;;
  esac
  case "$cmd" in
${cases}
    *) flags='--help' ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$flags" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -F _sallyport sallyport
`;
}

export function zshScript(table: Map<string, string[]>): string {
  const cases = [...table].map(([cmd, flags]) => `    ${cmd}) flags=(${quote(flags)}) ;;`).join('\n');
  return `#compdef sallyport
# sallyport zsh completion (sallyport completion zsh)
_sallyport() {
  local -a commands flags
  commands=(${quote([...table.keys(), 'help', 'version'])})
  if (( CURRENT == 2 )); then
    compadd -a commands
    return
  fi
  case $words[2] in
${cases}
    *) flags=(--help) ;;
  esac
  if [[ $PREFIX == -* ]]; then
    compadd -a flags
  else
    _files
  fi
}
compdef _sallyport sallyport
`;
}

const COMMAND = {
  name: 'completion',
  flags: {},
  help,
  positionals: { min: 1, max: 1, usage: 'want bash or zsh' },
};

export function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  return runCommand(COMMAND, argv, io, async ({ positionals: [shell] }) => {
    if (shell !== 'bash' && shell !== 'zsh') throw new UsageError('want bash or zsh');
    const table = await flagTable();
    io.stdout(shell === 'bash' ? bashScript(table) : zshScript(table));
    return 0;
  });
}
