/**
 * Shell completion scripts, generated from the program itself so they list
 * exactly the commands and options `--help` does. The bash function walks the
 * words typed so far to the command they name, then offers its subcommands,
 * its options (and the global ones) after a `-`, or its operands: target names
 * for commands that take targets, VM names for `ssh` and `vm …`, asked of the
 * hidden `pharos __complete targets|vms` (which loads only `pharos.build.ts`,
 * or reads the cluster state). zsh runs the same function through
 * `bashcompinit`.
 */
import type { Command, Option } from 'commander';

/** What a command's operands are, for completion: names asked of `__complete`, or `=` and a fixed list. */
type OperandKind = 'targets' | 'vms' | `=${string}` | '';

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

function operandKind(path: string[], cmd: Command): OperandKind {
  const arg = cmd.registeredArguments[0];
  if (arg?.argChoices) return `=${arg.argChoices.join(' ')}`;
  const first = arg?.name();
  if (first === 'target' || first === 'targets') return 'targets';
  if (first === 'node' || (path[0] === 'vm' && first === 'name')) return 'vms';
  return '';
}

const visible = (c: Command): boolean => !(c as Command & { _hidden?: boolean })._hidden;

function flags(options: readonly Option[]): string[] {
  return options.flatMap((o) => [o.short, o.long].filter((f): f is string => !!f));
}

interface Entry {
  path: string;
  subs: string[];
  opts: string[];
  kind: OperandKind;
}

function walk(cmd: Command, path: string[], out: Entry[]): void {
  const subs = cmd.commands.filter(visible);
  out.push({ path: path.join(' '), subs: subs.map((c) => c.name()), opts: [...flags(cmd.options), '-h', '--help'], kind: operandKind(path, cmd) });
  for (const c of subs) walk(c, [...path, c.name()], out);
}

/** Options that take a value anywhere in the program: the word after one is its value, not an operand. */
function valued(cmd: Command, acc = new Set<string>()): Set<string> {
  for (const o of cmd.options) if (o.required || o.optional) for (const f of [o.short, o.long]) if (f) acc.add(f);
  for (const c of cmd.commands) valued(c, acc);
  return acc;
}

const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function bashScript(program: Command): string {
  const entries: Entry[] = [];
  walk(program, [], entries);
  const root = entries[0]!;
  const cases = entries.map((e) => `    ${sq(e.path)}) echo ${sq(`${e.subs.join(' ')}|${e.path ? e.opts.join(' ') : ''}|${e.kind}`)} ;;`);
  return `# pharos completion for bash (pharos completion bash). Load it with
#   source <(pharos completion bash)
# or save it as ~/.local/share/bash-completion/completions/pharos.

# "subcommands|options|operands" of a command path ("" is pharos itself).
__pharos_spec() {
  case "$1" in
${cases.join('\n')}
  esac
}

__pharos_global=${sq(root.opts.join(' '))}
__pharos_valued=${sq(` ${[...valued(program)].join(' ')} `)}

_pharos() {
  local line="\${COMP_LINE:0:$COMP_POINT}"
  # The whole word being completed (bash splits it at ':' in COMP_WORDS).
  local cur="\${line##*[[:space:]]}"
  # (Not "path": zsh ties that name to PATH.)
  local cmdpath="" spec subs w i skip=0 operands=0
  local -a pass=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if ((skip)); then skip=0; continue; fi
    case "$w" in
      -C | --root | -c | --config) pass+=("$w" "\${COMP_WORDS[i+1]/#\\~/$HOME}"); skip=1 ;;
      -*) [[ "$__pharos_valued" == *" $w "* ]] && skip=1 ;;
      :) ;;
      *)
        spec=$(__pharos_spec "$cmdpath")
        subs=" \${spec%%|*} "
        if [[ $operands -eq 0 && "$subs" == *" $w "* ]]; then cmdpath="\${cmdpath:+$cmdpath }$w"; else operands=$((operands + 1)); fi
        ;;
    esac
  done
  # The word is an option's value (a directory, a file, a number): bash's own completion.
  if ((skip)); then COMPREPLY=(); return; fi
  spec=$(__pharos_spec "$cmdpath")
  subs="\${spec%%|*}"
  local rest="\${spec#*|}"
  local opts="\${rest%%|*}" kind="\${rest#*|}" words=""
  if [[ "$cur" == -* ]]; then
    words="$opts $__pharos_global"
  elif [[ -n "$subs" && $operands -eq 0 ]]; then
    words="$subs"
  elif [[ "$kind" == =* && $operands -eq 0 ]]; then
    words="\${kind#=}"
  elif [[ "$kind" == targets ]]; then
    words=$("\${COMP_WORDS[0]}" "\${pass[@]}" __complete targets 2>/dev/null)
  elif [[ "$kind" == vms && $operands -eq 0 ]]; then
    words=$("\${COMP_WORDS[0]}" __complete vms 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
  # Bash replaces only what follows the last ':' of the word (COMP_WORDBREAKS).
  if [[ "$cur" == *:* && "$COMP_WORDBREAKS" == *:* ]]; then
    local pre="\${cur%"\${cur##*:}"}" k
    for k in "\${!COMPREPLY[@]}"; do COMPREPLY[k]="\${COMPREPLY[k]#"$pre"}"; done
  fi
}

complete -o default -F _pharos pharos
`;
}

export function zshScript(program: Command): string {
  return `#compdef pharos
# pharos completion for zsh (pharos completion zsh): the bash function through
# bashcompinit. Load it with  source <(pharos completion zsh)  after compinit.
autoload -U +X bashcompinit && bashcompinit
${bashScript(program).replace(/^# pharos completion for bash[^\n]*\n(#[^\n]*\n)*/, '')}`;
}
