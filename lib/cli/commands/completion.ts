/**
 * `pharos completion bash|zsh` prints a completion script (lib/cli/completion.ts);
 * the hidden `pharos __complete targets|vms` is what the script asks for names.
 * `__complete targets` loads only pharos.build.ts (no engine, no state), and
 * main.ts loads only this registrar for it, so a TAB costs one graph load.
 */
import { Argument, type Command } from 'commander';
import { loadProject, type GlobalOptions } from '../project.js';
import { SHELLS, bashScript, zshScript, type Shell } from '../completion.js';

export function register(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (commands, options, target and VM names)')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(SHELLS))
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  source <(pharos completion bash)       in ~/.bashrc\n' +
        '  source <(pharos completion zsh)        in ~/.zshrc, after compinit\n' +
        '  pharos completion bash > ~/.local/share/bash-completion/completions/pharos',
    )
    .action((shell: Shell) => {
      process.stdout.write(shell === 'zsh' ? zshScript(program) : bashScript(program));
    });

  program
    .command('__complete', { hidden: true })
    .description('names for shell completion, one a line')
    .addArgument(new Argument('<what>').choices(['targets', 'vms']))
    .action(async (what: 'targets' | 'vms', _o: unknown, cmd: Command) => {
      if (what === 'vms') {
        const { defaultStateRoot } = await import('../../cluster/paths.js');
        const { listStates } = await import('../../cluster/state.js');
        const names = new Set<string>();
        for (const s of await listStates(defaultStateRoot())) for (const v of Object.values(s.vms)) names.add(v.name).add(v.shortName);
        process.stdout.write([...names].map((n) => `${n}\n`).join(''));
        return;
      }
      const { definition } = await loadProject(cmd.optsWithGlobals<GlobalOptions>());
      const names = [...definition.targets.map((t) => t.name), ...(definition.aliases ?? []).map((a) => a.name)];
      process.stdout.write(names.map((n) => `${n}\n`).join(''));
    });
}
