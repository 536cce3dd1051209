/**
 * The `pharos` program: global options, every registrar from
 * `commands/index.ts`, and the error edge: a PharosError prints as one clear
 * message (exit code from the error); anything else is a bug and says so.
 * Under `--json` every error, usage errors too, is one JSON object on stderr
 * (`errorJson` in lib/errors.ts): {error, problems, hint, exitCode}.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { errorJson, formatError, isPharosError } from '../errors.js';
import type { Registrar } from './commands/index.js';

/** The engine's own commands: for them only the engine registrar is loaded (start-up matters for no-op builds). */
const ENGINE_COMMANDS = new Set(['build', 'list', 'why', 'graph', 'clean', 'watch']);

/**
 * Commands whose words after their operand belong to another program
 * (`pharos ssh NODE ls -la`): for them the root parses no option past the
 * command word, and the command passes through what follows its operand.
 * Only for them: elsewhere global options may follow the command.
 */
const PASS_THROUGH = new Set(['ssh']);

/**
 * `--json` given to pharos itself: before `--`, and for a pass-through
 * command only before its command word (after it, the words are the remote
 * command's).
 */
function jsonRequested(argv: string[]): boolean {
  const word = commandWord(argv);
  const end = argv.indexOf('--');
  let words = end < 0 ? argv : argv.slice(0, end);
  if (word && PASS_THROUGH.has(word)) words = words.slice(0, words.indexOf(word));
  return words.includes('--json');
}

function writeJson(doc: unknown): void {
  process.stderr.write(`${JSON.stringify(doc)}\n`);
}

/** The first non-option word of argv (skipping values of global options that take one). */
function commandWord(argv: string[]): string | undefined {
  const withValue = new Set(['-C', '--root', '-c', '--config', '-j', '--jobs']);
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (withValue.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

async function loadRegistrars(argv: string[]): Promise<Registrar[]> {
  const cmd = commandWord(argv);
  // `pharos --version`: no command is needed to print it.
  if (!cmd && (argv.includes('-V') || argv.includes('--version'))) return [];
  if (cmd && ENGINE_COMMANDS.has(cmd) && !argv.includes('--help') && !argv.includes('-h')) {
    return [(await import('./commands/engine.js')).register];
  }
  // A TAB in the shell: only the names, nothing else loaded.
  if (cmd === '__complete') return [(await import('./commands/completion.js')).register];
  return (await import('./commands/index.js')).registrars;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected an integer >= 1');
  return n;
}

/** The version in package.json (the one `npm` installed). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/**
 * The root command. Settings a subcommand must share (exitOverride: usage
 * errors throw, so they exit 2; help with the global options) are set before
 * any registrar runs: commander copies them into each subcommand when it is
 * created, not later.
 */
export function buildProgram(registrars: Registrar[], o: { json?: boolean } = {}): Command {
  const program = new Command('pharos')
    .description('Build and run a Slurm/GPU cluster of VMs on one workstation, as a typed build graph')
    .version(packageVersion(), '-V, --version', 'print the version of pharos and exit')
    .option('-C, --root <dir>', 'project root (default: nearest directory with pharos.build.ts, upward from cwd)')
    .option('-c, --config <file>', 'cluster config (default: $PHAROS_CONFIG or config/local.yaml)')
    .option('-j, --jobs <n>', 'run at most N targets at once (default: number of CPUs + 2, as ninja)', positiveInt)
    .option('-k, --keep-going', 'keep building independent targets after a failure')
    .option('-n, --dry-run', 'print what would run and why; run nothing')
    .option('--json', 'machine-readable output (NDJSON events for builds)')
    .option('-v, --verbose', 'show target output and phases; stack traces for internal errors')
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true })
    .exitOverride();
  // Under --json, main() prints the usage error as JSON; commander prints nothing on stderr
  // (neither the error nor the help it shows for a missing subcommand). --help still prints to stdout.
  if (o.json) program.configureOutput({ outputError: () => {}, writeErr: () => {} });
  else program.showHelpAfterError('(run with --help for usage)');
  for (const register of registrars) register(program);
  return program;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[] = process.argv): Promise<number> {
  // A closed stdout/stderr (| head) stops a build cleanly instead of crashing it.
  (await import('../run/signals.js')).watchOutput();
  const json = jsonRequested(argv);
  const program = buildProgram(await loadRegistrars(argv), { json });
  const word = commandWord(argv);
  if (word && PASS_THROUGH.has(word)) {
    program.enablePositionalOptions();
    program.commands.find((c) => c.name() === word)?.passThroughOptions();
  }
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help/version exit 0; usage errors were already printed by commander (not under --json).
      if (e.exitCode === 0) return 0;
      if (json) {
        const what = e.code === 'commander.help' ? 'a subcommand is needed' : e.message.replace(/^error: /, '');
        writeJson(errorJson(what, { hint: 'run with --help for usage', exitCode: 2 }));
      }
      return 2;
    }
    if (isPharosError(e)) {
      if (json) writeJson(errorJson(e.message, { problems: e.problems, hint: e.hint, exitCode: e.exitCode }));
      else process.stderr.write(`${formatError(e)}\n`);
      return e.exitCode;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    if (json) {
      const hint = 'this is a bug in pharos; please report it';
      writeJson({ ...errorJson(err.message, { hint, exitCode: 70 }), ...(verbose && err.stack ? { stack: err.stack } : {}) });
      return 70;
    }
    process.stderr.write(`error: ${err.message}\nthis is a bug in pharos; please report it${verbose ? '' : ' (run with -v for the stack trace)'}\n`);
    if (verbose && err.stack) process.stderr.write(`${err.stack}\n`);
    return 70;
  }
}
